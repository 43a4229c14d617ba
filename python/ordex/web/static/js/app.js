// Entry point: the terminal for a signed-in user (the HttpOnly cookie), the sign-in page otherwise.
import { get } from "./api.js";
import { renderAuth } from "./auth.js";
import { h, replaceChildren } from "./dom.js";
import { Terminal } from "./terminal.js";

const root = document.getElementById("root");
let terminal = null;

function showAuth() {
  if (terminal) terminal.stop();
  terminal = null;
  document.documentElement.dataset.view = "auth";
  renderAuth(root, (user) => showTerminal(user));
}

async function showTerminal(user) {
  document.documentElement.dataset.view = "terminal";
  terminal = new Terminal(root, user, showAuth);
  try {
    await terminal.start();
  } catch (err) {
    if (err.status === 401) return showAuth();
    replaceChildren(root, h("p", { class: "widget-error", role: "alert" }, `The terminal could not start: ${err.message}`));
  }
}

window.addEventListener("ordex:unauthenticated", () => {
  if (terminal) showAuth();
});

async function boot() {
  try {
    const { user } = await get("/api/auth/me");
    await showTerminal(user);
  } catch {
    showAuth();
  }
}

boot();
