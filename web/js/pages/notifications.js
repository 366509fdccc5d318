// The inbox: what the notifier sent this user, newest first; it grows by itself.
import { get } from "../api.js";
import { watch } from "../live.js";
import { h, statusName, when } from "../ui.js";

export default async function render({ page }) {
  const list = h("ul", { class: "rows", "aria-live": "polite" });
  page("Inbox", list);
  const load = async () => {
    const result = await get("/users/me/notifications?limit=50");
    list.replaceChildren(
      ...result.items.map((n) =>
        h(
          "li",
          {},
          h("span", { class: "grow" }, n.order_id ? h("a", { href: `#/orders/${n.order_id}` }, n.message || statusName(n.status || "")) : n.message),
          n.sent_at ? h("time", { datetime: n.sent_at, class: "muted" }, when(n.sent_at)) : null,
        ),
      ),
    );
    if (!result.items.length) list.replaceChildren(h("li", {}, "Nothing yet."));
  };
  await load();
  return watch(load);
}
