// The admin's list of users: pending accounts are approved (role OPERATOR), others shown as they are.
import { get, patch } from "./api.js";
import { h, replaceChildren, table, time } from "./dom.js";

export function openUsersDialog() {
  const body = h("div", { class: "dialog-body" }, h("p", {}, "Loading users…"));
  const status = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const close = h("button", { type: "button", class: "ghost", "aria-label": "Close users" }, "×");
  const dialog = h("dialog", { class: "panel-dialog", "aria-labelledby": "users-title" },
    h("header", {}, h("h2", { id: "users-title" }, "Users"), close), status, body);
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();

  async function load() {
    const { users } = await get("/api/admin/users");
    const pending = users.filter((u) => u.status === "PENDING" || u.role === "PENDING");
    const columns = [
      { label: "Email", cell: (u) => u.email },
      { label: "Name", cell: (u) => u.name || "" },
      { label: "Role", cell: (u) => u.role },
      { label: "Status", cell: (u) => u.status },
      { label: "Since", cell: (u) => time(u.createdAt) },
      {
        label: "Action",
        cell: (u) => (u.status === "PENDING" || u.role === "PENDING")
          ? h("button", {
              type: "button", class: "primary small", "aria-label": `Approve ${u.email}`,
              onclick: async (event) => {
                event.currentTarget.disabled = true;
                try {
                  await patch(`/api/admin/users/${u.id}`, { role: "OPERATOR" });
                  status.textContent = `${u.email} approved`;
                } catch (err) {
                  status.textContent = err.message;
                }
                await load();
              },
            }, "Approve")
          : "",
      },
    ];
    replaceChildren(body,
      h("p", {}, `${pending.length} pending approval`),
      table(columns, users, { caption: "Users", rowProps: (u) => ({ dataset: { email: u.email } }) }));
  }
  load().catch((err) => { status.textContent = err.message; });
}
