// The data provider settings widget: the user's providers by priority (lowest first), each
// editable in its row (status, exchanges, priority) or deleted, and a form to add one, through
// POST/PUT/DELETE /api/providers. The server's refusals are shown inline.
import { del, get, post, put } from "../api.js";
import { h, replaceChildren, table } from "../dom.js";

const TYPES = ["ccxt-server", "ccxt-browser", "marketmaker.cc", "custom-server-with-adapter"];
const STATUSES = ["connected", "connecting", "disconnected", "error"];

const exchangeList = (text) => text.split(",").map((x) => x.trim()).filter(Boolean);

function select(options, value, props) {
  return h("select", props, options.map((o) => h("option", { value: o, selected: o === value }, o)));
}

export function providers(el) {
  const status = h("p", { class: "form-status", role: "alert", "aria-live": "assertive" });
  const list = h("div", { class: "provider-list" });
  const say = (text, kind) => {
    status.textContent = text;
    status.className = `form-status ${kind}`;
  };
  // Every change goes through here: a refusal leaves the list as it was and says why.
  const act = async (work, done) => {
    try {
      await work();
      say(done, "ok");
      await load();
    } catch (err) {
      say(typeof err.details === "string" ? `${err.message}: ${err.details}` : err.message, "error");
    }
  };

  const row = (p) => {
    const state = select(STATUSES, p.status, { "aria-label": `Status of ${p.name}` });
    const exchanges = h("input", { type: "text", value: p.exchanges.join(", "), size: 14,
      "aria-label": `Exchanges of ${p.name}` });
    const priority = h("input", { type: "number", value: String(p.priority), min: 0, step: 1,
      class: "narrow", "aria-label": `Priority of ${p.name}` });
    const save = h("button", { type: "button", class: "small", "aria-label": `Save ${p.name}`,
      onclick: () => act(() => put(`/api/providers/${p.id}`, {
        status: state.value, exchanges: exchangeList(exchanges.value), priority: Number(priority.value),
      }), `${p.name} saved`) }, "Save");
    const remove = h("button", { type: "button", class: "small ghost", "aria-label": `Delete ${p.name}`,
      onclick: () => act(() => del(`/api/providers/${p.id}`), `${p.name} deleted`) }, "Delete");
    return { p, state, exchanges, priority, actions: h("span", {}, save, " ", remove) };
  };

  async function load() {
    const { data } = await get("/api/providers");
    replaceChildren(list, table([
      { label: "Name", cell: (r) => r.p.name },
      { label: "Type", cell: (r) => r.p.type },
      { label: "Status", cell: (r) => r.state },
      { label: "Exchanges", cell: (r) => r.exchanges },
      { label: "Priority", num: true, cell: (r) => r.priority },
      { label: "", cell: (r) => r.actions },
    ], data.map(row), {
      caption: "Data providers", empty: "No data providers",
      rowProps: (r) => ({ class: "provider-row", dataset: { providerId: r.p.id, name: r.p.name } }),
    }));
  }

  const name = h("input", { type: "text", required: true, size: 10, "aria-label": "Provider name" });
  const type = select(TYPES, TYPES[0], { "aria-label": "Provider type" });
  const exchanges = h("input", { type: "text", value: "*", size: 10, "aria-label": "Provider exchanges" });
  const priority = h("input", { type: "number", value: "100", min: 0, step: 1, class: "narrow",
    "aria-label": "Provider priority" });
  const form = h("form", { class: "inline-form provider-form", "aria-label": "Add data provider",
    onsubmit: (e) => {
      e.preventDefault();
      const body = { name: name.value, type: type.value, exchanges: exchangeList(exchanges.value),
        priority: Number(priority.value) };
      act(() => post("/api/providers", body), `${name.value.trim()} added`)
        .then(() => { if (status.classList.contains("ok")) name.value = ""; });
    } }, name, type, exchanges, priority, h("button", { type: "submit", class: "small" }, "Add provider"));

  replaceChildren(el, list, form, status);
  const ready = load().catch((err) => say(err.message, "error"));
  return { ready, destroy() {} };
}
