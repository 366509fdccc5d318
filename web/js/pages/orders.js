// My orders, newest first, with a "Load more" page by page.
import { get } from "../api.js";
import { h, money, statusName, when } from "../ui.js";

export default async function render({ page }) {
  const list = h("ul", { class: "rows" });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  page("Your orders", list, more);
  let cursor = null;
  const load = async () => {
    const result = await get(`/orders?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    for (const o of result.items) {
      list.append(
        h("li", {}, h("a", { href: `#/orders/${o.order_id}` }, `${when(o.created_at)} · ${money(o.total_cents, o.currency)}`), h("span", { class: `badge s-${o.status}` }, statusName(o.status))),
      );
    }
    if (!list.children.length) list.replaceWith(h("p", {}, "No orders yet. ", h("a", { href: "#/restaurants" }, "Find something to eat")));
    cursor = result.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener("click", load);
  await load();
}
