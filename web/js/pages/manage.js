// The owner's menu: open or close the restaurant; its fees, minimum and tax rate; add and
// edit products (price, stock, availability); upload an image through the presigned POST,
// then confirm it.
import { ApiError, get, patch, post, put } from "../api.js";
import { forget, ownedRestaurants } from "../owner.js";
import { busy, clearErrors, field, form, h, money, showProblem } from "../ui.js";

const CHOSEN_KEY = "chowline.managing";
const IMAGE_TYPES = "image/jpeg,image/png,image/webp";

export default async function render({ query, go, page }) {
  const restaurants = await ownedRestaurants();
  if (!restaurants.length) return page("Menu", h("p", {}, "No restaurant is linked to this account yet."));
  const wanted = query.get("restaurant") || localStorage.getItem(CHOSEN_KEY);
  const restaurant = restaurants.find((r) => r.restaurant_id === wanted) || restaurants[0];
  localStorage.setItem(CHOSEN_KEY, restaurant.restaurant_id);

  const picker = field("Restaurant", "restaurant", {}, restaurants.map((r) => [r.restaurant_id, r.name]));
  const select = picker.querySelector("select");
  select.value = restaurant.restaurant_id;

  const openState = h("p", { role: "status" });
  const toggle = h("button", { type: "button" });
  const drawOpen = (isOpen) => {
    openState.textContent = isOpen ? `${restaurant.name} is open for orders.` : `${restaurant.name} is closed.`;
    toggle.textContent = isOpen ? "Close restaurant" : "Open restaurant";
    toggle.onclick = () =>
      busy(toggle, async () => {
        const updated = await patch(`/restaurants/${restaurant.restaurant_id}`, { is_open: !isOpen });
        forget(updated);
        restaurant.is_open = updated.is_open;
        drawOpen(updated.is_open);
      });
  };
  drawOpen(restaurant.is_open);

  const list = h("ul", { class: "manage" });
  const menu = await get(`/restaurants/${restaurant.restaurant_id}/products?limit=100`, { fresh: true });
  list.append(...menu.items.map((p) => productRow(p)));

  const add = form(
    (data, el) =>
      save(el, async () => {
        const product = await post(`/restaurants/${restaurant.restaurant_id}/products`, productBody(data, true));
        list.append(productRow(product));
        el.reset();
      }),
    field("Name", "name", { required: true, maxlength: 120 }),
    field("Description", "description", { maxlength: 2000 }),
    field("Price (USD)", "price_cents", { inputmode: "decimal", required: true, placeholder: "9.50" }),
    field("Category", "category", { placeholder: "Mains" }),
    field("Stock (empty: unlimited)", "stock", { inputmode: "numeric" }),
    h("button", { type: "submit", class: "primary" }, "Add product"),
  );

  const terms = termsForm(await get(`/restaurants/${restaurant.restaurant_id}`, { auth: false, fresh: true }));

  const panels = [
    h("section", { class: "panel" }, openState, toggle),
    h("section", { class: "panel" }, h("h2", {}, "Fees and tax"), terms),
    h("h2", {}, "Products"),
    list,
    h("section", { class: "panel" }, h("h2", {}, "Add a product"), add),
  ];
  const loading = h("p", { class: "muted", hidden: true }, "Loading…");
  // The chosen restaurant's page takes a moment to load: meanwhile nothing on screen may act
  // on the restaurant the picker no longer shows (a click would close or edit that one).
  select.addEventListener("change", () => {
    for (const el of panels) el.hidden = true;
    loading.hidden = false;
    go(`/manage?restaurant=${select.value}`);
  });
  page("Menu", restaurants.length > 1 ? picker : null, loading, ...panels);
}

// Dollars and percentages on screen; cents and fractions ("0.0825") in the API.
const dollars = (cents) => (cents / 100).toFixed(2);
const percent = (rate) => String(Number((Number(rate) * 100).toFixed(4)));

function termsForm(restaurant) {
  const cents = (text) => (/^\d+(\.\d{1,2})?$/.test(text.trim()) ? Math.round(Number(text) * 100) : text.trim());
  const rate = (text) => (/^\d+(\.\d{1,4})?$/.test(text.trim()) ? (Number(text) / 100).toFixed(6) : text.trim());
  const saved = h("p", { class: "muted", "aria-live": "polite" });
  const el = form(
    (data) =>
      save(el, async () => {
        saved.textContent = "";
        const updated = await patch(`/restaurants/${restaurant.restaurant_id}`, {
          delivery_fee_cents: cents(data.get("delivery_fee_cents")),
          delivery_fee_per_km_cents: cents(data.get("delivery_fee_per_km_cents")),
          service_fee_rate: rate(data.get("service_fee_rate")),
          min_order_cents: cents(data.get("min_order_cents")),
          tax_rate: rate(data.get("tax_rate")),
        });
        forget(updated);
        clearErrors(el);
        saved.textContent = "Fees saved: the next orders are priced with them.";
      }),
    field("Delivery fee (USD)", "delivery_fee_cents", { value: dollars(restaurant.delivery_fee_cents), inputmode: "decimal" }),
    field("Delivery fee per km (USD)", "delivery_fee_per_km_cents", { value: dollars(restaurant.delivery_fee_per_km_cents), inputmode: "decimal" }),
    field("Service fee (% of the items)", "service_fee_rate", { value: percent(restaurant.service_fee_rate), inputmode: "decimal" }),
    field("Minimum order (USD)", "min_order_cents", { value: dollars(restaurant.min_order_cents), inputmode: "decimal" }),
    field("Tax rate (%)", "tax_rate", { value: percent(restaurant.tax_rate), inputmode: "decimal" }),
    h("button", { type: "submit" }, "Save fees"),
    saved,
  );
  return el;
}

function productBody(data, creating) {
  const body = {};
  const name = data.get("name")?.trim();
  if (name) body.name = name;
  if (data.has("description")) body.description = data.get("description").trim();
  const price = data.get("price_cents")?.trim();
  if (price) body.price_cents = /^\d+(\.\d{1,2})?$/.test(price) ? Math.round(Number(price) * 100) : price;
  const category = data.get("category")?.trim();
  if (category) body.category = category;
  const stock = data.get("stock")?.trim();
  if (stock) body.stock = /^\d+$/.test(stock) ? Number(stock) : stock;
  else if (!creating) body.stock = null;
  if (!creating) body.available = data.get("available") === "on";
  return body;
}

async function save(el, action) {
  try {
    await busy(el.querySelector("button[type=submit]"), action);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showProblem(el, error);
  }
}

function productRow(product) {
  const row = h("li", { class: "product" });
  const draw = (p) => {
    const available = field("Available", "available", { type: "checkbox", checked: p.available });
    available.classList.add("check");
    const edit = form(
      (data, el) =>
        save(el, async () => {
          draw(await patch(`/products/${p.product_id}`, productBody(data, false)));
        }),
      field("Name", "name", { value: p.name, required: true }),
      field("Price (USD)", "price_cents", { value: (p.price_cents / 100).toFixed(2), inputmode: "decimal" }),
      field("Stock (empty: unlimited)", "stock", { value: p.stock ?? "", inputmode: "numeric" }),
      available,
      h("button", { type: "submit" }, "Save"),
    );
    const upload = form(
      (data, el) =>
        save(el, async () => {
          const file = data.get("image");
          if (!file?.size) throw new ApiError(400, { title: "Choose an image", errors: [{ field: "image", message: "Choose a JPEG, PNG or WebP file." }] });
          draw(await uploadImage(p.product_id, file));
        }),
      field("Image", "image", { type: "file", accept: IMAGE_TYPES }),
      h("button", { type: "submit" }, "Upload image"),
    );
    const wasOpen = row.querySelector("details")?.open;
    row.replaceChildren(
      h(
        "details",
        { open: wasOpen },
        h(
          "summary",
          {},
          p.image_url ? h("img", { src: p.image_url, alt: "", width: 48, height: 48 }) : null,
          h("span", { class: "grow" }, p.name),
          h("span", {}, money(p.price_cents, p.currency)),
          p.available && p.stock !== 0 ? null : h("span", { class: "tag" }, "Sold out"),
        ),
        edit,
        upload,
      ),
    );
  };
  draw(product);
  return row;
}

// The presigned POST goes straight to the assets bucket; the confirm step checks the
// upload and makes it the product's image_url.
async function uploadImage(productId, file) {
  const { upload, image_key: imageKey } = await post(`/products/${productId}/image`, { content_type: file.type });
  const body = new FormData();
  for (const [k, v] of Object.entries(upload.fields)) body.append(k, v);
  body.append("file", file);
  let response;
  try {
    response = await fetch(upload.url, { method: "POST", body });
  } catch {
    throw new ApiError(0, { title: "The image could not be sent", errors: [{ field: "image", message: "The upload did not reach storage; try again." }] });
  }
  if (!response.ok) {
    const text = await response.text();
    const reason = text.match(/<Message>([^<]+)<\/Message>/)?.[1] || `storage answered ${response.status}`;
    throw new ApiError(response.status, { title: "The image was refused", errors: [{ field: "image", message: reason }] });
  }
  return put(`/products/${productId}/image`, { image_key: imageKey });
}
