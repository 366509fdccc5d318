// An order's money, line by line, as the server priced it (a quote or a placed order):
// total = subtotal + delivery + service fee + tax + tip - discount.
import { h, money } from "./ui.js";

const ROWS = [
  ["subtotal_cents", "Subtotal"],
  ["delivery_fee_cents", "Delivery"],
  ["service_fee_cents", "Service fee"],
  ["tax_cents", "Tax"],
  ["tip_cents", "Tip for the courier"],
];

export function breakdown(priced) {
  const currency = priced.currency || "USD";
  const row = (label, text, attrs = {}) => [h("dt", attrs, label), h("dd", attrs, text)];
  const rows = ROWS.filter(([key]) => key === "subtotal_cents" || priced[key]).map(([key, label]) => row(label, money(priced[key], currency)));
  if (priced.discount_cents) {
    const label = priced.promo_code ? `Discount (${priced.promo_code})` : "Discount";
    rows.push(row(label, `−${money(priced.discount_cents, currency)}`));
  }
  rows.push(row("Total", money(priced.total_cents, currency), { class: "total" }));
  return h("dl", { class: "breakdown", "aria-label": "Price breakdown" }, rows.flat());
}
