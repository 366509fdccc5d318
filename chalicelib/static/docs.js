"use strict";
(function () {
  const content = document.getElementById("content");
  const nav = document.getElementById("nav");
  const tokenInput = document.getElementById("token");
  const keyInput = document.getElementById("api-key");
  let spec = null;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of [].concat(children || [])) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function resolve(schema) {
    let seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      const name = schema.$ref.split("/").pop();
      schema = Object.assign({ title: name }, spec.components.schemas[name] || {});
    }
    return schema || {};
  }

  function typeOf(schema) {
    schema = resolve(schema);
    if (schema.anyOf || schema.oneOf) return (schema.anyOf || schema.oneOf).map(typeOf).join(" | ");
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    if (schema.type === "array") return typeOf(schema.items || {}) + "[]";
    if (schema.type === "object" && schema.title) return schema.title;
    return schema.type || schema.title || "any";
  }

  function constraints(schema) {
    schema = resolve(schema);
    const parts = [];
    for (const key of ["minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "pattern", "format", "default"]) {
      if (schema[key] !== undefined) parts.push(key + " " + (key === "pattern" ? schema[key] : JSON.stringify(schema[key])));
    }
    return parts.join(", ");
  }

  function renderSchema(schema, depth) {
    schema = resolve(schema);
    if (depth > 6) return el("span", { class: "muted", text: "…" });
    const options = schema.anyOf || schema.oneOf;
    if (options) {
      const nonNull = options.filter((o) => o.type !== "null");
      if (nonNull.length === 1) return renderSchema(nonNull[0], depth);
    }
    const props = schema.properties;
    if (schema.type === "array" && schema.items) return renderSchema(schema.items, depth);
    if (!props) return null;
    const required = new Set(schema.required || []);
    const items = Object.entries(props).map(([name, child]) =>
      el("li", {}, [
        el("code", { text: name }),
        required.has(name) ? el("span", { class: "req", text: " *" }) : null,
        " ",
        el("span", { class: "type", text: typeOf(child) }),
        constraints(child) ? el("span", { class: "muted", text: " (" + constraints(child) + ")" }) : null,
        renderSchema(child, depth + 1),
      ])
    );
    return el("ul", {}, items);
  }

  function example(schema, depth) {
    schema = resolve(schema);
    if (depth > 5) return null;
    if (schema.default !== undefined) return schema.default;
    if (schema.enum) return schema.enum[0];
    const options = schema.anyOf || schema.oneOf;
    if (options) return example(options.find((o) => o.type !== "null") || options[0], depth + 1);
    switch (schema.type) {
      case "object": {
        const out = {};
        for (const name of schema.required || Object.keys(schema.properties || {})) {
          out[name] = example((schema.properties || {})[name] || {}, depth + 1);
        }
        return out;
      }
      case "array": return [example(schema.items || {}, depth + 1)];
      case "integer": return schema.minimum !== undefined ? schema.minimum : 1;
      case "number": return schema.minimum !== undefined ? schema.minimum : 0;
      case "boolean": return true;
      default: return "string";
    }
  }

  // The first restaurant and product of the catalog: "Try it" fills them in wherever a path
  // parameter or a body field of that name asks for one, so the examples work as they are.
  let liveIds = null;
  function catalogIds() {
    if (!liveIds) {
      const get = (url) => fetch(new URL(url, new URL(".", window.location.href))).then((r) => (r.ok ? r.json() : { items: [] }));
      // The first of the first ten restaurants that has something on its menu.
      const firstWithMenu = (restaurants) => {
        const [restaurant, ...rest] = restaurants;
        if (!restaurant) return {};
        return get("restaurants/" + encodeURIComponent(restaurant.restaurant_id) + "/products?limit=1").then((menu) => {
          const product = (menu.items || [])[0];
          return product ? { restaurant_id: restaurant.restaurant_id, product_id: product.product_id } : firstWithMenu(rest);
        });
      };
      liveIds = get("restaurants?limit=10")
        .then((page) => firstWithMenu(page.items || []))
        .catch(() => ({}));
    }
    return liveIds;
  }

  function withIds(value, ids) {
    if (Array.isArray(value)) return value.map((v) => withIds(v, ids));
    if (value && typeof value === "object") {
      const out = {};
      for (const [key, child] of Object.entries(value)) out[key] = ids[key] !== undefined ? ids[key] : withIds(child, ids);
      return out;
    }
    return value;
  }

  function initialValue(p) {
    if (p.name.toLowerCase() === "idempotency-key") return crypto.randomUUID();  // a new order per page load
    const schema = resolve(p.schema || {});
    if (p.example !== undefined) return String(p.example);
    if (schema.examples && schema.examples.length) return String(schema.examples[0]);
    return "";
  }

  function tryIt(path, method, op) {
    const params = op.parameters || [];
    const inputs = {};
    const rows = params.map((p) => {
      inputs[p.in + ":" + p.name] = el("input", { name: p.name, placeholder: typeOf(p.schema) });
      inputs[p.in + ":" + p.name].value = initialValue(p);
      return el("tr", {}, [el("td", {}, el("code", { text: p.name })), el("td", { text: p.in }), el("td", {}, inputs[p.in + ":" + p.name])]);
    });
    const media = op.requestBody ? op.requestBody.content["application/json"] : null;
    const body = media ? el("textarea", {}) : null;
    const bodyExample = media ? (media.example !== undefined ? media.example : example(media.schema, 0)) : null;
    if (body) body.value = JSON.stringify(bodyExample, null, 2);
    catalogIds().then((ids) => {
      for (const p of params) {
        const input = inputs[p.in + ":" + p.name];
        if (p.in === "path" && ids[p.name] && !input.value) input.value = ids[p.name];
      }
      if (body && body.value === JSON.stringify(bodyExample, null, 2)) body.value = JSON.stringify(withIds(bodyExample, ids), null, 2);
    });
    const output = el("pre", { text: "" });
    const button = el("button", { type: "button", text: "Send" });
    button.addEventListener("click", async () => {
      let url = path;
      const query = new URLSearchParams();
      const headers = {};
      for (const p of params) {
        const value = inputs[p.in + ":" + p.name].value;
        if (!value) continue;
        if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(value));
        else if (p.in === "query") query.set(p.name, value);
        else if (p.in === "header") headers[p.name] = value;
      }
      if (tokenInput.value) headers.Authorization = "Bearer " + tokenInput.value.trim();
      if (keyInput.value) headers["X-Api-Key"] = keyInput.value.trim();
      if (body) headers["Content-Type"] = "application/json";
      const base = new URL(".", window.location.href);
      const target = new URL(url.replace(/^\//, "") + (query.toString() ? "?" + query : ""), base);
      output.textContent = "…";
      try {
        const response = await fetch(target, { method: method.toUpperCase(), headers, body: body ? body.value : undefined });
        const text = await response.text();
        let shown = text;
        try {
          const parsed = JSON.parse(text);
          shown = JSON.stringify(parsed, null, 2);
          // Signing in hands its ID token to every other form.
          if (parsed && parsed.id_token) tokenInput.value = parsed.id_token;
        } catch (e) { /* not JSON */ }
        output.textContent = response.status + " " + (response.headers.get("Content-Type") || "") + "\n\n" + shown;
      } catch (error) {
        output.textContent = String(error);
      }
    });
    return el("details", { class: "try" }, [
      el("summary", { text: "Try it" }),
      rows.length ? el("table", {}, rows) : null,
      body,
      button,
      output,
    ]);
  }

  function renderOperation(path, method, op) {
    const id = op.operationId || method + path;
    const section = el("article", { class: "op", id: id }, [
      el("h3", {}, [el("span", { class: "method m-" + method, text: method.toUpperCase() }), path]),
      el("div", { text: op.summary || "" }),
      el("div", { class: "roles", text: (op.description || "").split("\n\n").pop() }),
    ]);
    const params = op.parameters || [];
    if (params.length) {
      section.append(el("details", { open: "" }, [
        el("summary", { text: "Parameters" }),
        el("table", {}, [el("tr", {}, ["name", "in", "type", "constraints"].map((h) => el("th", { text: h })))].concat(
          params.map((p) => el("tr", {}, [
            el("td", {}, [el("code", { text: p.name }), p.required ? el("span", { class: "req", text: " *" }) : null]),
            el("td", { text: p.in }),
            el("td", { class: "type", text: typeOf(p.schema) }),
            el("td", { class: "muted", text: [constraints(p.schema), p.description || ""].filter(Boolean).join("; ") }),
          ]))
        )),
      ]));
    }
    if (op.requestBody) {
      const schema = op.requestBody.content["application/json"].schema;
      section.append(el("details", { open: "" }, [
        el("summary", { text: "Body: " + typeOf(schema) + (op.requestBody.required ? "" : " (optional)") }),
        el("div", { class: "schema" }, renderSchema(schema, 0)),
      ]));
    }
    const responses = Object.entries(op.responses || {}).map(([status, response]) => {
      const media = Object.keys(response.content || {})[0];
      const schema = media ? response.content[media].schema : null;
      return el("tr", {}, [
        el("td", {}, el("code", { text: status })),
        el("td", { text: response.description || "" }),
        el("td", {}, media ? [el("span", { class: "type", text: typeOf(schema) }), el("div", { class: "muted", text: media })] : "—"),
      ]);
    });
    section.append(el("details", {}, [el("summary", { text: "Responses" }), el("table", {}, responses)]));
    section.append(tryIt(path, method, op));
    return section;
  }

  function render() {
    document.getElementById("title").textContent = spec.info.title + " " + spec.info.version;
    document.title = spec.info.title + " reference";
    const groups = {};
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const tag = (op.tags || ["other"])[0];
        (groups[tag] = groups[tag] || []).push([path, method, op]);
      }
    }
    content.replaceChildren(el("p", { class: "muted" }, spec.info.description || ""));
    nav.replaceChildren();
    for (const tag of Object.keys(groups).sort()) {
      nav.append(el("h2", { text: tag }));
      content.append(el("h2", { text: tag }));
      for (const [path, method, op] of groups[tag]) {
        nav.append(el("a", { href: "#" + (op.operationId || method + path), text: method.toUpperCase() + " " + path }));
        content.append(renderOperation(path, method, op));
      }
    }
  }

  fetch(new URL("openapi.json", window.location.href))
    .then((response) => {
      if (!response.ok) throw new Error("openapi.json: HTTP " + response.status);
      return response.json();
    })
    .then((document_) => { spec = document_; render(); })
    .catch((error) => { content.replaceChildren(el("p", { class: "req", text: String(error) })); });
})();
