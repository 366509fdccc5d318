// The inbox: what the notifier sent this user, newest first; it grows by itself.
import { get } from "../api.js";
import { watch } from "../live.js";
import { h, onChange, statusName, when } from "../ui.js";

export default async function render({ page }) {
  const list = h("ul", { class: "rows" });
  page("Inbox", list);
  const draw = onChange((items) => {
    list.replaceChildren(
      ...items.map((n) =>
        h(
          "li",
          {},
          h("span", { class: "grow" }, n.order_id ? h("a", { href: `#/orders/${n.order_id}` }, n.message || statusName(n.status || "")) : n.message),
          n.sent_at ? h("time", { datetime: n.sent_at, class: "muted" }, when(n.sent_at)) : null,
        ),
      ),
    );
    if (!items.length) list.replaceChildren(h("li", {}, "Nothing yet."));
  });
  const load = async () => draw((await get("/users/me/notifications?limit=50")).items);
  await load();
  return watch(load, (frame) => frame.type !== "courier.location"); // positions make no inbox entry
}
