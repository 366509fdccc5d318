// The restaurant board: live orders of the owner's restaurants, each moved along with
// Accept / Reject (with a reason) / Start preparing / Ready; a new order flashes and chimes.
import { ApiError, get, post } from "../api.js";
import { watch } from "../live.js";
import { ownedRestaurants } from "../owner.js";
import { busy, field, form, h, money, onChange, showProblem, statusName, when } from "../ui.js";

const ACTIVE = ["PENDING", "CONFIRMED", "ACCEPTED", "PREPARING", "READY"];
const NEXT = {
  CONFIRMED: [["Accept", "ACCEPTED"]],
  ACCEPTED: [["Start preparing", "PREPARING"]],
  PREPARING: [["Ready", "READY"]],
};

export default async function render({ page }) {
  const board = h("div", { class: "board" });
  const note = h("p", { class: "muted" });
  const cue = h("p", { class: "visually-hidden", role: "status" });
  page("Orders board", note, cue, board);
  const restaurants = await ownedRestaurants();
  if (!restaurants.length) {
    note.textContent = "No restaurant is linked to this account yet.";
    return;
  }
  const names = new Map(restaurants.map((r) => [r.restaurant_id, r.name]));
  note.textContent = `Live orders for ${restaurants.map((r) => r.name).join(", ")}.`;
  const known = new Set();
  let first = true;

  const draw = onChange((orders) => {
    const fresh = orders.filter((o) => o.status === "CONFIRMED" && !known.has(o.order_id));
    for (const o of orders) if (o.status !== "PENDING") known.add(o.order_id);
    board.replaceChildren(...orders.map((o) => card(o, names.get(o.restaurant_id), load, !first && fresh.includes(o))));
    if (!orders.length) board.replaceChildren(h("p", {}, "No open orders. New ones appear here by themselves."));
    if (!first && fresh.length) {
      cue.textContent = fresh.length > 1 ? `${fresh.length} new orders` : `New order for ${names.get(fresh[0].restaurant_id)}`;
      chime();
    }
    first = false;
  });
  const load = async () => {
    const lists = await Promise.all(restaurants.map((r) => get(`/restaurants/${r.restaurant_id}/orders?limit=50`)));
    const orders = lists.flatMap((l) => l.items).filter((o) => ACTIVE.includes(o.status));
    draw(orders.sort((a, b) => a.created_at.localeCompare(b.created_at)));
  };
  await load();
  // A courier's position changes nothing on the board.
  return watch(load, (frame) => frame.type !== "courier.location" && names.has(frame.restaurant_id));
}

function card(order, restaurantName, reload, isNew) {
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const move = (button, status, reason) =>
    busy(button, async () => {
      try {
        await post(`/orders/${order.order_id}/status`, reason ? { status, reason } : { status });
        await reload();
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        error.textContent = e.message;
        error.hidden = false;
      }
    });
  const buttons = (NEXT[order.status] || []).map(([label, status]) => h("button", { type: "button", class: "primary", onclick: (e) => move(e.currentTarget, status) }, label));
  const actions = h("div", { class: "actions" }, buttons);
  if (order.status === "CONFIRMED") {
    const reject = form(
      (data, el) => {
        const reason = data.get("reason").trim();
        if (!reason) return showProblem(el, { title: "Give a reason", errors: [{ field: "reason", message: "Say why the order is rejected." }] });
        return move(el.querySelector("button[type=submit]"), "REJECTED", reason);
      },
      field("Reason", "reason", { maxlength: 500 }),
      h("button", { type: "submit", class: "danger" }, "Confirm"),
    );
    reject.hidden = true;
    actions.append(h("button", { type: "button", class: "danger", "aria-expanded": "false", onclick: (e) => { reject.hidden = !reject.hidden; e.currentTarget.setAttribute("aria-expanded", String(!reject.hidden)); if (!reject.hidden) reject.querySelector("input").focus(); } }, "Reject"), reject);
  }
  const label = `Order ${order.order_id.slice(-6).toUpperCase()}`;
  return h(
    "article",
    { class: isNew ? "ticket new" : "ticket", "aria-label": label, "data-order-id": order.order_id },
    h("header", {}, h("h2", {}, label), h("span", { class: `badge s-${order.status}` }, statusName(order.status))),
    h("p", { class: "muted" }, `${restaurantName} · ${when(order.created_at)}`),
    h("ul", { class: "lines" }, order.items.map((i) => h("li", {}, h("span", { class: "grow" }, `${i.quantity} × ${i.name}`), h("span", {}, money(i.line_total_cents, order.currency))))),
    order.notes ? h("p", { class: "notice" }, `Note: ${order.notes}`) : null,
    h("p", { class: "total" }, money(order.total_cents, order.currency)),
    order.status === "PENDING" ? h("p", { class: "muted" }, "Waiting for payment…") : null,
    order.status === "READY" ? h("p", { class: "muted" }, "Waiting for a courier.") : null,
    actions,
    error,
  );
}

function chime() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.6);
  } catch {
    // no sound on this device: the card's flash still shows
  }
}
