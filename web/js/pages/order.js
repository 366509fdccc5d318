// One order: its status (role="status"), a timeline that moves by itself, the courier's
// position and ETA while it is on its way, cancel.
import { ApiError, get, post, session } from "../api.js";
import { watch } from "../live.js";
import { breakdown } from "../receipt.js";
import { busy, h, money, onChange, statusName, when } from "../ui.js";

const FLOW = ["PENDING", "CONFIRMED", "ACCEPTED", "PREPARING", "READY", "PICKED_UP", "DELIVERED"];
const CANCELLABLE = new Set(["PENDING", "CONFIRMED"]);
const REASONS = {
  payment_declined: "The payment was declined.",
  out_of_stock: "Something in the order sold out.",
  restaurant_closed: "The restaurant was closed.",
  promo_code_exhausted: "The promo code was used up before the order was confirmed. Nothing was charged.",
  payment_unavailable: "The payment could not be taken just now; nothing was charged. Try again later.",
  payment_action_required: "The card needed confirming with your bank in time; nothing was charged.",
};

export default async function render({ params: [orderId], page }) {
  const status = h("p", { class: "status", role: "status" });
  const timeline = h("ol", { class: "timeline", "aria-label": "Timeline" });
  const details = h("div");
  const courier = h("section", { "aria-label": "Your courier", hidden: true });
  const actions = h("div", { class: "actions" });
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  page("Your order", status, courier, timeline, actions, error, details);

  const draw = onChange((order) => {
    status.textContent = statusName(order.status);
    status.dataset.status = order.status;
    const reached = new Map(order.status_history.map((e) => [e.status, e.at]));
    const steps = FLOW.includes(order.status) ? FLOW : [...order.status_history.map((e) => e.status)];
    timeline.replaceChildren(
      ...steps.map((s) =>
        h("li", { class: reached.has(s) ? "done" : "todo", "aria-current": s === order.status ? "step" : false }, h("span", {}, statusName(s)), reached.has(s) ? h("time", { datetime: reached.get(s) }, when(reached.get(s))) : null),
      ),
    );
    drawCourier(courier, order);
    const reason = order.failure_reason ? REASONS[order.failure_reason] || order.failure_reason : order.reason;
    details.replaceChildren(
      reason ? h("p", { class: "notice" }, reason) : "",
      h("h2", {}, "Items"),
      h("ul", { class: "lines" }, order.items.map((i) => h("li", {}, h("span", { class: "grow" }, `${i.quantity} × ${i.name || i.product_id}`), h("span", {}, money(i.line_total_cents ?? i.price_cents * i.quantity, order.currency))))),
      breakdown(order),
      h("p", { class: "muted" }, `Deliver to ${[order.delivery_address.line1, order.delivery_address.city, order.delivery_address.postcode].filter(Boolean).join(", ")}`),
    );
    const mine = order.customer_id === session.get()?.user_id;
    actions.replaceChildren(
      mine && CANCELLABLE.has(order.status)
        ? h("button", { type: "button", onclick: (e) => cancel(e.currentTarget) }, "Cancel order")
        : "",
    );
  });

  const load = async () => {
    try {
      draw(await get(`/orders/${orderId}`));
      error.hidden = true;
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      if (e.status === 404) status.textContent = "Not found";
      error.textContent = e.message;
      error.hidden = false;
    }
  };

  const cancel = (button) =>
    busy(button, async () => {
      try {
        draw(await post(`/orders/${orderId}/cancel`));
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    });

  await load();
  return watch(load, (frame) => frame.order_id === orderId);
}

// Between pickup and delivery only, the API adds courier_location {lat, lng, at} and eta.
function drawCourier(section, order) {
  const here = order.courier_location;
  section.hidden = !here;
  if (!here) return section.replaceChildren();
  const away = distanceKm(here, order.delivery_address);
  section.replaceChildren(
    h("h2", {}, "On its way"),
    h(
      "p",
      { class: "courier-position" },
      away === null ? "Your courier shared their position " : `Your courier was ${away.toFixed(1)} km away `,
      h("time", { datetime: here.at }, when(here.at)),
      ` (${here.lat.toFixed(5)}, ${here.lng.toFixed(5)}).`,
    ),
    order.eta ? h("p", { class: "eta" }, "Expected at ", h("time", { datetime: order.eta }, when(order.eta)), ".") : null,
  );
}

function distanceKm(a, b) {
  if (!b || typeof b.lat !== "number" || typeof b.lng !== "number") return null;
  const rad = (d) => (d * Math.PI) / 180;
  const s = Math.sin(rad(b.lat - a.lat) / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(rad(b.lng - a.lng) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(s)));
}
