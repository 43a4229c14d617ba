// Small DOM helpers: elements are built with properties and children, never from HTML strings,
// so nothing from the server is ever parsed as markup.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in el && !key.startsWith("aria") && key !== "role" && key !== "for") {
      el[key] = value;
    } else el.setAttribute(key === "htmlFor" ? "for" : key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let uid = 0;
export function nextId(prefix = "id") {
  uid += 1;
  return `${prefix}-${uid}`;
}

// Decimal strings from the API are shown as they are (trailing zeros trimmed): no float rounding.
export function num(value) {
  if (value === null || value === undefined || value === "") return "—";
  const text = String(value);
  if (!text.includes(".") || text.includes("e")) return text;
  return text.replace(/0+$/, "").replace(/\.$/, "");
}

export function time(iso) {
  if (!iso) return "—";
  const d = new Date(typeof iso === "number" ? iso : iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
}

export function table(columns, rows, { caption, empty = "Nothing yet", rowProps } = {}) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : "" }, c.label)));
  const body = rows.length
    ? rows.map((row) =>
        h("tr", rowProps ? rowProps(row) : {},
          columns.map((c) => h("td", { class: c.num ? "num" : c.cls || "" }, c.cell(row)))))
    : [h("tr", {}, h("td", { colSpan: columns.length, class: "empty" }, empty))];
  return h("table", { class: "grid-table" }, caption ? h("caption", { class: "sr-only" }, caption) : null,
    h("thead", {}, head), h("tbody", {}, body));
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
