// The courier's view: deliveries ready for pickup (live), "Pick up", then the current
// delivery with its address and "Delivered".
import { ApiError, get, post, session } from "../api.js";
import { watch } from "../live.js";
import { busy, h, onChange, when } from "../ui.js";

const CURRENT_KEY = "chowline.deliveries";

function current() {
  try {
    return JSON.parse(localStorage.getItem(CURRENT_KEY))?.[session.get().user_id] || [];
  } catch {
    return [];
  }
}

function remember(ids) {
  localStorage.setItem(CURRENT_KEY, JSON.stringify({ [session.get().user_id]: ids }));
}

export default async function render({ page }) {
  const mine = h("section", { "aria-labelledby": "mine-h" });
  const ready = h("section", { "aria-labelledby": "ready-h" });
  page("Deliveries", mine, ready);
  const restaurants = new Map((await get("/restaurants?limit=100", { auth: false })).items.map((r) => [r.restaurant_id, r]));

  const load = async () => {
    const [available, ...taken] = await Promise.all([
      get("/deliveries?limit=50"),
      ...current().map((id) => get(`/orders/${id}`).catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e)))),
    ]);
    const onTheWay = taken.filter((o) => o && o.status === "PICKED_UP");
    remember(onTheWay.map((o) => o.order_id));
    draw({ onTheWay, available: available.items });
  };
  const draw = onChange(({ onTheWay, available }) => {
    mine.replaceChildren(
      h("h2", { id: "mine-h" }, "Your current delivery"),
      onTheWay.length ? h("div", { class: "board" }, onTheWay.map((o) => ticket(o, restaurants, "Delivered", "DELIVERED", load))) : h("p", { class: "muted" }, "None: pick one up below."),
    );
    ready.replaceChildren(
      h("h2", { id: "ready-h" }, "Ready for pickup"),
      available.length ? h("div", { class: "board" }, available.map((o) => ticket(o, restaurants, "Pick up", "PICKED_UP", load))) : h("p", { class: "muted" }, "No order is ready right now. New ones appear here by themselves."),
    );
  });
  await load();
  return watch(load, (frame) => frame.type !== "order.status" || current().includes(frame.order_id) || frame.status === "READY");
}

function ticket(order, restaurants, label, status, reload) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const restaurant = restaurants.get(order.restaurant_id);
  const a = order.delivery_address || {};
  const act = (button) =>
    busy(button, async () => {
      try {
        await post(`/orders/${order.order_id}/status`, { status });
        if (status === "PICKED_UP") remember([...current(), order.order_id]);
        await reload();
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        error.textContent = e.status === 409 ? "Another courier took this one." : e.message;
        error.hidden = false;
        if (e.status === 409) setTimeout(reload, 1500);
      }
    });
  const name = `Order ${order.order_id.slice(-6).toUpperCase()}`;
  return h(
    "article",
    { class: "ticket", "aria-label": name, "data-order-id": order.order_id },
    h("header", {}, h("h3", {}, name), h("span", { class: "muted" }, when(order.updated_at || order.created_at))),
    h("p", {}, h("strong", {}, "From "), restaurant ? `${restaurant.name}, ${restaurant.address || restaurant.city}` : order.restaurant_id),
    h("p", { class: "address" }, h("strong", {}, "To "), [a.line1, a.city, a.postcode].filter(Boolean).join(", ")),
    order.notes ? h("p", { class: "notice" }, `Note: ${order.notes}`) : null,
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: (e) => act(e.currentTarget) }, label)),
    error,
  );
}
