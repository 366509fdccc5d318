// DOM helpers shared by every page: elements, form fields with their error slots, banners.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

let fieldCount = 0;

// A labelled control; `name` is the API's field path, so a problem's errors[].field finds it.
export function field(label, name, attrs = {}, options = null) {
  const id = `f${++fieldCount}`;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const control = options
    ? h("select", { id, name, "data-field": name, ...attrs }, options.map(([value, text]) => h("option", { value }, text)))
    : h(attrs.rows ? "textarea" : "input", { id, name, "data-field": name, ...attrs });
  return h("div", { class: "field" }, h("label", { for: id }, label), control, error);
}

export function form(onsubmit, ...children) {
  const el = h("form", { novalidate: true }, h("p", { class: "form-error", role: "alert", hidden: true }), ...children);
  el.addEventListener("submit", (event) => {
    event.preventDefault();
    onsubmit(new FormData(el), el);
  });
  return el;
}

export function clearErrors(el) {
  for (const p of el.querySelectorAll(".field-error, .form-error")) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const c of el.querySelectorAll("[aria-invalid]")) {
    c.removeAttribute("aria-invalid");
    c.removeAttribute("aria-describedby");
  }
}

// Puts each errors[].message beside the control its field names (or its nearest parent
// path: "delivery_address.line1" falls back to "delivery_address"); the rest on top.
export function showProblem(el, error) {
  clearErrors(el);
  const unplaced = [];
  for (const item of error.errors || []) {
    const control = findControl(el, item.field || "");
    if (!control) {
      unplaced.push(item.field ? `${item.field}: ${item.message}` : item.message);
      continue;
    }
    const slot = el.querySelector(`#${control.id}-error`);
    slot.textContent = slot.textContent ? `${slot.textContent} ${item.message}` : item.message;
    slot.hidden = false;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", slot.id);
  }
  const top = el.querySelector(".form-error");
  const placed = (error.errors || []).length > unplaced.length;
  const summary = placed && !unplaced.length ? "Check the highlighted fields." : [error.detail || error.title, ...unplaced].join(" ");
  top.textContent = summary || "Something went wrong.";
  top.hidden = false;
}

function findControl(el, path) {
  for (let p = path; p; p = p.replace(/(\[\d+\]|\.[^.[]+)$/, "")) {
    const control = el.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (control) return control;
    if (!/[.[]/.test(p)) break;
  }
  return null;
}

export function setBanner(key, message) {
  const host = document.getElementById("banners");
  let el = host.querySelector(`[data-banner="${key}"]`);
  if (!message) return el?.remove();
  if (!el) {
    el = h("p", { class: "banner", role: "alert", "data-banner": key });
    host.append(el);
  }
  el.textContent = message;
}

export function money(cents, currency = "USD") {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(cents / 100);
}

const NAMES = { PICKED_UP: "Picked up" };
export function statusName(status) {
  return NAMES[status] || status.charAt(0) + status.slice(1).toLowerCase();
}

export function when(iso) {
  return new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// A page's render draws into `main` (the app passes a detached one to a render that a
// later navigation has overtaken, so a slow page never covers the current one).
export function page(title, ...children) {
  return pageIn(document.getElementById("main"), title, ...children);
}

export function pageIn(main, title, ...children) {
  if (!main.isConnected) return main;
  document.title = `${title} · Chowline`;
  main.replaceChildren(h("h1", {}, title), ...children.filter((c) => c !== null && c !== undefined && c !== false));
  return main;
}

// Calls draw(data) only when data differs from the last drawn: a poll that finds nothing
// new leaves the page (focus, a half-typed reason, the screen reader) undisturbed.
export function onChange(draw) {
  let last = null;
  return (data) => {
    const text = JSON.stringify(data);
    if (text === last) return;
    last = text;
    draw(data);
  };
}

// Runs an async action with the button disabled, so a double click is one action.
export async function busy(button, action) {
  if (button.disabled) return;
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
  }
}
