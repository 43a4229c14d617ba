// Sign in and sign up. Both answer with the HttpOnly cookie; the page keeps only the user record.
import { ApiError, post } from "./api.js";
import { h, replaceChildren } from "./dom.js";

function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

export function renderAuth(root, onSignedIn) {
  let mode = "signin";
  const status = h("p", { class: "form-status", role: "alert", "aria-live": "assertive" });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password", name: "password", autocomplete: "current-password", required: true, minLength: 8,
  });
  const name = h("input", { type: "text", name: "name", autocomplete: "name" });
  const nameField = field("Name (optional)", name);
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const title = h("h1", { id: "auth-title" }, "Sign in to ordex");
  const tabIn = h("button", { type: "button", role: "tab", id: "tab-signin" }, "Sign in");
  const tabUp = h("button", { type: "button", role: "tab", id: "tab-signup" }, "Create account");

  function setMode(next) {
    mode = next;
    const signup = mode === "signup";
    title.textContent = signup ? "Create an ordex account" : "Sign in to ordex";
    submit.textContent = signup ? "Create account" : "Sign in";
    nameField.hidden = !signup;
    password.autocomplete = signup ? "new-password" : "current-password";
    tabIn.setAttribute("aria-selected", String(!signup));
    tabUp.setAttribute("aria-selected", String(signup));
    status.textContent = "";
    status.className = "form-status";
  }
  tabIn.addEventListener("click", () => setMode("signin"));
  tabUp.addEventListener("click", () => setMode("signup"));

  const form = h("form", { class: "auth-form", "aria-labelledby": "auth-title", novalidate: false },
    title,
    h("div", { role: "tablist", class: "tabs", "aria-label": "Account" }, tabIn, tabUp),
    field("Email", email), field("Password", password), nameField, submit, status);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    status.className = "form-status";
    status.textContent = mode === "signup" ? "Creating the account…" : "Signing in…";
    try {
      const body = { email: email.value.trim(), password: password.value };
      if (mode === "signup" && name.value.trim()) body.name = name.value.trim();
      const result = await post(mode === "signup" ? "/api/auth/register" : "/api/auth/login", body);
      if (result.user) {
        password.value = "";
        onSignedIn(result.user);
        return;
      }
      // Approval mode: the account waits for an admin; no session yet.
      status.className = "form-status ok";
      status.textContent = result.message || "Registration received; an admin will approve it.";
      password.value = "";
      setTimeout(() => setModeKeepStatus("signin"), 0);
    } catch (err) {
      status.className = "form-status error";
      status.textContent = err instanceof ApiError ? err.message : "Something went wrong";
    } finally {
      submit.disabled = false;
    }
  });

  function setModeKeepStatus(next) {
    const text = status.textContent;
    const cls = status.className;
    setMode(next);
    status.textContent = text;
    status.className = cls;
  }

  setMode("signin");
  replaceChildren(root, h("main", { class: "auth-page" },
    h("div", { class: "brand", "aria-hidden": "true" }, "ordex"), form));
  email.focus();
}
