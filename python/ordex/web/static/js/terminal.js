// The signed-in terminal: header (dashboards, market, widgets, theme, live status, account) and
// the dashboard canvas of widgets from the workspace API.
import { del, get, post, put } from "./api.js";
import { openAccountDialog } from "./account-settings.js";
import { openUsersDialog } from "./admin.js";
import { h, nextId, replaceChildren } from "./dom.js";
import { LayoutEditor } from "./layout.js";
import { PageRouter } from "./pages/router.js";
import { emit, LiveConnection, on } from "./live.js";
import { closeMarketSocket } from "./socketio.js";
import { mountBell } from "./notifications-bell.js";
import { mountWidget, WIDGETS } from "./widgets/index.js";

const DEFAULT_SIZE = { width: 420, height: 320 };
const GROUP_COLORS = [
  ["#2196F3", "Blue"], ["#4CAF50", "Green"], ["#FF9800", "Orange"], ["#F44336", "Red"],
  ["#9C27B0", "Purple"], ["#00BCD4", "Cyan"], ["#E91E63", "Pink"], ["transparent", "None"],
];

export class Terminal {
  constructor(root, user, onSignedOut) {
    this.root = root;
    this.user = user;
    this.onSignedOut = onSignedOut;
    this.settings = {};
    this.markets = [];
    this.groups = new Map();
    this.dashboards = [];
    this.dashboard = null;
    this.mounted = new Map(); // widget id -> {el, handle}
    this.layout = null;
    this.live = new LiveConnection((state) => this.setLive(state));
    this.offLive = on("live:any", (message) => {
      if (this.liveStatus) {
        this.liveStatus.dataset.lastType = message.type;
        this.liveStatus.title = `Last live message: ${message.type} at ${new Date().toLocaleTimeString()}`;
      }
    });
  }

  async start() {
    const [settings, markets, groups, dashboards] = await Promise.all([
      get("/api/settings"), get("/markets"), get("/api/groups"), get("/api/dashboards"),
    ]);
    this.settings = settings.data || {};
    this.markets = markets;
    this.groups = new Map(groups.data.map((g) => [g.id, g]));
    this.dashboards = dashboards.data;
    this.applyTheme(this.settings.theme === "light" ? "light" : "dark", false);
    this.renderShell();
    this.live.open();
    let active = this.dashboards.find((d) => d.id === this.settings.activeDashboardId)
      || this.dashboards.find((d) => d.isDefault) || this.dashboards[0];
    if (!active) active = await this.createDashboard("Main Dashboard");
    // A page named by the address shows at once; the dashboard loads behind it.
    const page = this.router.route();
    await this.openDashboard(active.id, false);
    await page;
  }

  stop() {
    this.offLive();
    if (this.router) this.router.stop();
    this.live.close();
    this.unmountAll();
    closeMarketSocket();
    if (this.bell) this.bell.destroy();
  }

  // --- header -------------------------------------------------------------------------------
  renderShell() {
    this.dashboardSelect = h("select", { id: "dashboard-select", name: "dashboard" });
    this.dashboardSelect.addEventListener("change", () => this.openDashboard(this.dashboardSelect.value, true));
    this.groupSelect = h("select", { id: "group-select", name: "group" });
    this.groupSelect.addEventListener("change", () => this.selectGroup(this.groupSelect.value));
    const groupName = h("input", { type: "text", id: "new-group-name", placeholder: "Name", required: true, maxLength: 100 });
    const groupColor = h("select", { id: "new-group-color" },
      GROUP_COLORS.map(([value, label]) => h("option", { value }, label)));
    const groupForm = h("form", { class: "inline-form", onsubmit: async (e) => {
      e.preventDefault();
      if (!groupName.value.trim()) return;
      await this.createGroup(groupName.value.trim(), groupColor.value);
      groupName.value = "";
      groupForm.closest("details").open = false;
    } }, h("label", { htmlFor: "new-group-name", class: "sr-only" }, "New group name"), groupName,
      h("label", { htmlFor: "new-group-color", class: "sr-only" }, "New group colour"), groupColor,
      h("button", { type: "submit" }, "Add group"));
    this.marketSelect = h("select", { id: "market-select", name: "market" });
    this.marketSelect.addEventListener("change", () => this.selectMarket(this.marketSelect.value));
    const typeSelect = h("select", { id: "widget-type", name: "widgetType" },
      Object.entries(WIDGETS).map(([type, w]) => h("option", { value: type }, w.title)));
    const addButton = h("button", { type: "button", onclick: () => this.addWidget(typeSelect.value) }, "Add widget");
    const newTitle = h("input", { type: "text", id: "new-dashboard-title", name: "title", placeholder: "Title", required: true, maxLength: 200 });
    const newForm = h("form", { class: "inline-form", onsubmit: async (e) => {
      e.preventDefault();
      if (!newTitle.value.trim()) return;
      const created = await this.createDashboard(newTitle.value.trim());
      newTitle.value = "";
      newForm.closest("details").open = false;
      await this.openDashboard(created.id, true);
    } }, h("label", { htmlFor: "new-dashboard-title", class: "sr-only" }, "New dashboard title"), newTitle,
      h("button", { type: "submit" }, "Create"));
    const extExchange = h("input", { type: "text", id: "ext-exchange", placeholder: "binance", required: true });
    const extSymbol = h("input", { type: "text", id: "ext-symbol", placeholder: "BTC/USDT", required: true });
    const extForm = h("form", { class: "inline-form", onsubmit: async (e) => {
      e.preventDefault();
      await this.selectInstrument(extExchange.value.trim().toLowerCase(), extSymbol.value.trim(), "spot");
      extForm.closest("details").open = false;
    } }, h("label", { htmlFor: "ext-exchange", class: "sr-only" }, "Exchange id"), extExchange,
      h("label", { htmlFor: "ext-symbol", class: "sr-only" }, "Symbol"), extSymbol,
      h("button", { type: "submit" }, "Watch"));
    this.themeButton = h("button", { type: "button", id: "theme-toggle", "aria-pressed": String(this.theme === "light"),
      onclick: () => this.applyTheme(this.theme === "light" ? "dark" : "light", true) }, "Light theme");
    this.liveStatus = h("span", { class: "live-status", role: "status", "aria-live": "polite", dataset: { state: "connecting" } }, "Connecting");
    this.layoutStatus = h("p", { id: "layout-status", class: "layout-status", role: "status", "aria-live": "polite" });
    const admin = this.user.role === "ADMIN"
      ? h("button", { type: "button", id: "users-button", onclick: openUsersDialog }, "Users") : null;
    const accountButton = h("button", { type: "button", id: "account-button", onclick: () => openAccountDialog(this.user) }, "Account");
    const signOut = h("button", { type: "button", id: "sign-out", onclick: () => this.signOut() }, "Sign out");
    this.canvas = h("main", { id: "canvas", class: "canvas", "aria-label": "Dashboard widgets" });
    this.hintId = nextId("hint");
    const header = h("header", { class: "topbar" },
      h("a", { class: "brand", href: "/app" }, "ordex"),
      h("div", { class: "field inline" }, h("label", { htmlFor: "dashboard-select" }, "Dashboard"), this.dashboardSelect),
      h("details", { class: "menu" }, h("summary", {}, "New dashboard"), newForm),
      h("div", { class: "field inline" }, h("label", { htmlFor: "group-select" }, "Group"), this.groupSelect),
      h("details", { class: "menu" }, h("summary", {}, "New group"), groupForm),
      h("div", { class: "field inline" }, h("label", { htmlFor: "market-select" }, "Market"), this.marketSelect),
      h("details", { class: "menu" }, h("summary", {}, "External market"), extForm),
      h("div", { class: "field inline" }, h("label", { htmlFor: "widget-type" }, "Widget"), typeSelect, addButton),
      h("div", { class: "spacer" }),
      (this.bell = mountBell()).el, this.liveStatus, this.themeButton, admin,
      h("span", { class: "who", title: this.user.role }, this.user.email), accountButton, signOut);
    replaceChildren(this.root, header, this.layoutStatus,
      h("p", { id: this.hintId, class: "sr-only" }, "Arrow keys move the widget; Shift with the arrow keys resizes it."),
      this.canvas);
    this.renderDashboardOptions();
    this.renderMarketOptions();
    this.router = new PageRouter(this, { header, canvas: this.canvas });
    // The canvas view's scale follows its width (window resizes, a scrollbar coming and going).
    // Next frame, not inside the callback: fit() changes the canvas height, which would loop.
    new ResizeObserver(() => requestAnimationFrame(() => this.layout && this.layout.fit())).observe(this.canvas);
  }

  renderDashboardOptions() {
    replaceChildren(this.dashboardSelect, this.dashboards.map((d) =>
      h("option", { value: d.id, selected: this.dashboard && d.id === this.dashboard.id }, d.title)));
  }

  selectedGroup() {
    return this.groups.get(this.settings.selectedGroupId) || this.groups.values().next().value || null;
  }

  groupLabel(group) {
    const instrument = this.instrumentOf({ groupId: group.id });
    return `${group.name} · ${instrument.label}`;
  }

  renderGroupOptions() {
    const selected = this.selectedGroup();
    replaceChildren(this.groupSelect, [...this.groups.values()].map((g) =>
      h("option", { value: g.id, selected: selected && g.id === selected.id }, this.groupLabel(g))));
  }

  async selectGroup(id) {
    this.settings.selectedGroupId = id;
    await put("/api/settings/selectedGroupId", { value: id });
    this.renderMarketOptions();
  }

  async createGroup(name, color) {
    const current = this.instrumentOf({ groupId: null });
    const { data } = await post("/api/groups", {
      name, color, exchange: current.exchange, tradingPair: current.symbol, market: current.marketType,
    });
    this.groups.set(data.id, data);
    await this.selectGroup(data.id);
    this.setLayoutStatus(`Group ${name} added`, "saved");
  }

  async linkWidget(widget, groupId) {
    const { data } = await put(`/api/widgets/${widget.id}`, { groupId: groupId || null });
    Object.assign(widget, data);
    this.remount(widget);
    this.setLayoutStatus(`Linked to ${groupId ? this.groups.get(groupId).name : "no group"}`, "saved");
  }

  renderMarketOptions() {
    this.renderGroupOptions();
    const group = this.selectedGroup();
    const options = this.markets.map((m) => h("option", { value: m.id }, `${m.id} (ordex)`));
    const current = this.instrumentOf({ groupId: group ? group.id : null });
    if (!current.marketId) {
      options.unshift(h("option", { value: "", disabled: true }, `${current.label} (watch only)`));
    }
    replaceChildren(this.marketSelect, options);
    this.marketSelect.value = current.marketId || "";
  }

  setLive(state) {
    if (!this.liveStatus) return;
    this.liveStatus.dataset.state = state;
    this.liveStatus.textContent = { live: "Live", connecting: "Connecting", offline: "Reconnecting" }[state] || state;
  }

  applyTheme(theme, save) {
    this.theme = theme;
    document.documentElement.dataset.theme = theme;
    if (this.themeButton) {
      this.themeButton.setAttribute("aria-pressed", String(theme === "light"));
    }
    emit("theme", theme);
    if (save) {
      this.themeButton.disabled = true;
      put("/api/settings/theme", { value: theme })
        .then(() => this.setLayoutStatus(`${theme === "light" ? "Light" : "Dark"} theme saved`, "saved"))
        .catch((err) => this.setLayoutStatus(`Theme not saved: ${err.message}`, "error"))
        .finally(() => { this.themeButton.disabled = false; });
    }
  }

  async signOut() {
    try { await post("/api/auth/logout"); } finally {
      this.stop();
      this.onSignedOut();
    }
  }

  // --- instruments ------------------------------------------------------------------------------
  findMarket(symbol) {
    if (!symbol) return null;
    return this.markets.find((m) => m.id === symbol || m.aliases.includes(symbol)) || null;
  }

  instrumentOf(widget) {
    const group = this.groups.get(widget.groupId) || this.selectedGroup();
    if (group && group.exchange && group.exchange !== "ordex" && group.tradingPair) {
      return {
        exchange: group.exchange, symbol: group.tradingPair, marketType: group.market || "spot",
        marketId: null, label: `${group.exchange} ${group.tradingPair}`, group,
      };
    }
    const m = this.findMarket(group && group.tradingPair) || this.markets[0];
    return {
      exchange: "ordex", symbol: m.id, marketType: m.kind === "PERP" ? "swap" : "spot",
      marketId: m.id, label: m.id, kind: m.kind, group,
    };
  }

  async selectMarket(marketId) {
    const m = this.findMarket(marketId);
    if (m) await this.selectInstrument("ordex", m.id, m.kind === "PERP" ? "swap" : "spot");
  }

  async selectInstrument(exchange, symbol, marketType) {
    const body = { exchange, tradingPair: symbol, market: marketType };
    let group = this.selectedGroup();
    if (group) group = (await put(`/api/groups/${group.id}`, body)).data;
    else {
      group = (await post("/api/groups", { name: "Default", ...body })).data;
      this.settings.selectedGroupId = group.id;
      await put("/api/settings/selectedGroupId", { value: group.id });
    }
    this.groups.set(group.id, group);
    this.renderMarketOptions();
    await this.renderWidgets();
  }

  // --- dashboards -------------------------------------------------------------------------------
  async createDashboard(title) {
    const { data } = await post("/api/dashboards", { title, layout: { gridStep: 10 } });
    this.dashboards.push(data);
    this.renderDashboardOptions();
    return data;
  }

  async openDashboard(id, remember) {
    // The latest choice wins: a dashboard picked while the first one still loads is not
    // overwritten when the earlier answer arrives late.
    const ticket = (this.openTicket = (this.openTicket || 0) + 1);
    const { data } = await get(`/api/dashboards/${id}`);
    if (ticket !== this.openTicket) return;
    this.dashboard = data;
    this.renderDashboardOptions();
    if (remember) {
      this.settings.activeDashboardId = id;
      await put("/api/settings/activeDashboardId", { value: id }).catch(() => {});
      if (ticket !== this.openTicket) return;
    }
    await this.renderWidgets();
  }

  unmountAll() {
    for (const { handle } of this.mounted.values()) handle.destroy();
    this.mounted.clear();
  }

  async renderWidgets() {
    // A market picked while the first dashboard still loads: its render shows the new choice.
    if (!this.dashboard) return;
    this.unmountAll();
    const step = Number((this.dashboard.layout || {}).gridStep) || 10;
    this.layout = new LayoutEditor({ step, canvas: this.canvas, onStatus: (text, state) => this.setLayoutStatus(text, state) });
    replaceChildren(this.canvas);
    document.documentElement.dataset.ready = "false";
    this.canvas.dataset.dashboardId = this.dashboard.id;
    performance.mark("ordex:widgets-start");
    // Top-to-bottom, left-to-right: the order the widgets stack in on a phone.
    const widgets = this.dashboard.widgets.filter((w) => w.isVisible)
      .sort((a, b) => a.position.y - b.position.y || a.position.x - b.position.x);
    const ready = widgets.map((w) => this.mountOne(w));
    await Promise.allSettled(ready);
    performance.mark("ordex:widgets-ready");
    document.documentElement.dataset.ready = "true";
  }

  remount(widget) {
    const old = this.mounted.get(widget.id);
    if (!old) return this.mountOne(widget);
    old.handle.destroy();
    this.mounted.delete(widget.id);
    this.layout.unregister(widget.id);
    return this.mountOne(widget, old.el);
  }

  mountOne(widget, replacing = null) {
    const titleId = nextId("wt");
    const instrument = this.instrumentOf(widget);
    // A widget made through the API without a title has its type as defaultTitle.
    const named = widget.defaultTitle && widget.defaultTitle !== widget.type ? widget.defaultTitle : null;
    const title = widget.userTitle || named || (WIDGETS[widget.type] || {}).title || widget.type;
    const marketish = ["chart", "orderbook", "trades", "markets", "pairs"].includes(widget.type);
    const group = instrument.group;
    const link = widget.showGroupSelector === false ? null : h("select", {
      class: "group-link", "aria-label": `Instrument group of ${title}`,
      onchange: (e) => this.linkWidget(widget, e.currentTarget.value),
    }, h("option", { value: "" }, "Selected group"),
    [...this.groups.values()].map((g) => h("option", { value: g.id, selected: g.id === widget.groupId }, g.name)));
    const remove = h("button", { type: "button", class: "ghost icon", "aria-label": `Remove ${title}`,
      onclick: () => this.removeWidget(widget.id) }, "×");
    const handle = h("header", {
      class: "widget-head", tabIndex: 0, "aria-roledescription": "movable widget",
      "aria-describedby": this.hintId, "aria-label": `Move or resize ${title}`,
    },
    h("span", { class: "group-dot", dataset: { color: group ? group.color : "transparent" }, "aria-hidden": "true" }),
    h("h2", { id: titleId }, title, marketish ? h("span", { class: "instrument" }, ` · ${instrument.label}`) : null),
    link, remove);
    const body = h("div", { class: "widget-body" });
    const resizer = h("div", { class: "resize-handle", "aria-hidden": "true" });
    const el = h("section", { class: "widget", "aria-labelledby": titleId, dataset: { widgetId: widget.id, type: widget.type } },
      handle, body, resizer);
    if (replacing) replacing.replaceWith(el);
    else this.canvas.append(el);
    this.layout.register(widget.id, el, widget.position, handle, resizer, title);
    this.layout.fit();
    let mounted;
    try {
      mounted = mountWidget(widget.type, body, widget, this);
    } catch (err) {
      body.textContent = err.message;
      mounted = { ready: Promise.resolve(), destroy() {} };
    }
    this.mounted.set(widget.id, { el, handle: mounted });
    return mounted.ready;
  }

  async addWidget(type) {
    const group = this.selectedGroup();
    const position = { x: 0, y: this.layout.bottom() + 10, ...DEFAULT_SIZE, zIndex: this.layout.topZ() + 1 };
    const { data } = await post("/api/widgets", {
      dashboardId: this.dashboard.id, type, defaultTitle: WIDGETS[type].title, position,
      ...(group ? { groupId: group.id } : {}),
    });
    this.dashboard.widgets.push(data);
    await this.mountOne(data);
    this.setLayoutStatus(`${WIDGETS[type].title} added`, "saved");
    const added = this.mounted.get(data.id);
    if (added) added.el.querySelector(".widget-head").focus();
  }

  async removeWidget(id) {
    await del(`/api/widgets/${id}`);
    const mounted = this.mounted.get(id);
    if (mounted) {
      mounted.handle.destroy();
      mounted.el.remove();
      this.mounted.delete(id);
    }
    this.layout.unregister(id);
    this.dashboard.widgets = this.dashboard.widgets.filter((w) => w.id !== id);
    this.setLayoutStatus("Widget removed", "saved");
  }

  setLayoutStatus(text, state) {
    this.layoutStatus.textContent = text;
    this.layoutStatus.dataset.state = state;
  }
}
