// The restaurants the signed-in owner runs: the public list, kept to those whose order
// list answers (the API's ownership check decides; admins see every one).
import { ApiError, get, session } from "./api.js";

let cached = null;

export async function ownedRestaurants() {
  const user = session.get()?.user_id;
  if (cached?.user === user) return cached.items;
  const all = await get("/restaurants?limit=100", { auth: false, fresh: true });
  const checks = await Promise.all(
    all.items.map((r) =>
      get(`/restaurants/${r.restaurant_id}/orders?limit=1`).then(
        () => r,
        (e) => {
          if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return null;
          throw e;
        },
      ),
    ),
  );
  cached = { user, items: checks.filter(Boolean) };
  return cached.items;
}

export function forget(restaurant) {
  if (!cached) return;
  cached.items = cached.items.map((r) => (r.restaurant_id === restaurant.restaurant_id ? { ...r, ...restaurant } : r));
}
