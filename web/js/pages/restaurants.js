// Restaurants, filtered by city and cuisine (the API's ?city= and ?cuisine=).
import { get } from "../api.js";
import { h } from "../ui.js";

let everything = null; // the unfiltered list, for the filter choices

export default async function render({ query, go, page }) {
  const city = query.get("city") || "";
  const cuisine = query.get("cuisine") || "";
  const list = h("ul", { class: "cards", "aria-busy": "true" });
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter restaurants" });
  page("Restaurants", filters, list);
  const params = new URLSearchParams({ limit: "100", ...(city && { city }), ...(cuisine && { cuisine }) });
  let result;
  try {
    [result, everything] = await Promise.all([get(`/restaurants?${params}`, { auth: false }), everything || (city || cuisine ? get("/restaurants?limit=100", { auth: false }) : null)]);
  } catch (error) {
    list.replaceWith(h("p", { class: "form-error", role: "alert" }, error.message));
    return;
  }
  everything ||= result;
  const choose = (label, name, current, values) => {
    const select = h("select", { id: `filter-${name}`, name }, h("option", { value: "" }, `All`), [...new Set(values)].sort().map((v) => h("option", { value: v, selected: v === current }, v)));
    select.addEventListener("change", () => {
      const next = new URLSearchParams(new FormData(filters));
      for (const [k, v] of [...next]) if (!v) next.delete(k);
      go(`/restaurants${next.size ? `?${next}` : ""}`);
    });
    return h("div", { class: "field" }, h("label", { for: select.id }, label), select);
  };
  filters.append(
    choose("City", "city", city, everything.items.map((r) => r.city)),
    choose("Cuisine", "cuisine", cuisine, everything.items.map((r) => r.cuisine)),
  );
  list.removeAttribute("aria-busy");
  if (!result.items.length) list.replaceWith(h("p", {}, "No restaurant matches."));
  for (const r of result.items) {
    list.append(
      h(
        "li",
        { class: "card" },
        r.image_url ? h("img", { src: r.image_url, alt: "", loading: "lazy", width: 96, height: 96 }) : h("div", { class: "thumb", "aria-hidden": "true" }, r.name[0]),
        h(
          "div",
          {},
          h("h2", {}, h("a", { href: `#/restaurants/${r.restaurant_id}` }, r.name)),
          h("p", { class: "muted" }, `${r.cuisine} · ${r.city}`),
          (r.is_open_now ?? r.is_open) ? null : h("p", { class: "tag" }, "Closed"),
        ),
      ),
    );
  }
}
