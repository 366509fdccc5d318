// The cart, kept in localStorage so it survives reloads and an expired session.
const KEY = "chowline.cart";

export function load() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || empty();
  } catch {
    return empty();
  }
}

function empty() {
  return { restaurant_id: null, restaurant_name: "", lines: [] };
}

function save(cart) {
  localStorage.setItem(KEY, JSON.stringify(cart));
  document.dispatchEvent(new CustomEvent("cart-changed"));
  return cart;
}

// One restaurant per order: adding from another restaurant starts a new cart.
export function add(restaurant, product) {
  let cart = load();
  if (cart.restaurant_id !== restaurant.restaurant_id) {
    cart = { restaurant_id: restaurant.restaurant_id, restaurant_name: restaurant.name, lines: [] };
  }
  const line = cart.lines.find((l) => l.product_id === product.product_id);
  if (line) line.quantity = Math.min(line.quantity + 1, 50);
  else cart.lines.push({ product_id: product.product_id, name: product.name, price_cents: product.price_cents, quantity: 1 });
  return save(cart);
}

export function setQuantity(productId, quantity) {
  const cart = load();
  cart.lines = cart.lines
    .map((l) => (l.product_id === productId ? { ...l, quantity } : l))
    .filter((l) => l.quantity > 0);
  if (!cart.lines.length) return clear();
  return save(cart);
}

export function clear() {
  return save(empty());
}

export function count(cart = load()) {
  return cart.lines.reduce((n, l) => n + l.quantity, 0);
}

export function subtotal(cart = load()) {
  return cart.lines.reduce((n, l) => n + l.quantity * l.price_cents, 0);
}
