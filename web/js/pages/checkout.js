// The cart and checkout: the server's price (fees, tax, the tip, a promo code), address,
// payment and one Idempotency-Key per checkout attempt, so a double click or a retry after
// a lost response places one order.
import { ApiError, clientConfig, newKey, post, session } from "../api.js";
import * as cart from "../cart.js";
import { breakdown } from "../receipt.js";
import { busy, field, form, h, money, showProblem } from "../ui.js";

const ATTEMPT_KEY = "chowline.checkout";
const TEST_TOKENS = [
  ["tok_visa", "Test card: approved (tok_visa)"],
  ["tok_declined", "Test card: declined (tok_declined)"],
  ["tok_error", "Test card: provider error (tok_error)"],
];
const TIPS = [
  ["0", "No tip"],
  ["100", "$1.00"],
  ["200", "$2.00"],
  ["300", "$3.00"],
  ["500", "$5.00"],
];

export default async function render({ go, page }) {
  const c = cart.load();
  if (!c.lines.length) {
    page("Cart", h("p", {}, "Your cart is empty. ", h("a", { href: "#/restaurants" }, "Browse restaurants")));
    return;
  }
  const lines = h("ul", { class: "lines" });
  const total = h("p", { class: "total" });
  const priced = h("div", { "aria-live": "polite" });
  let requote = () => {};
  const draw = () => {
    const now = cart.load();
    if (!now.lines.length) return render({ go, page });
    lines.replaceChildren(
      ...now.lines.map((l) =>
        h(
          "li",
          {},
          h("span", { class: "grow" }, `${l.quantity} × ${l.name}`),
          h("span", {}, money(l.quantity * l.price_cents)),
          h("button", { type: "button", class: "small", "aria-label": `Fewer ${l.name}`, onclick: () => (cart.setQuantity(l.product_id, l.quantity - 1), draw()) }, "−"),
          h("button", { type: "button", class: "small", "aria-label": `More ${l.name}`, onclick: () => (cart.setQuantity(l.product_id, Math.min(l.quantity + 1, 50)), draw()) }, "+"),
        ),
      ),
    );
    total.textContent = `Subtotal ${money(cart.subtotal(now))}`;
    requote();
  };
  draw();
  const heading = [h("p", { class: "muted" }, `From ${c.restaurant_name}`), lines, total, priced];
  if (!session.get()) {
    page("Cart", ...heading, h("p", {}, h("a", { class: "button primary", href: "#/sign-in?next=%2Fcart" }, "Sign in to order")));
    return;
  }
  const { stage } = await clientConfig();
  const saved = session.get().addresses?.[0] || {};
  const payment =
    stage === "prod"
      ? field("Payment", "payment_token", { required: true, autocomplete: "off" })
      : field("Payment", "payment_token", {}, TEST_TOKENS);
  const tip = field("Tip for the courier", "tip_cents", {}, TIPS);
  const promo = field("Promo code", "promo_code", { autocomplete: "off", maxlength: 32, spellcheck: "false" });
  const apply = h("button", { type: "button" }, "Apply");
  const el = form(
    (data) => placeOrder(el, data, go),
    tip,
    h("div", { class: "promo" }, promo, apply),
    h(
      "fieldset",
      {},
      h("legend", {}, "Delivery address"),
      field("Street address", "delivery_address.line1", { autocomplete: "street-address", value: saved.line1 || "", required: true }),
      field("City", "delivery_address.city", { autocomplete: "address-level2", value: saved.city || "", required: true }),
      field("Postcode", "delivery_address.postcode", { autocomplete: "postal-code", value: saved.postcode || "", required: true }),
      // The restaurant's delivery area is checked against these (a saved address has them).
      coordinate("Latitude", "delivery_address.lat", saved.lat, 90),
      coordinate("Longitude", "delivery_address.lng", saved.lng, 180),
      "geolocation" in navigator ? h("button", { type: "button", class: "small", onclick: (e) => locate(e.target.form) }, "Use my location") : null,
    ),
    payment,
    field("Notes for the restaurant (optional)", "notes", { rows: 2, maxlength: 500 }),
    h("button", { type: "submit", class: "primary" }, "Place order"),
  );
  // The price is the server's: asked again whenever the cart, the tip or the code changes.
  let asked = 0;
  requote = async () => {
    const now = cart.load();
    if (!now.lines.length) return;
    const mine = ++asked;
    try {
      const quote = await post("/orders/quote", draft(now, new FormData(el)));
      if (mine === asked) priced.replaceChildren(breakdown(quote));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (mine === asked) priced.replaceChildren(h("p", { class: "notice", role: "alert" }, error.message));
    }
  };
  tip.querySelector("select").addEventListener("change", () => requote());
  // A new address (typed, or the browser's position) can change the delivery fee.
  el.addEventListener("change", (event) => {
    if (event.target.name?.startsWith("delivery_address.")) requote();
  });
  apply.addEventListener("click", () => requote());
  // Enter in the code field applies it; it does not place the order.
  promo.querySelector("input").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    requote();
  });
  page("Cart", ...heading, el);
  requote();
}

// What prices the order: its lines, the tip and the promo code (never a price).
function draft(c, data) {
  const body = {
    restaurant_id: c.restaurant_id,
    items: c.lines.map((l) => ({ product_id: l.product_id, quantity: l.quantity })),
    tip_cents: Number(data.get("tip_cents") || 0),
  };
  const code = (data.get("promo_code") || "").trim();
  if (code) body.promo_code = code;
  // With a whole address the quote has the delivery distance, so the per-km fee too.
  const where = address(data);
  if (where.line1 && where.city && where.postcode && "lat" in where && "lng" in where) body.delivery_address = where;
  return body;
}

function address(data) {
  return {
    label: "Delivery",
    line1: (data.get("delivery_address.line1") || "").trim(),
    city: (data.get("delivery_address.city") || "").trim(),
    postcode: (data.get("delivery_address.postcode") || "").trim(),
    ...coordinates(data),
  };
}

async function placeOrder(el, data, go) {
  const c = cart.load();
  const body = {
    ...draft(c, data),
    delivery_address: address(data),
    payment_token: data.get("payment_token").trim(),
  };
  if (data.get("notes").trim()) body.notes = data.get("notes").trim();
  const button = el.querySelector("button[type=submit]");
  try {
    await busy(button, async () => {
      const order = await post("/orders", body, { headers: { "Idempotency-Key": attemptKey(body) } });
      sessionStorage.removeItem(ATTEMPT_KEY);
      cart.clear();
      go(`/orders/${order.order_id}`);
    });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // A 4xx answer ends this attempt; a lost answer (0) or a 5xx keeps the key for the retry.
    if (error.status >= 400 && error.status < 500) sessionStorage.removeItem(ATTEMPT_KEY);
    showProblem(el, error);
  }
}

function coordinate(label, name, value, limit) {
  return field(label, name, { type: "number", step: "any", min: -limit, max: limit, inputmode: "decimal", required: true, value });
}

// Left out when empty or not a number: the API then names the missing field.
function coordinates(data) {
  const out = {};
  for (const key of ["lat", "lng"]) {
    const value = Number.parseFloat(data.get(`delivery_address.${key}`));
    if (Number.isFinite(value)) out[key] = value;
  }
  return out;
}

function locate(el) {
  const status = el.querySelector(".form-error");
  navigator.geolocation.getCurrentPosition(
    ({ coords }) => {
      el.elements["delivery_address.lat"].value = coords.latitude.toFixed(6);
      el.elements["delivery_address.lng"].value = coords.longitude.toFixed(6);
      el.elements["delivery_address.lng"].dispatchEvent(new Event("change", { bubbles: true }));
    },
    () => {
      status.textContent = "Your location is not available: type the coordinates instead.";
      status.hidden = false;
    },
    { timeout: 10000 },
  );
}

// The same body keeps its key until the attempt succeeds or is refused.
function attemptKey(body) {
  const text = JSON.stringify(body);
  try {
    const saved = JSON.parse(sessionStorage.getItem(ATTEMPT_KEY));
    if (saved?.body === text) return saved.key;
  } catch {
    // a new attempt
  }
  const key = newKey();
  sessionStorage.setItem(ATTEMPT_KEY, JSON.stringify({ key, body: text }));
  return key;
}
