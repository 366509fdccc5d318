// The shell: hash routes to page modules, the navigation for the signed-in role, sign-out.
import { endSession, session, whenSessionExpires } from "./api.js";
import * as cart from "./cart.js";
import { closeLive } from "./live.js";
import { h, page, pageIn } from "./ui.js";

const OWNER = "restaurant_owners";
const COURIER = "couriers";
const CUSTOMER = "customers";

// [pattern, module, role needed (null: public)]
const ROUTES = [
  [/^\/sign-in$/, "auth.js", null],
  [/^\/sign-up$/, "auth.js", null],
  [/^\/confirm$/, "auth.js", null],
  [/^\/forgot$/, "auth.js", null],
  [/^\/reset$/, "auth.js", null],
  [/^\/restaurants$/, "restaurants.js", null],
  [/^\/restaurants\/([^/]+)$/, "menu.js", null],
  [/^\/cart$/, "checkout.js", null],
  [/^\/orders$/, "orders.js", CUSTOMER],
  [/^\/orders\/([^/]+)$/, "order.js", "any"],
  [/^\/notifications$/, "notifications.js", "any"],
  [/^\/account$/, "account.js", "any"],
  [/^\/board$/, "board.js", OWNER],
  [/^\/manage$/, "manage.js", OWNER],
  [/^\/deliveries$/, "deliveries.js", COURIER],
];

let cleanup = null;
let navigation = 0;

export function go(path) {
  if (location.hash === `#${path}`) route();
  else location.hash = path;
}

export function home() {
  const roles = session.roles();
  if (roles.includes(OWNER)) return "/board";
  if (roles.includes(COURIER)) return "/deliveries";
  return "/restaurants";
}

function parse() {
  const [path, search = ""] = (location.hash.slice(1) || "/").split("?");
  return { path, query: new URLSearchParams(search) };
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const { path, query } = parse();
  if (path === "/") return go(home());
  renderNav();
  const match = ROUTES.map(([re, mod, role]) => [path.match(re), mod, role]).find(([m]) => m);
  if (!match) return page("Not found", h("p", {}, "There is nothing here. ", h("a", { href: "#/" }, "Go home")));
  const [m, mod, role] = match;
  const signedIn = Boolean(session.get());
  if (role && !signedIn) return go(`/sign-in?next=${encodeURIComponent(path)}`);
  if (role && role !== "any" && !session.roles().includes(role) && !session.roles().includes("admins")) {
    return page("Not for this account", h("p", {}, "This page is for another kind of account. ", h("a", { href: "#/" }, "Go home")));
  }
  const token = ++navigation;
  const main = document.getElementById("main");
  const current = () => token === navigation;
  const draw = (title, ...children) => pageIn(current() ? main : h("main"), title, ...children);
  const module = await import(`./pages/${mod}`);
  const result = await module.default({ params: m.slice(1), query, path, go, home, page: draw });
  const stop = typeof result === "function" ? result : null;
  if (!current()) return stop?.();
  cleanup = stop;
  main.focus({ preventScroll: true });
}

function renderNav() {
  const roles = session.roles();
  const link = (href, text) => h("a", { href: `#${href}`, "aria-current": parse().path === href ? "page" : false }, text);
  const items = [];
  // Owners and couriers are customers too, but their screens lead with their work.
  if (!roles.includes(OWNER) && !roles.includes(COURIER)) {
    const n = cart.count();
    items.push(link("/restaurants", "Restaurants"), link("/cart", n ? `Cart (${n})` : "Cart"));
    if (roles.includes(CUSTOMER)) items.push(link("/orders", "Orders"));
  }
  if (roles.includes(OWNER)) items.push(link("/board", "Board"), link("/manage", "Menu"));
  if (roles.includes(COURIER)) items.push(link("/deliveries", "Deliveries"));
  if (session.get()) {
    items.push(link("/notifications", "Inbox"), link("/account", "Account"));
    items.push(h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
  } else {
    items.push(link("/sign-in", "Sign in"));
  }
  document.getElementById("nav").replaceChildren(...items);
}

async function signOut() {
  closeLive();
  await endSession();
  go("/sign-in");
}

// An expired session that cannot be refreshed returns to sign-in; the cart stays.
whenSessionExpires(() => {
  closeLive();
  const { path } = parse();
  if (!path.startsWith("/sign-in")) go(`/sign-in?expired=1&next=${encodeURIComponent(path)}`);
});

document.addEventListener("cart-changed", renderNav);
window.addEventListener("hashchange", route);
route();
