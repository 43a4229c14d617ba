// Notifications: one store for the header's bell and the notifications page. The list comes from
// `/api/notifications`; new ones arrive as `notification` messages on the WebSocket (live.js).
import { del, get, patch } from "./api.js";
import { h, replaceChildren, time } from "./dom.js";
import { on } from "./live.js";

const PANEL_SIZE = 20;

class NotificationStore extends EventTarget {
  constructor() {
    super();
    this.items = []; // newest first, the latest PANEL_SIZE at least
    this.unread = 0;
    this.version = 0; // counts local changes (a live arrival, a read, a delete)
  }

  changed() {
    this.version += 1;
    this.dispatchEvent(new Event("change"));
  }

  // The lists from the server. An answer may predate a change made meanwhile (a notification
  // arriving live, a read): then it is asked for again, and kept out if changes keep coming.
  async load() {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const version = this.version;
      const [latest, unread] = await Promise.all([
        get(`/api/notifications?limit=${PANEL_SIZE}`),
        get("/api/notifications?unreadOnly=true&limit=1"),
      ]);
      if (this.version !== version) continue;
      this.items = latest.notifications;
      this.unread = unread.total;
      this.changed();
      return;
    }
  }

  added(notification) {
    if (!notification || !notification.id || this.items.some((n) => n.id === notification.id)) return;
    this.items = [notification, ...this.items];
    if (!notification.read_at) this.unread += 1;
    this.changed();
  }

  async markRead(id) {
    await patch(`/api/notifications/${encodeURIComponent(id)}`, {});
    const item = this.items.find((n) => n.id === id);
    if (item && !item.read_at) {
      item.read_at = new Date().toISOString();
      this.unread = Math.max(0, this.unread - 1);
    } else if (!item) {
      await this.load();
      return;
    }
    this.changed();
  }

  async markAllRead() {
    await patch("/api/notifications", {});
    const now = new Date().toISOString();
    for (const item of this.items) item.read_at = item.read_at || now;
    this.unread = 0;
    this.changed();
  }

  async remove(id) {
    await del(`/api/notifications/${encodeURIComponent(id)}`);
    const item = this.items.find((n) => n.id === id);
    this.items = this.items.filter((n) => n.id !== id);
    if (item && !item.read_at) this.unread = Math.max(0, this.unread - 1);
    this.changed();
  }
}

export const notificationStore = new NotificationStore();

// One notification as a list item with its actions; `after` runs once an action is done.
export function notificationItem(n, onError) {
  const act = (label, fn) => h("button", {
    type: "button", class: "small", "aria-label": `${label}: ${n.title}`,
    onclick: (e) => { e.currentTarget.disabled = true; fn().catch(onError); },
  }, label);
  return h("li", { class: `notification ${n.read_at ? "read" : "unread"}`, dataset: { id: n.id, type: n.type } },
    h("div", { class: "notification-text" },
      h("strong", {}, n.title),
      h("span", { class: "notification-message" }, n.message),
      h("time", { dateTime: n.created_at }, time(n.created_at))),
    h("div", { class: "notification-actions" },
      n.read_at ? null : act("Mark read", () => notificationStore.markRead(n.id)),
      act("Delete", () => notificationStore.remove(n.id))));
}

// A bell drawn as SVG (no icon font to depend on).
function bellIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "bell-icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z");
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

// The header's bell: the unread count, and a panel of the latest notifications.
export function mountBell() {
  const count = h("span", { class: "bell-count", "aria-hidden": "true" });
  const button = h("button", {
    type: "button", id: "notifications-button", class: "bell", "aria-haspopup": "true", "aria-expanded": "false",
    "aria-controls": "notifications-panel",
  }, bellIcon(), count);
  const list = h("ul", { class: "notification-list" });
  const error = h("p", { class: "form-error", role: "alert" });
  const panel = h("div", {
    id: "notifications-panel", class: "notifications-panel", role: "dialog", "aria-label": "Notifications", hidden: true,
  },
  h("div", { class: "panel-head" },
    h("h2", {}, "Notifications"),
    h("button", { type: "button", class: "small", id: "notifications-read-all",
      onclick: () => notificationStore.markAllRead().catch(showError) }, "Mark all read"),
    h("a", { href: "#/notifications", onclick: () => toggle(false) }, "All")),
  error, list);
  const el = h("div", { class: "bell-box" }, button, panel);

  function showError(err) { error.textContent = err.message; }

  function render() {
    const unread = notificationStore.unread;
    count.textContent = unread ? String(unread > 99 ? "99+" : unread) : "";
    count.hidden = !unread;
    button.dataset.unread = String(unread);
    button.setAttribute("aria-label", `Notifications, ${unread} unread`);
    replaceChildren(list, notificationStore.items.length
      ? notificationStore.items.slice(0, PANEL_SIZE).map((n) => notificationItem(n, showError))
      : h("li", { class: "empty" }, "No notifications"));
  }

  function toggle(open = panel.hidden) {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) error.textContent = "";
  }

  button.addEventListener("click", () => toggle());
  const onKey = (e) => {
    if (e.key === "Escape" && !panel.hidden) { toggle(false); button.focus(); }
  };
  const onOutside = (e) => { if (!panel.hidden && !el.contains(e.target)) toggle(false); };
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onOutside);
  notificationStore.addEventListener("change", render);
  const offLive = on("live:notification", (n) => notificationStore.added(n));
  // Missed while the WebSocket was down: read the list again.
  const offReopen = on("live:reopen", () => notificationStore.load().catch(() => {}));
  render();
  notificationStore.load().catch(showError);
  return {
    el,
    destroy() {
      offLive();
      offReopen();
      notificationStore.removeEventListener("change", render);
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("click", onOutside);
    },
  };
}
