// The courier's view: the shift switch ("Available for deliveries"), offers ready for
// pickup (live) with "Claim", then the claimed deliveries with "Pick up" at the counter and
// "Delivered" at the door; the position is shared while carrying.
import { ApiError, get, post, put, session } from "../api.js";
import { watch } from "../live.js";
import { sharePosition } from "../position.js";
import { busy, h, onChange, when } from "../ui.js";

const CURRENT_KEY = "chowline.deliveries";
const SHARING_TEXT = {
  sharing: "Sharing your position with the customer while you carry the order.",
  denied: "Location access is off: the customer sees no position for this delivery.",
  unsupported: "This browser cannot share your position.",
};

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
  const shift = h("input", { type: "checkbox", id: "shift-switch" });
  const shiftState = h("p", { class: "muted", role: "status" });
  const sharing = h("p", { class: "muted", hidden: true });
  const mine = h("section", { "aria-labelledby": "mine-h" });
  const ready = h("section", { "aria-labelledby": "ready-h" });
  const shiftPanel = h("section", { class: "panel" }, h("div", { class: "field check" }, h("label", { for: "shift-switch" }, "Available for deliveries"), shift), shiftState);
  page("Deliveries", shiftPanel, mine, sharing, ready);
  const restaurants = new Map((await get("/restaurants?limit=100", { auth: false })).items.map((r) => [r.restaurant_id, r]));
  let stopSharing = null;

  const carrying = (yes) => {
    if (yes && !stopSharing) {
      stopSharing = sharePosition((state) => {
        sharing.textContent = SHARING_TEXT[state];
        sharing.hidden = false;
      });
    } else if (!yes && stopSharing) {
      stopSharing();
      stopSharing = null;
      sharing.hidden = true;
    }
  };

  const load = async () => {
    const me = await get("/couriers/me");
    const [offers, ...claimed] = await Promise.all([
      // 409: off shift since the line above (another tab switched it off)
      me.available ? get("/deliveries?limit=50").catch((e) => (e instanceof ApiError && e.status === 409 ? null : Promise.reject(e))) : Promise.resolve(null),
      ...current().map((id) => get(`/orders/${id}`).catch((e) => (e instanceof ApiError && e.status === 404 ? null : Promise.reject(e)))),
    ]);
    const myOrders = claimed.filter((o) => o && o.courier_id === me.courier_id && (o.status === "READY" || o.status === "PICKED_UP"));
    remember(myOrders.map((o) => o.order_id));
    carrying(myOrders.some((o) => o.status === "PICKED_UP"));
    draw({ available: me.available, myOrders, offers: offers ? offers.items : null });
  };

  shift.addEventListener("change", () =>
    busy(shift, async () => {
      await put("/couriers/me", { available: shift.checked });
      await load();
    }),
  );

  const draw = onChange(({ available, myOrders, offers }) => {
    shift.checked = available;
    shiftState.textContent = available ? "You are on shift: new deliveries appear below." : "You are off shift: no delivery is offered to you.";
    mine.replaceChildren(
      h("h2", { id: "mine-h" }, "Your current delivery"),
      myOrders.length
        ? h("div", { class: "board" }, myOrders.map((o) => (o.status === "READY" ? ticket(o, restaurants, "Pick up", (id) => post(`/orders/${id}/status`, { status: "PICKED_UP" }), load) : ticket(o, restaurants, "Delivered", (id) => post(`/orders/${id}/status`, { status: "DELIVERED" }), load))))
        : h("p", { class: "muted" }, "None: claim one below."),
    );
    ready.replaceChildren(
      h("h2", { id: "ready-h" }, "Ready for pickup"),
      offers === null
        ? h("p", { class: "muted" }, "Switch on “Available for deliveries” to see the orders ready for pickup.")
        : offers.length
          ? h("div", { class: "board" }, offers.map((o) => ticket(o, restaurants, "Claim", (id) => post(`/deliveries/${id}/claim`).then(() => remember([...current(), id])), load)))
          : h("p", { class: "muted" }, "No order is ready right now. New ones appear here by themselves."),
    );
  });
  await load();
  const stopWatching = watch(load, (frame) => frame.type !== "order.status" || current().includes(frame.order_id) || frame.status === "READY");
  return () => {
    stopWatching();
    carrying(false);
  };
}

function ticket(order, restaurants, label, action, reload) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const restaurant = restaurants.get(order.restaurant_id);
  const a = order.delivery_address || {};
  const act = (button) =>
    busy(button, async () => {
      try {
        await action(order.order_id);
        await reload();
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        error.textContent = e.status === 409 ? e.message || "Another courier took this one." : e.message;
        error.hidden = false;
        if (e.status === 409) setTimeout(reload, 1500);
      }
    });
  const name = `Order ${order.order_id.slice(-6).toUpperCase()}`;
  const distance = order.pickup_distance_km != null ? ` (${order.pickup_distance_km.toFixed(1)} km away)` : "";
  return h(
    "article",
    { class: "ticket", "aria-label": name, "data-order-id": order.order_id },
    h("header", {}, h("h3", {}, name), h("span", { class: "muted" }, when(order.updated_at || order.created_at))),
    h("p", {}, h("strong", {}, "From "), restaurant ? `${restaurant.name}, ${restaurant.address || restaurant.city}${distance}` : order.restaurant_id),
    h("p", { class: "address" }, h("strong", {}, "To "), [a.line1, a.city, a.postcode].filter(Boolean).join(", ")),
    order.notes ? h("p", { class: "notice" }, `Note: ${order.notes}`) : null,
    h("div", { class: "actions" }, h("button", { type: "button", class: "primary", onclick: (e) => act(e.currentTarget) }, label)),
    error,
  );
}
