// The user's own settings: the personal API token (shown once, then only whether it exists) and
// exchange accounts (keys go to the server once, sealed there, and are never shown again).
import { del, get, post } from "./api.js";
import { h, nextId, replaceChildren, table, time } from "./dom.js";

function labelled(label, input) {
  input.id = input.id || nextId("s");
  return h("div", { class: "field" }, h("label", { htmlFor: input.id }, label), input);
}

export function openAccountDialog(user) {
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const tokenBox = h("div", {});
  const accountsBox = h("div", {});
  const close = h("button", { type: "button", class: "ghost", "aria-label": "Close account" }, "×");
  const dialog = h("dialog", { class: "panel-dialog", "aria-labelledby": "account-title" },
    h("header", {}, h("h2", { id: "account-title" }, `Account · ${user.email}`), close), status,
    h("section", { "aria-labelledby": "token-title" }, h("h3", { id: "token-title" }, "Personal API token"), tokenBox),
    h("section", { "aria-labelledby": "keys-title" }, h("h3", { id: "keys-title" }, "Exchange accounts"), accountsBox));
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  const say = (text, kind = "") => { status.textContent = text; status.className = `form-status ${kind}`; };

  async function loadToken(shown = null) {
    const info = await get("/api/user/token");
    const create = h("button", { type: "button", class: "primary small", onclick: async () => {
      const { token } = await post("/api/user/token");
      await loadToken(token);
    } }, info.exists ? "Replace token" : "Create token");
    const revoke = info.exists ? h("button", { type: "button", class: "small danger", onclick: async () => {
      await del("/api/user/token");
      say("Token revoked", "ok");
      await loadToken();
    } }, "Revoke") : null;
    replaceChildren(tokenBox,
      h("p", {}, info.exists ? `A token exists since ${time(info.createdAt)}.` : "No token yet."),
      shown ? h("div", {},
        labelled("New token: copy it now, it is not shown again",
          h("input", { class: "token-once", readOnly: true, value: shown, autocomplete: "off" }))) : null,
      h("p", {}, create, " ", revoke));
  }

  async function loadAccounts() {
    const { data } = await get("/api/accounts");
    const exchange = h("input", { type: "text", name: "exchange", placeholder: "binance", required: true, autocomplete: "off" });
    const label = h("input", { type: "text", name: "label", autocomplete: "off" });
    const apiKey = h("input", { type: "password", name: "apiKey", required: true, autocomplete: "off" });
    const secret = h("input", { type: "password", name: "secret", required: true, autocomplete: "off" });
    const password = h("input", { type: "password", name: "passphrase", autocomplete: "off" });
    const form = h("form", { class: "stack-form", "aria-label": "Add an exchange account" },
      labelled("Exchange", exchange), labelled("Label", label), labelled("API key", apiKey),
      labelled("Secret", secret), labelled("Passphrase (if any)", password),
      h("button", { type: "submit", class: "primary" }, "Add account"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { exchange: exchange.value.trim(), apiKey: apiKey.value, secret: secret.value };
      if (label.value.trim()) body.label = label.value.trim();
      if (password.value) body.password = password.value;
      try {
        await post("/api/accounts", body);
        say(`${body.exchange} account added; its keys are stored sealed and not shown again`, "ok");
        await loadAccounts();
      } catch (err) {
        say(err.message, "error");
      } finally {
        apiKey.value = "";
        secret.value = "";
        password.value = "";
      }
    });
    replaceChildren(accountsBox, table([
      { label: "Exchange", cell: (a) => a.exchange },
      { label: "Label", cell: (a) => a.label || "" },
      { label: "Passphrase", cell: (a) => (a.hasPassword ? "yes" : "no") },
      { label: "Added", cell: (a) => time(a.createdAt) },
      { label: "", cell: (a) => h("button", { type: "button", class: "small danger", "aria-label": `Delete ${a.exchange} ${a.label || ""}`.trim(),
          onclick: async () => { await del(`/api/accounts/${a.id}`); await loadAccounts(); } }, "Delete") },
    ], data, { caption: "Exchange accounts", empty: "No exchange account" }), form);
  }

  loadToken().catch((err) => say(err.message, "error"));
  loadAccounts().catch((err) => say(err.message, "error"));
}
