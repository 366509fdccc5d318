// A restaurant's menu: images, prices, sold-out items marked; "Add <name>" fills the cart.
import { get } from "../api.js";
import * as cart from "../cart.js";
import { h, money } from "../ui.js";

export default async function render({ params: [restaurantId], page }) {
  let restaurant;
  let menu;
  try {
    [restaurant, menu] = await Promise.all([
      get(`/restaurants/${restaurantId}`, { auth: false }),
      get(`/restaurants/${restaurantId}/products?limit=100`, { auth: false }),
    ]);
  } catch (error) {
    page("Restaurant", h("p", { class: "form-error", role: "alert" }, error.message));
    return;
  }
  const summary = h("p", { class: "cart-summary", "aria-live": "polite" });
  const showCart = () => {
    const c = cart.load();
    const n = c.restaurant_id === restaurantId ? cart.count(c) : 0;
    summary.replaceChildren(n ? h("a", { href: "#/cart", class: "button primary" }, `Go to cart: ${n} item${n > 1 ? "s" : ""}, ${money(cart.subtotal(c))}`) : "Your cart is empty.");
  };
  const categories = new Map();
  for (const p of menu.items) {
    if (!categories.has(p.category)) categories.set(p.category, []);
    categories.get(p.category).push(p);
  }
  const sections = [...categories].map(([category, products]) =>
    h("section", {}, h("h2", {}, category), h("ul", { class: "menu" }, products.map((p) => item(restaurant, p, showCart)))),
  );
  page(
    restaurant.name,
    h("p", { class: "muted" }, `${restaurant.cuisine} · ${restaurant.address}`),
    (restaurant.is_open_now ?? restaurant.is_open) ? null : h("p", { class: "notice" }, "This restaurant is closed right now."),
    ...sections,
    summary,
  );
  showCart();
}

function item(restaurant, p, changed) {
  const soldOut = !p.available || p.stock === 0;
  return h(
    "li",
    { class: soldOut ? "product sold-out" : "product" },
    p.image_url ? h("img", { src: p.image_url, alt: p.name, loading: "lazy", width: 80, height: 80 }) : null,
    h("div", { class: "grow" }, h("h3", {}, p.name), p.description ? h("p", { class: "muted" }, p.description) : null, h("p", {}, money(p.price_cents, p.currency))),
    soldOut
      ? h("p", { class: "tag" }, "Sold out")
      : h("button", { type: "button", "aria-label": `Add ${p.name}`, onclick: () => (cart.add(restaurant, p), changed()) }, "Add"),
  );
}
