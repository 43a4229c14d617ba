// The notifications page: the whole list (all or unread), mark read, mark all read, delete, and the
// preferences that choose which events notify at all.
import { get, put } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { notificationItem, notificationStore } from "../notifications-bell.js";

const PAGE_SIZE = 50;
const PREFERENCES = [
  ["engine_start", "A trading session starts"],
  ["engine_stop", "A trading session stops"],
  ["trade_executed", "A trade is executed"],
  ["engine_error", "A session reports an error"],
];

async function mount(container) {
  const error = h("p", { class: "form-error", role: "alert" });
  const showError = (err) => { error.textContent = err.message; };
  const list = h("ul", { class: "notification-list page-list", "aria-label": "Notifications" });
  const summary = h("p", { class: "muted", role: "status" });
  const unreadOnly = h("input", { type: "checkbox", id: "notifications-unread-only" });
  let offset = 0;
  let total = 0;
  const more = h("button", { type: "button", onclick: () => load(offset + PAGE_SIZE) }, "Older");
  const newer = h("button", { type: "button", onclick: () => load(Math.max(0, offset - PAGE_SIZE)) }, "Newer");

  async function load(from = 0) {
    const query = `limit=${PAGE_SIZE}&offset=${from}${unreadOnly.checked ? "&unreadOnly=true" : ""}`;
    const result = await get(`/api/notifications?${query}`);
    offset = from;
    total = result.total;
    replaceChildren(list, result.notifications.length
      ? result.notifications.map((n) => notificationItem(n, showError))
      : h("li", { class: "empty" }, unreadOnly.checked ? "No unread notifications" : "No notifications"));
    summary.textContent = `${total} notification${total === 1 ? "" : "s"}, ${notificationStore.unread} unread`;
    newer.disabled = offset === 0;
    more.disabled = offset + PAGE_SIZE >= total;
  }
  unreadOnly.addEventListener("change", () => load(0).catch(showError));
  // The bell's store changes with every action and live arrival; the page reads its slice again.
  const reload = () => load(offset).catch(showError);
  notificationStore.addEventListener("change", reload);

  const prefs = h("fieldset", { class: "preferences" }, h("legend", {}, "Notify me when"));
  const prefStatus = h("p", { class: "muted", role: "status" });
  const boxes = new Map();
  for (const [key, label] of PREFERENCES) {
    const box = h("input", { type: "checkbox", id: `pref-${key}`, name: key });
    box.addEventListener("change", async () => {
      const body = Object.fromEntries([...boxes].map(([k, b]) => [k, b.checked]));
      for (const b of boxes.values()) b.disabled = true;
      try {
        await put("/api/profile/preferences", { notification_preferences: body });
        prefStatus.textContent = "Preferences saved";
      } catch (err) {
        box.checked = !box.checked;
        prefStatus.textContent = `Not saved: ${err.message}`;
      } finally {
        for (const b of boxes.values()) b.disabled = false;
      }
    });
    boxes.set(key, box);
    prefs.append(h("div", { class: "check" }, box, h("label", { htmlFor: box.id }, label)));
  }

  replaceChildren(container, h("div", { class: "defi-page" },
    h("div", { class: "page-head" },
      h("h1", {}, "Notifications"),
      h("button", { type: "button", id: "notifications-page-read-all",
        onclick: () => notificationStore.markAllRead().catch(showError) }, "Mark all read")),
    h("div", { class: "check" }, unreadOnly, h("label", { htmlFor: unreadOnly.id }, "Unread only")),
    summary, error, list, h("div", { class: "pager" }, newer, more),
    h("h2", {}, "Preferences"), prefs, prefStatus));

  const [{ notification_preferences: current }] = await Promise.all([
    get("/api/profile/preferences"), load(0),
  ]);
  for (const [key, box] of boxes) box.checked = current[key] !== false;
  return { destroy() { notificationStore.removeEventListener("change", reload); } };
}

export const page = { id: "notifications", title: "Notifications", path: "/notifications", order: 60, mount };
