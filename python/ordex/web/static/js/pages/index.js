// The terminal's pages: a registry the shell's navigation is built from, and hash routing
// (`#/flows`, `#/flows/<id>`, ...). The dashboard of widgets is the page at `#/` (or no hash).
//
// To add a page:
//   1. create `pages/<name>.js` exporting `page`:
//        export const page = {
//          id: "notifications",          // unique; also `data-page` on <html> while it is shown
//          title: "Notifications",       // the navigation link's text and the page heading
//          path: "/notifications",       // the hash route; `#/notifications/<a>/<b>` gives params ["a", "b"]
//          order: 60,                     // position in the navigation (lower first)
//          mount(container, ctx) { ... return { destroy() {} }; },  // may be async
//        };
//      `container` is an empty <section> to fill; `ctx` is { terminal, user, params, navigate(path) }.
//      `destroy()` (optional) runs when the person leaves the page: close sockets, clear timers.
//   2. import it below and add it to PAGE_MODULES (one line each); nothing else changes.
import { page as backtests } from "./backtests.js";
import { page as decisions } from "./decisions.js";
import { page as flows } from "./flows.js";
import { page as notifications } from "./notifications.js";
import { page as assistant } from "./assistant.js";
import { page as indexer } from "./indexer.js";
import { page as droids } from "./droids.js";
import { page as sessions } from "./sessions.js";

const registry = [];

export function registerPage(page) {
  if (!page || !page.id || !page.path || !page.title) throw new Error("A page needs id, title and path");
  if (page.id !== "dashboard" && typeof page.mount !== "function") throw new Error(`Page ${page.id} has no mount()`);
  if (registry.some((p) => p.id === page.id || p.path === page.path)) throw new Error(`Page ${page.id} is registered twice`);
  registry.push({ order: 100, ...page });
  registry.sort((a, b) => a.order - b.order);
}

export function pages() {
  return registry.slice();
}

// `#/flows/abc` -> { page: flows, params: ["abc"] }; the longest registered path wins.
export function matchRoute(hash) {
  const path = (hash || "").replace(/^#/, "") || "/";
  const decode = (part) => {
    try { return decodeURIComponent(part); } catch { return part; } // a stray "%" is kept as typed
  };
  const parts = path.split("/").filter(Boolean).map(decode);
  let best = null;
  for (const page of registry) {
    const own = page.path.split("/").filter(Boolean);
    if (own.length > parts.length || own.some((part, i) => part !== parts[i])) continue;
    if (!best || own.length > best.own.length) best = { page, own };
  }
  if (!best) return null;
  return { page: best.page, params: parts.slice(best.own.length) };
}

// The widget dashboard stays the terminal's own canvas: the router shows it instead of mounting.
registerPage({ id: "dashboard", title: "Dashboard", path: "/", order: 0, mount: null });

const PAGE_MODULES = [
  flows,
  backtests,
  sessions,
  decisions,
  notifications,
  assistant,
  indexer,
  droids,
];
for (const page of PAGE_MODULES) registerPage(page);
