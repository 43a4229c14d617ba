// The shell's page navigation: a nav of the registered pages under the header and one page at a
// time in a host next to the dashboard canvas, chosen by the location hash (`#/flows/<id>`).
import { h, replaceChildren } from "../dom.js";
import { matchRoute, pages } from "./index.js";

export class PageRouter {
  constructor(terminal, { header, canvas, afterCanvas }) {
    this.terminal = terminal;
    this.canvas = canvas;
    this.current = null; // {page, params, handle, key}
    this.host = h("main", { id: "page", class: "page-host", tabIndex: -1, hidden: true });
    this.links = new Map();
    this.nav = h("nav", { class: "page-nav", "aria-label": "Pages" },
      h("ul", {}, pages().map((page) => {
        const link = h("a", { href: `#${page.path}`, dataset: { pageId: page.id } }, page.title);
        this.links.set(page.id, link);
        return h("li", {}, link);
      })));
    header.after(this.nav);
    (afterCanvas || canvas).after(this.host);
    // A page reached through a link takes the focus, so keyboard and screen-reader users land
    // on it rather than staying in the navigation.
    this.onHash = () => this.route().then(() => {
      if (!this.host.hidden && !this.host.contains(document.activeElement)) this.host.focus({ preventScroll: true });
    });
    window.addEventListener("hashchange", this.onHash);
  }

  navigate(path) {
    if (location.hash === `#${path}`) this.route(true);
    else location.hash = path;
  }

  async route(force = false) {
    const hash = location.hash;
    // In-page anchors (the skip link's `#canvas`) are not routes.
    if (hash && !hash.startsWith("#/")) return;
    const match = matchRoute(hash) || matchRoute("#/");
    const key = `${match.page.id}:${match.params.join("/")}`;
    if (!force && this.current && this.current.key === key) return;
    this.unmountCurrent();
    const { page, params } = match;
    document.documentElement.dataset.page = page.id;
    for (const [id, link] of this.links) {
      if (id === page.id) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    const onDashboard = page.id === "dashboard";
    this.canvas.hidden = !onDashboard;
    this.host.hidden = onDashboard;
    document.title = onDashboard ? "ordex terminal" : `${page.title} · ordex terminal`;
    const current = { page, params, key, handle: null, gone: false };
    this.current = current;
    if (onDashboard) return;
    const section = h("section", { class: "page", dataset: { page: page.id }, "aria-label": page.title });
    replaceChildren(this.host, section);
    try {
      const handle = await page.mount(section, {
        terminal: this.terminal, user: this.terminal.user, params, navigate: (path) => this.navigate(path),
      });
      if (current.gone) handle?.destroy?.();
      else current.handle = handle || null;
    } catch (err) {
      if (err.status === 401) return;
      replaceChildren(section, h("p", { class: "form-error", role: "alert" }, `This page could not load: ${err.message}`));
    }
  }

  unmountCurrent() {
    if (!this.current) return;
    this.current.gone = true;
    try { this.current.handle?.destroy?.(); } catch { /* a page's cleanup never blocks the next one */ }
    this.current = null;
  }

  stop() {
    window.removeEventListener("hashchange", this.onHash);
    this.unmountCurrent();
    delete document.documentElement.dataset.page;
  }
}
