// Trading sessions: start one (paper or live, optionally driven by a flow), pause, resume and
// stop it, and read its statistics, orders and positions. `#/sessions/<id>` opens one.
import { get, post } from "../api.js";
import { h, replaceChildren, table, time } from "../dom.js";

const REFRESH_MS = 10_000;
const fmt = (v, digits = 2) => (v === null || v === undefined ? "—"
  : typeof v === "number" ? v.toLocaleString(undefined, { maximumFractionDigits: digits }) : String(v));
const signed = (v) => h("span", { class: v > 0 ? "pnl-up" : v < 0 ? "pnl-down" : "" }, fmt(v));

class SessionsPage {
  constructor(container, ctx) {
    this.container = container;
    this.ctx = ctx;
    this.selected = ctx.params[0] || null;
    this.filter = "";
  }

  async mount() {
    const { flows } = await get("/api/flows");
    this.flows = flows;
    this.note = h("p", { class: "form-status", role: "status", "aria-live": "polite", id: "sessions-status" });
    this.list = h("section", { class: "page-block", "aria-labelledby": "sessions-title" });
    this.detail = h("section", { class: "page-block session-detail", "aria-label": "Session details", hidden: true });
    replaceChildren(this.container, h("h1", {}, "Trading sessions"), this.form(), this.note, this.list, this.detail);
    await this.refresh();
    this.timer = setInterval(() => this.refresh().catch(() => {}), REFRESH_MS);
    return this;
  }

  destroy() {
    clearInterval(this.timer);
  }

  say(text, state) {
    this.note.textContent = text;
    this.note.className = `form-status ${state}`;
  }

  form() {
    const field = (el, text) => h("div", { class: "field" }, h("label", { htmlFor: el.id }, text), el);
    const symbol = h("input", { id: "session-symbol", type: "text", required: true, value: "BTC/USDT" });
    const exchange = h("input", { id: "session-exchange", type: "text", placeholder: "the server's default" });
    const capital = h("input", { id: "session-capital", type: "number", step: "any", min: "0", required: true, value: "10000" });
    const mode = h("select", { id: "session-mode" }, h("option", { value: "PAPER" }, "Paper"), h("option", { value: "LIVE" }, "Live"));
    const market = h("select", { id: "session-market" }, ["spot", "margin", "swap", "future"].map((m) => h("option", { value: m }, m)));
    const flow = h("select", { id: "session-flow" }, h("option", { value: "" }, "None (manual)"),
      this.flows.map((f) => h("option", { value: f.id }, f.name)));
    const start = h("button", { type: "submit", class: "primary" }, "Start session");
    return h("form", { class: "stack-form page-block", "aria-label": "Start a session", onsubmit: async (e) => {
      e.preventDefault();
      const body = { symbol: symbol.value.trim(), initial_capital: capital.value, mode: mode.value, market_type: market.value };
      if (exchange.value.trim()) body.exchange = exchange.value.trim().toLowerCase();
      if (flow.value) body.flow_id = flow.value;
      start.disabled = true;
      try {
        const started = await post("/api/v1/trade/start", body);
        this.selected = started.session_id;
        this.say(`Started ${started.mode} session on ${started.exchange} ${started.symbol}`, "ok");
        await this.refresh();
      } catch (err) {
        this.say(err.message, "error");
      } finally {
        start.disabled = false;
      }
    } }, field(symbol, "Symbol"), field(exchange, "Exchange"), field(capital, "Initial capital"),
    field(mode, "Mode"), field(market, "Market type"), field(flow, "Flow"), start);
  }

  async refresh() {
    const query = this.filter ? `&status=${this.filter}` : "";
    const { sessions } = await get(`/api/v1/trade/sessions?limit=100${query}`);
    this.sessions = sessions;
    this.renderList();
    if (this.selected) await this.renderDetail();
  }

  async act(action, session) {
    try {
      const answer = await post(`/api/v1/trade/${action}`, { session_id: session.id });
      this.say(`${answer.message} (${session.symbol})`, "ok");
      await this.refresh();
    } catch (err) {
      this.say(err.message, "error");
    }
  }

  renderList() {
    const filter = h("select", { id: "sessions-filter", onchange: (e) => { this.filter = e.currentTarget.value; this.refresh(); } },
      [["", "All"], ["RUNNING", "Running"], ["PAUSED", "Paused"], ["STOPPED", "Stopped"]]
        .map(([v, t]) => h("option", { value: v, selected: this.filter === v }, t)));
    const actions = (s) => {
      const button = (action, label) => h("button", { type: "button", class: `small${action === "stop" ? " danger" : ""}`,
        "aria-label": `${label} session ${s.symbol} ${time(s.started_at)}`, onclick: () => this.act(action, s) }, label);
      return h("span", { class: "row-actions" },
        h("a", { href: `#/sessions/${s.id}`, "aria-label": `Details of session ${s.symbol} ${time(s.started_at)}` }, "Details"), " ",
        s.status === "RUNNING" ? button("pause", "Pause") : null,
        s.status === "PAUSED" ? button("resume", "Resume") : null,
        s.status !== "STOPPED" ? button("stop", "Stop") : null);
    };
    const flowName = (id) => (id ? (this.flows.find((f) => f.id === id) || {}).name || "flow" : "—");
    replaceChildren(this.list,
      h("div", { class: "inline-form" }, h("h2", { id: "sessions-title" }, "Sessions"),
        h("label", { htmlFor: "sessions-filter" }, "Show"), filter,
        h("button", { type: "button", class: "small", onclick: () => this.refresh() }, "Refresh")),
      table([
        { label: "Started", cell: (s) => new Date(s.started_at).toLocaleString() },
        { label: "Mode", cell: (s) => `${s.mode} · ${s.venue}` },
        { label: "Market", cell: (s) => `${s.exchange} ${s.symbol}` },
        { label: "Flow", cell: (s) => flowName(s.flow_id) },
        { label: "Status", cell: (s) => h("span", { class: "session-status" }, s.status) },
        { label: "Capital", num: true, cell: (s) => fmt(s.initial_capital) },
        { label: "PnL", num: true, cell: (s) => signed(s.total_pnl) },
        { label: "Trades", num: true, cell: (s) => s.total_trades },
        { label: "Actions", cell: actions },
      ], this.sessions, {
        caption: "Trading sessions", empty: "No sessions",
        rowProps: (s) => ({ class: s.id === this.selected ? "selected" : "", dataset: { sessionId: s.id, status: s.status } }),
      }));
  }

  async renderDetail() {
    const id = this.selected;
    let session;
    try {
      ({ session } = await get(`/api/v1/trade/sessions/${id}`));
    } catch (err) {
      replaceChildren(this.detail, h("p", { class: "form-status error", role: "alert" }, err.message));
      this.detail.hidden = false;
      return;
    }
    const [{ orders }, { positions }] = await Promise.all([
      get(`/api/v1/orders?session_id=${id}&limit=100`), get(`/api/v1/positions?session_id=${id}`),
    ]);
    if (this.selected !== id) return;
    const stats = [
      ["Status", session.status], ["Initial capital", fmt(session.initial_capital)], ["Capital now", fmt(session.final_capital)],
      ["PnL", signed(session.total_pnl)], ["Trades", session.total_trades],
      ["Won / lost", `${session.winning_trades} / ${session.losing_trades}`],
      ["Max drawdown", `${fmt(session.max_drawdown)} (${fmt(session.max_drawdown_percent)}%)`],
      ["Sharpe", fmt(session.sharpe_ratio)],
    ];
    replaceChildren(this.detail,
      h("h2", {}, `${session.mode} ${session.exchange} ${session.symbol}`),
      h("dl", { class: "metrics" }, stats.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
      h("div", { class: "split" },
        h("div", {}, h("h3", {}, "Positions"), table([
          { label: "Symbol", cell: (p) => p.symbol },
          { label: "Side", cell: (p) => p.side },
          { label: "Qty", num: true, cell: (p) => fmt(p.quantity, 8) },
          { label: "Entry", num: true, cell: (p) => fmt(p.entry_price, 8) },
          { label: "Exit", num: true, cell: (p) => fmt(p.exit_price, 8) },
          { label: "Realized", num: true, cell: (p) => signed(p.realized_pnl) },
          { label: "Unrealized", num: true, cell: (p) => signed(p.unrealized_pnl) },
        ], positions, { caption: "Positions of the session", empty: "No positions" })),
        h("div", {}, h("h3", {}, "Orders"), table([
          { label: "Placed", cell: (o) => time(o.placed_at) },
          { label: "Side", cell: (o) => o.side },
          { label: "Type", cell: (o) => o.type },
          { label: "Qty", num: true, cell: (o) => fmt(o.quantity, 8) },
          { label: "Price", num: true, cell: (o) => fmt(o.price, 8) },
          { label: "Filled", num: true, cell: (o) => fmt(o.executed_quantity, 8) },
          { label: "Status", cell: (o) => o.status },
        ], orders, { caption: "Orders of the session", empty: "No orders" }))));
    this.detail.dataset.sessionId = id;
    this.detail.hidden = false;
  }
}

export const page = {
  id: "sessions",
  title: "Sessions",
  path: "/sessions",
  order: 30,
  mount(container, ctx) {
    return new SessionsPage(container, ctx).mount();
  },
};
