// Flows: the list (create, open, delete) at `#/flows` and the editor at `#/flows/<id>` with its
// settings, node panel, versions and paper runs.
import { del, get, post, put } from "../api.js";
import { h, replaceChildren, table, time } from "../dom.js";
import { canvasHelp, edgePanel, FlowCanvas, nodePanel } from "./flow-editor.js";
import { NODE_TYPES } from "./flow-nodes.js";

const DEFAULT_SETTINGS = {
  exchange: "binance", symbol: "BTC/USDT", timeframe: "1h", initialCapital: 10000,
  feeBps: 10, slippageBps: 5, direction: "long", maxEntries: 1,
};

// New flows start from a template the evaluator accepts (a flow is validated on create).
const TEMPLATES = {
  starter: {
    title: "Starter: buy on the first candle close",
    nodes: [
      { id: "t", type: "trigger.candle_close", params: { timeframe: "1h" }, position: { x: 20, y: 40 } },
      { id: "buy", type: "action.buy", params: { orderType: "market", size: { mode: "pct_equity", value: 0.5 } }, position: { x: 560, y: 60 } },
    ],
    edges: [{ id: "e1", source: "t", sourceHandle: "tick", target: "buy", targetHandle: "when" }],
  },
  rsi: {
    title: "RSI reversal with a stop loss",
    nodes: [
      { id: "t", type: "trigger.candle_close", params: { timeframe: "1h" }, position: { x: 20, y: 40 } },
      { id: "rsi", type: "indicator.rsi", params: { period: 14 }, position: { x: 250, y: 40 } },
      { id: "lt", type: "logic.compare", params: { op: "<", b: 30 }, position: { x: 480, y: 20 } },
      { id: "gt", type: "logic.compare", params: { op: ">", b: 70 }, position: { x: 480, y: 180 } },
      { id: "sl", type: "risk.stop_loss", params: { pct: 0.02 }, position: { x: 480, y: 340 } },
      { id: "buy", type: "action.buy", params: { orderType: "market", size: { mode: "pct_equity", value: 0.5 } }, position: { x: 720, y: 40 } },
      { id: "exit", type: "action.close", params: { orderType: "market" }, position: { x: 720, y: 220 } },
    ],
    edges: [
      { id: "e1", source: "t", sourceHandle: "close", target: "rsi", targetHandle: "source" },
      { id: "e2", source: "rsi", sourceHandle: "value", target: "lt", targetHandle: "a" },
      { id: "e3", source: "rsi", sourceHandle: "value", target: "gt", targetHandle: "a" },
      { id: "e4", source: "lt", sourceHandle: "out", target: "buy", targetHandle: "when" },
      { id: "e5", source: "sl", sourceHandle: "out", target: "buy", targetHandle: "risk" },
      { id: "e6", source: "gt", sourceHandle: "out", target: "exit", targetHandle: "when" },
    ],
  },
};

function status(el, text, state) {
  el.textContent = text;
  el.className = `form-status ${state || ""}`;
}

// --- the list ----------------------------------------------------------------------------------
async function mountList(container, ctx) {
  const list = h("div", { class: "page-block" });
  const note = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
  const name = h("input", { type: "text", id: "new-flow-name", required: true, maxLength: 200, placeholder: "My strategy" });
  const template = h("select", { id: "new-flow-template" },
    Object.entries(TEMPLATES).map(([key, t]) => h("option", { value: key }, t.title)));
  const form = h("form", { class: "stack-form", "aria-label": "New flow", onsubmit: async (e) => {
    e.preventDefault();
    const t = TEMPLATES[template.value];
    try {
      const flow = await post("/api/flows", {
        name: name.value.trim(), settings: { ...DEFAULT_SETTINGS },
        nodes: structuredClone(t.nodes), edges: structuredClone(t.edges),
      });
      ctx.navigate(`/flows/${flow.id}`);
    } catch (err) {
      status(note, err.message, "error");
    }
  } },
  h("div", { class: "field" }, h("label", { htmlFor: "new-flow-name" }, "Name"), name),
  h("div", { class: "field" }, h("label", { htmlFor: "new-flow-template" }, "Start from"), template),
  h("button", { type: "submit", class: "primary" }, "Create flow"));

  async function load() {
    const [{ flows }, live] = await Promise.all([get("/api/flows"), get("/api/dashboard/multi-flow").catch(() => null)]);
    const perf = new Map(((live && live.flows) || []).map((r) => [r.id, r]));
    const run = (f) => perf.get(f.id) || {};
    const agg = live && live.aggregate;
    replaceChildren(list, agg ? h("p", { class: "muted flows-aggregate" },
      `Running ${agg.runningFlows} · PnL ${agg.totalPnl} (${agg.totalPnlPct}%) · trades ${agg.totalTrades} · `
      + `open positions ${agg.totalOpenPositions}${agg.errorFlows ? ` · ${agg.errorFlows} with errors` : ""}`) : null, table([
      { label: "Name", cell: (f) => h("a", { href: `#/flows/${f.id}` }, f.name) },
      { label: "Status", cell: (f) => run(f).status || f.status },
      { label: "Run PnL", num: true, cell: (f) => (run(f).executionId ? `${run(f).pnl} (${run(f).pnlPct}%)` : "—") },
      { label: "Run trades", num: true, cell: (f) => (run(f).executionId ? run(f).tradeCount : "—") },
      { label: "Nodes", num: true, cell: (f) => f.nodes.length },
      { label: "Market", cell: (f) => `${f.settings.exchange || "?"} ${f.settings.symbol || ""} ${f.settings.timeframe || ""}` },
      { label: "Updated", cell: (f) => new Date(f.updated_at).toLocaleString() },
      { label: "Actions", cell: (f) => deleteButton(f) },
    ], flows, { caption: "Your flows", empty: "No flows yet: create one above", rowProps: (f) => ({ dataset: { flowId: f.id } }) }));
  }

  function deleteButton(flow) {
    // Two steps: deleting takes every saved version with it.
    const button = h("button", { type: "button", class: "small danger", "aria-label": `Delete ${flow.name}` }, "Delete");
    button.addEventListener("click", async () => {
      if (button.dataset.confirm !== "yes") {
        button.dataset.confirm = "yes";
        button.textContent = "Confirm delete";
        return;
      }
      try {
        await del(`/api/flows/${flow.id}`);
        status(note, `Deleted ${flow.name}`, "ok");
        await load();
      } catch (err) {
        status(note, err.message, "error");
      }
    });
    return button;
  }

  replaceChildren(container, h("h1", {}, "Flows"), form, note, list);
  await load();
}

// --- the editor --------------------------------------------------------------------------------
class FlowEditor {
  constructor(container, ctx, id) {
    this.container = container;
    this.ctx = ctx;
    this.id = id;
    this.dirty = false;
    this.timers = [];
  }

  async mount() {
    const flow = await get(`/api/flows/${this.id}`);
    this.setDoc(flow);
    this.status = h("p", { class: "form-status", role: "status", "aria-live": "polite", id: "flow-status" });
    this.panel = h("aside", { class: "flow-panel", "aria-label": "Selected node" });
    this.canvas = new FlowCanvas({
      doc: this.doc,
      onChange: () => this.markDirty(),
      onSelect: () => this.renderPanel(),
      onStatus: (text, state) => status(this.status, text, state),
    });
    const typeSelect = h("select", { id: "add-node-type" },
      ["trigger", "indicator", "logic", "action", "risk"].map((group) => h("optgroup", { label: group },
        NODE_TYPES.filter((t) => t.group === group).map((t) => h("option", { value: t.type }, `${t.title} (${t.type})`)))));
    this.saveButton = h("button", { type: "button", class: "primary", onclick: () => this.save() }, "Save");
    this.title = h("h1", {}, this.doc.name);
    const toolbar = h("div", { class: "flow-toolbar" },
      h("a", { href: "#/flows" }, "← Flows"), this.title,
      h("div", { class: "field inline" }, h("label", { htmlFor: "add-node-type" }, "Node"), typeSelect,
        h("button", { type: "button", onclick: () => this.canvas.addNode(typeSelect.value) }, "Add node")),
      this.saveButton,
      h("a", { href: `#/backtests/new/${this.id}` }, "Backtest"));
    this.versions = h("section", { class: "page-block", "aria-labelledby": "versions-title" });
    this.runs = h("section", { class: "page-block", "aria-labelledby": "runs-title" });
    replaceChildren(this.container, toolbar, this.status, canvasHelp(),
      h("div", { class: "flow-workspace" }, this.canvas.el, this.panel),
      h("div", { class: "flow-extras" }, this.versions, this.runs));
    this.canvas.render(); // ports are measured once in the document
    this.renderPanel();
    this.onKey = (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        this.save();
      }
    };
    window.addEventListener("keydown", this.onKey);
    this.onResize = () => this.canvas.drawEdges();
    window.addEventListener("resize", this.onResize);
    // Closing or reloading the tab with unsaved edits asks first.
    this.onUnload = (e) => {
      if (this.dirty) e.preventDefault();
    };
    window.addEventListener("beforeunload", this.onUnload);
    await Promise.all([this.loadVersions(), this.loadRuns()]);
    this.container.dataset.ready = "true";
    return this;
  }

  destroy() {
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("resize", this.onResize);
    window.removeEventListener("beforeunload", this.onUnload);
  }

  setDoc(flow) {
    this.flow = flow;
    const doc = {
      name: flow.name, description: flow.description, schemaVersion: flow.schemaVersion,
      settings: { ...flow.settings }, nodes: structuredClone(flow.nodes), edges: structuredClone(flow.edges),
    };
    // Nodes saved by other clients may have no position: lay them out in a grid.
    doc.nodes.forEach((n, i) => {
      if (!n.position || typeof n.position.x !== "number") n.position = { x: 20 + (i % 4) * 230, y: 20 + Math.floor(i / 4) * 200 };
    });
    if (this.doc) {
      Object.assign(this.doc, doc);
      this.canvas.doc = this.doc;
    } else this.doc = doc;
  }

  markDirty() {
    this.dirty = true;
    this.saveButton.textContent = "Save*";
    this.container.dataset.dirty = "true";
  }

  renderPanel() {
    const sel = this.canvas.selection;
    const node = sel && sel.node ? this.canvas.node(sel.node) : null;
    const edge = sel && sel.edge ? this.doc.edges.find((e) => e.id === sel.edge) : null;
    if (node) replaceChildren(this.panel, nodePanel(this.canvas, node, { onChange: () => this.markDirty() }));
    else if (edge) replaceChildren(this.panel, edgePanel(this.canvas, edge));
    else replaceChildren(this.panel, this.settingsForm());
  }

  settingsForm() {
    const s = this.doc.settings;
    const field = (key, label, input) => h("div", { class: "field" }, h("label", { htmlFor: `flow-${key}` }, label), input);
    const text = (key, value, onValue, props = {}) => h("input", { type: "text", id: `flow-${key}`, value: value ?? "",
      ...props, oninput: (e) => { onValue(e.currentTarget.value); this.markDirty(); } });
    const number = (key) => h("input", { type: "number", step: "any", id: `flow-${key}`, value: s[key] ?? "",
      oninput: (e) => {
        const v = e.currentTarget.value;
        if (v === "") delete s[key];
        else s[key] = Number(v);
        this.markDirty();
      } });
    const select = (key, options) => h("select", { id: `flow-${key}`, onchange: (e) => { s[key] = e.currentTarget.value; this.markDirty(); } },
      options.map((o) => h("option", { value: o, selected: s[key] === o }, o)));
    return h("div", { class: "node-panel" },
      h("h3", {}, "Flow settings"),
      h("p", { class: "empty" }, "Select a node to edit it."),
      field("name", "Name", text("name", this.doc.name, (v) => { this.doc.name = v; this.title.textContent = v; }, { maxLength: 200 })),
      field("description", "Description", text("description", this.doc.description, (v) => { this.doc.description = v || null; })),
      field("exchange", "Exchange", text("exchange", s.exchange, (v) => { s.exchange = v.trim(); })),
      field("symbol", "Symbol", text("symbol", s.symbol, (v) => { s.symbol = v.trim(); })),
      field("timeframe", "Timeframe", select("timeframe", ["1m", "5m", "15m", "30m", "1h", "4h", "1d"])),
      field("initialCapital", "Initial capital", number("initialCapital")),
      field("feeBps", "Fee (bps)", number("feeBps")),
      field("slippageBps", "Slippage (bps)", number("slippageBps")),
      field("direction", "Direction", select("direction", ["long", "short", "both"])),
      field("maxEntries", "Max entries", number("maxEntries")));
  }

  body() {
    const { name, description, schemaVersion, settings, nodes, edges } = this.doc;
    return { name, description: description || null, schemaVersion, settings, nodes, edges };
  }

  async save() {
    this.saveButton.disabled = true;
    try {
      const flow = await put(`/api/flows/${this.id}`, this.body());
      this.setDoc(flow);
      this.dirty = false;
      this.saveButton.textContent = "Save";
      delete this.container.dataset.dirty;
      this.canvas.setProblem(null);
      this.renderPanel();
      status(this.status, "Saved", "ok");
      return true;
    } catch (err) {
      const details = err.details && typeof err.details === "object" ? err.details : null;
      if (details && details.node) {
        this.canvas.setProblem({ ...details, message: err.message });
        if (this.canvas.node(details.node)) this.canvas.select({ node: details.node });
        else this.renderPanel();
      }
      status(this.status, `Not saved: ${err.message}`, "error");
      this.status.setAttribute("role", "alert");
      return false;
    } finally {
      this.saveButton.disabled = false;
    }
  }

  // --- versions ---------------------------------------------------------------------------------
  async loadVersions() {
    const { versions } = await get(`/api/flows/${this.id}/versions`);
    const note = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    const description = h("input", { type: "text", id: "version-description", maxLength: 2000, placeholder: "What changed" });
    const form = h("form", { class: "inline-form", "aria-label": "Save a version", onsubmit: async (e) => {
      e.preventDefault();
      if (this.dirty && !(await this.save())) return;
      try {
        const v = await post(`/api/flows/${this.id}/versions`, { description: description.value.trim() || null });
        await this.loadVersions();
        status(this.versions.querySelector(".form-status"), `Saved version ${v.version}`, "ok");
      } catch (err) {
        status(note, err.message, "error");
      }
    } }, h("label", { htmlFor: "version-description", class: "sr-only" }, "Version description"), description,
    h("button", { type: "submit" }, "Save version"));
    const rows = versions.map((v) => h("li", { dataset: { version: v.version } },
      h("strong", {}, `v${v.version}`), " ", v.change_description || "", " ",
      h("span", { class: "muted" }, `${v.node_count} nodes · ${new Date(v.created_at).toLocaleString()}`), " ",
      h("button", { type: "button", class: "small", "aria-label": `Restore version ${v.version}`,
        onclick: () => this.restore(v, note) }, "Restore")));
    replaceChildren(this.versions, h("h2", { id: "versions-title" }, "Versions"), form, note,
      rows.length ? h("ol", { class: "version-list" }, rows) : h("p", { class: "empty" }, "No saved versions"));
  }

  async restore(version, note) {
    try {
      await post(`/api/flows/${this.id}/versions/${version.id}/restore`);
      const flow = await get(`/api/flows/${this.id}`);
      this.setDoc(flow);
      this.dirty = false;
      this.saveButton.textContent = "Save";
      this.canvas.problem = null;
      this.canvas.select(null);
      this.canvas.render();
      await this.loadVersions();
      status(this.versions.querySelector(".form-status"), `Restored version ${version.version}`, "ok");
    } catch (err) {
      status(note, err.message, "error");
    }
  }

  // --- paper runs -------------------------------------------------------------------------------
  async loadRuns() {
    const [{ sessions }, performance] = await Promise.all([
      get("/api/v1/trade/sessions?limit=100"), get(`/api/flows/${this.id}/performance`).catch(() => null),
    ]);
    const mine = sessions.filter((s) => s.flow_id === this.id);
    // The evaluator's view of each running execution: its last candle and open positions.
    const live = new Map(await Promise.all(mine.filter((s) => s.status !== "STOPPED").map((s) =>
      get(`/api/engine/status?executionId=${s.id}`).then((st) => [s.id, st]).catch(() => [s.id, null]))));
    const note = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    const start = h("button", { type: "button", onclick: async () => {
      start.disabled = true;
      try {
        if (this.dirty && !(await this.save())) return;
        const run = await post(`/api/flows/${this.id}/executions`, { mode: "PAPER" });
        await this.loadRuns();
        status(this.runs.querySelector(".form-status"), `Paper run started on ${run.exchange} ${run.symbol}`, "ok");
      } catch (err) {
        status(note, err.message, "error");
      } finally {
        start.disabled = false;
      }
    } }, "Start paper run");
    const stop = async (s) => {
      try {
        await post(`/api/flows/${this.id}/executions/${s.id}/stop`);
        await this.loadRuns();
        status(this.runs.querySelector(".form-status"), "Run stopped", "ok");
      } catch (err) {
        status(note, err.message, "error");
      }
    };
    const m = performance || {};
    const summary = performance ? h("p", { class: "muted" },
      `All runs: PnL ${m.pnl ?? 0} (${m.pnlPercent ?? 0}%) · closed trades ${m.totalTrades ?? 0} · win rate ${Math.round((m.winRate || 0) * 100)}%`) : null;
    replaceChildren(this.runs, h("h2", { id: "runs-title" }, "Runs"), start, note, summary,
      table([
        { label: "Started", cell: (s) => time(s.started_at) },
        { label: "Market", cell: (s) => `${s.exchange} ${s.symbol}` },
        { label: "Mode", cell: (s) => s.mode },
        { label: "Status", cell: (s) => s.status },
        { label: "PnL", num: true, cell: (s) => s.total_pnl },
        { label: "Trades", num: true, cell: (s) => s.total_trades },
        { label: "Bars", num: true, cell: (s) => (live.get(s.id) ? live.get(s.id).currentTick : "—") },
        { label: "Last candle", cell: (s) => {
          const st = live.get(s.id);
          if (!st) return "—";
          const last = st.lastCandleAt ? time(st.lastCandleAt) : "—";
          return st.lastError ? h("span", { class: "pnl-down", title: st.lastError }, `${last} · ${st.errorCount} errors`) : last;
        } },
        { label: "", cell: (s) => (s.status === "STOPPED" ? null
          : h("button", { type: "button", class: "small danger", onclick: () => stop(s) }, "Stop")) },
      ], mine, { caption: "Runs of this flow", empty: "Not run yet", rowProps: (s) => ({ dataset: { sessionId: s.id, status: s.status } }) }));
  }
}

export const page = {
  id: "flows",
  title: "Flows",
  path: "/flows",
  order: 10,
  async mount(container, ctx) {
    if (ctx.params[0]) return new FlowEditor(container, ctx, ctx.params[0]).mount();
    await mountList(container, ctx);
    return null;
  },
};
