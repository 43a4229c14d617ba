// Backtests: run a flow over historical candles (a ccxt exchange or ordex's own trades) and read
// the result: metrics, the daily equity curve and its drawdown, the trades; and the past runs.
// Routes: `#/backtests`, `#/backtests/<id>` (one result), `#/backtests/new/<flowId>` (form preset).
import { get, post } from "../api.js";
import { h, replaceChildren, table } from "../dom.js";
import { CREDIT, drawdown, lineChart, timePoints } from "./charts.js";

const TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"];

const fmt = (value, digits = 2) => (value === null || value === undefined ? "—"
  : typeof value === "number" ? value.toLocaleString(undefined, { maximumFractionDigits: digits }) : String(value));
const signed = (value) => h("span", { class: value > 0 ? "pnl-up" : value < 0 ? "pnl-down" : "" }, fmt(value));
const day = (iso) => (iso ? iso.slice(0, 10) : "");

function metricsList(bt) {
  const m = bt.metrics || {};
  const items = [
    ["PnL", signed(m.pnl)], ["PnL %", signed(m.pnlPercent)], ["Final equity", fmt(bt.finalEquity)],
    ["Win rate", m.winRate === undefined ? "—" : `${fmt(m.winRate * 100, 1)}%`],
    ["Max drawdown", fmt(m.maxDrawdown)], ["Max drawdown %", fmt(m.maxDrawdownPercent)],
    ["Sharpe", fmt(m.sharpeRatio)], ["Profit factor", fmt(m.profitFactor)],
    ["Trades", fmt(m.totalTrades)], ["Won / lost", `${fmt(m.winningTrades)} / ${fmt(m.losingTrades)}`],
    ["Fees", fmt(bt.fees)], ["Bars", fmt(bt.bars, 0)],
  ];
  return h("dl", { class: "metrics" }, items.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
}

class BacktestsPage {
  constructor(container, ctx) {
    this.container = container;
    this.ctx = ctx;
    this.charts = [];
  }

  async mount() {
    const [{ flows }, past] = await Promise.all([get("/api/flows"), get("/api/engine/backtests?limit=50")]);
    this.flows = flows;
    this.note = h("p", { class: "form-status", role: "status", "aria-live": "polite" });
    this.result = h("section", { class: "page-block backtest-result", "aria-label": "Backtest result", hidden: true });
    this.past = h("section", { class: "page-block", "aria-labelledby": "past-backtests" });
    const [mode, arg] = this.ctx.params;
    replaceChildren(this.container, h("h1", {}, "Backtests"), this.form(mode === "new" ? arg : null), this.note,
      this.result, this.past);
    this.renderPast(past);
    if (mode && mode !== "new") await this.open(mode);
    return this;
  }

  destroy() {
    this.clearCharts();
  }

  clearCharts() {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  form(presetFlowId) {
    const today = new Date();
    const monthAgo = new Date(today.getTime() - 30 * 86400e3);
    const input = (id, props) => h("input", { id, ...props });
    const flow = h("select", { id: "bt-flow", required: true },
      this.flows.length ? this.flows.map((f) => h("option", { value: f.id, selected: f.id === presetFlowId }, f.name))
        : h("option", { value: "" }, "No flows yet"));
    const exchange = input("bt-exchange", { type: "text", required: true, placeholder: "binance or ordex" });
    const symbol = input("bt-symbol", { type: "text", required: true, placeholder: "BTC/USDT" });
    const timeframe = h("select", { id: "bt-timeframe" }, TIMEFRAMES.map((t) => h("option", { value: t }, t)));
    const from = input("bt-from", { type: "date", required: true, value: monthAgo.toISOString().slice(0, 10) });
    const to = input("bt-to", { type: "date", required: true, value: today.toISOString().slice(0, 10) });
    const capital = input("bt-capital", { type: "number", step: "any", min: "0", placeholder: "the flow's" });
    const fee = input("bt-fee", { type: "number", step: "any", min: "0", max: "1000", placeholder: "the flow's" });
    const slippage = input("bt-slippage", { type: "number", step: "any", min: "0", max: "1000", placeholder: "the flow's" });
    const fromFlow = () => {
      const f = this.flows.find((x) => x.id === flow.value);
      if (!f) return;
      exchange.value = f.settings.exchange || "";
      symbol.value = f.settings.symbol || "";
      if (TIMEFRAMES.includes(f.settings.timeframe)) timeframe.value = f.settings.timeframe;
    };
    flow.addEventListener("change", fromFlow);
    fromFlow();
    const run = h("button", { type: "submit", class: "primary" }, "Run backtest");
    const field = (el, text) => h("div", { class: "field" }, h("label", { htmlFor: el.id }, text), el);
    return h("form", { class: "stack-form page-block", "aria-label": "New backtest", onsubmit: async (e) => {
      e.preventDefault();
      const body = {
        flowId: flow.value, exchange: exchange.value.trim(), symbol: symbol.value.trim(), timeframe: timeframe.value,
        startDate: from.value, endDate: to.value,
      };
      if (capital.value) body.initialCapital = Number(capital.value);
      if (fee.value) body.feeBps = Number(fee.value);
      if (slippage.value) body.slippageBps = Number(slippage.value);
      run.disabled = true;
      this.note.textContent = "Running…";
      this.note.className = "form-status";
      try {
        const done = await post("/api/engine/backtest", body);
        this.note.textContent = `Backtest done over ${done.bars} bars`;
        this.note.className = "form-status ok";
        await this.open(done.backtestId);
        this.renderPast(await get("/api/engine/backtests?limit=50"));
      } catch (err) {
        this.note.textContent = err.message;
        this.note.className = "form-status error";
      } finally {
        run.disabled = false;
      }
    } },
    field(flow, "Flow"), field(exchange, "Exchange"), field(symbol, "Symbol"), field(timeframe, "Timeframe"),
    field(from, "From"), field(to, "To"), field(capital, "Initial capital"), field(fee, "Fee (bps)"),
    field(slippage, "Slippage (bps)"), run);
  }

  renderPast({ backtests, total }) {
    const flowName = (id) => (this.flows.find((f) => f.id === id) || {}).name || (id ? "?" : "deleted flow");
    replaceChildren(this.past, h("h2", { id: "past-backtests" }, `Past backtests (${total})`), table([
      { label: "When", cell: (b) => new Date(b.createdAt).toLocaleString() },
      { label: "Flow", cell: (b) => flowName(b.flowId) },
      { label: "Market", cell: (b) => `${b.exchange} ${b.symbol} ${b.timeframe}` },
      { label: "Range", cell: (b) => `${day(b.startDate)} → ${day(b.endDate)}` },
      { label: "PnL", num: true, cell: (b) => signed(b.metrics.pnl) },
      { label: "Trades", num: true, cell: (b) => b.metrics.totalTrades },
      { label: "", cell: (b) => h("a", { href: `#/backtests/${b.backtestId}`, "aria-label": `Open backtest of ${day(b.createdAt)}` }, "Open") },
    ], backtests, { caption: "Past backtests", empty: "No backtests yet", rowProps: (b) => ({ dataset: { backtestId: b.backtestId } }) }));
  }

  async open(id) {
    const bt = await get(`/api/engine/backtests/${id}`);
    this.clearCharts();
    const equity = timePoints(bt.equityCurve, (p) => Date.parse(p.timestamp), (p) => p.equity);
    const eq = lineChart(equity, { label: "Equity at the end of each day", className: "equity-chart" });
    const dd = lineChart(drawdown(equity), { label: "Drawdown from the running peak, percent", kind: "area", className: "small drawdown-chart" });
    this.charts.push(eq, dd);
    const trades = table([
      { label: "#", num: true, cell: (t) => t.seq },
      { label: "Side", cell: (t) => t.side },
      { label: "Entry", cell: (t) => new Date(t.entryTime).toLocaleString() },
      { label: "Exit", cell: (t) => new Date(t.exitTime).toLocaleString() },
      { label: "Qty", num: true, cell: (t) => fmt(t.quantity, 8) },
      { label: "Entry price", num: true, cell: (t) => fmt(t.entryPrice, 8) },
      { label: "Exit price", num: true, cell: (t) => fmt(t.exitPrice, 8) },
      { label: "PnL", num: true, cell: (t) => signed(t.pnl) },
      { label: "Fees", num: true, cell: (t) => fmt(t.fees, 8) },
      { label: "Exit reason", cell: (t) => t.exitReason },
    ], bt.trades, { caption: "Closed trades", empty: "No closed trade", rowProps: () => ({ class: "trade-row" }) });
    this.result.dataset.backtestId = bt.backtestId;
    replaceChildren(this.result,
      h("h2", {}, `${bt.exchange} ${bt.symbol} ${bt.timeframe} · ${day(bt.startDate)} → ${day(bt.endDate)}`),
      metricsList(bt),
      h("h3", {}, "Equity"), eq.el, h("h3", {}, "Drawdown (%)"), dd.el, CREDIT(),
      h("h3", {}, `Trades (${bt.trades.length})`), h("div", { class: "table-scroll" }, trades));
    this.result.hidden = false;
  }
}

export const page = {
  id: "backtests",
  title: "Backtests",
  path: "/backtests",
  order: 20,
  mount(container, ctx) {
    return new BacktestsPage(container, ctx).mount();
  },
};
