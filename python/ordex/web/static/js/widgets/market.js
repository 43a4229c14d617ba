// Market widgets: chart (lightweight-charts candles with the user's fills and open orders),
// order book (click a price to fill the order form), trades, and markets (ticker and the list).
// The first state comes over HTTP, updates over Socket.IO feeds; HTTP polls again only while a
// feed is silent (the socket down, or no update for a while).
import { get, marketData } from "../api.js";
import { h, num, replaceChildren, table, time } from "../dom.js";
import { emit, on } from "../live.js";
import { feedsLive, subscribeFeed } from "../socketio.js";

const SILENT_FEED_MS = 30000;

function problem(el, err) {
  replaceChildren(el, h("p", { class: "widget-error", role: "status" }, err.message || String(err)));
}

// Loads over HTTP first, then on a timer while no live feed update came for SILENT_FEED_MS (`fresh()`
// marks one), and on the given events; never two loads at once.
function refresher(load, intervalMs, events = ["live:trade", "account:changed"]) {
  let busy = false;
  let again = false;
  let stopped = false;
  let freshAt = 0;
  const run = async () => {
    if (stopped) return;
    if (busy) { again = true; return; }
    busy = true;
    try { await load(); } finally {
      busy = false;
      if (again) { again = false; run(); }
    }
  };
  const tick = () => {
    if (!(feedsLive() && Date.now() - freshAt < SILENT_FEED_MS)) run();
  };
  const timer = setInterval(tick, intervalMs);
  const offs = events.map((type) => on(type, () => { run(); setTimeout(run, 600); }));
  return {
    first: run(),
    fresh: () => { freshAt = Date.now(); },
    stop: () => { stopped = true; clearInterval(timer); offs.forEach((off) => off()); },
  };
}

// The Socket.IO feed of a widget's instrument; each update marks the refresher fresh.
function liveFeed(instrument, dataType, refresh, onData, extra = {}) {
  return subscribeFeed({
    exchangeId: instrument.exchange, marketType: instrument.marketType || "spot",
    symbol: instrument.symbol, dataType, ...extra,
  }, (data) => { refresh.fresh(); onData(data); });
}

function chartColors() {
  const css = getComputedStyle(document.documentElement);
  return {
    background: css.getPropertyValue("--panel").trim() || "#111",
    text: css.getPropertyValue("--text").trim() || "#ddd",
    grid: css.getPropertyValue("--grid").trim() || "#222",
  };
}

export function chart(el, widget, ctx) {
  const instrument = ctx.instrumentOf(widget);
  const box = h("div", { class: "chart-box", role: "img", "aria-label": `${instrument.label} 1 minute candles` });
  const note = h("p", { class: "chart-note", role: "status" });
  // The attribution lightweight-charts' licence notice asks for.
  const credit = h("a", {
    class: "chart-credit", href: "https://www.tradingview.com/", target: "_blank", rel: "noopener noreferrer",
  }, "Charts by TradingView");
  replaceChildren(el, box, note, credit);
  const LWC = window.LightweightCharts;
  if (!LWC) {
    problem(el, new Error("Chart library not loaded"));
    return { ready: Promise.resolve(), destroy() {} };
  }
  const colors = chartColors();
  const chartApi = LWC.createChart(box, {
    autoSize: true,
    layout: { background: { color: colors.background }, textColor: colors.text },
    grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  const series = chartApi.addCandlestickSeries();
  let lines = [];
  let alive = true; // a load still in flight when the widget goes must not touch the removed chart
  const offTheme = on("theme", () => {
    const c = chartColors();
    chartApi.applyOptions({
      layout: { background: { color: c.background }, textColor: c.text },
      grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
    });
  });

  const bar = ([t, o, hi, lo, c]) => ({ time: t / 1000, open: o, high: hi, low: lo, close: c });
  let lastTime = null;
  let count = 0;

  async function load() {
    try {
      const candles = await marketData("fetchOHLCV", instrument, { timeframe: "1m", limit: 300 });
      if (!alive) return;
      series.setData(candles.map(bar));
      lastTime = candles.length ? candles[candles.length - 1][0] / 1000 : null;
      count = candles.length;
      note.textContent = candles.length ? "" : "No trades yet";
      box.dataset.candles = String(candles.length);
      if (instrument.marketId) await markOwn(candles);
    } catch (err) {
      if (alive) note.textContent = err.message;
    }
  }

  // Live candles: the current one changes, a new one is appended; older ones are left alone.
  function liveCandles(candles) {
    if (!alive || !Array.isArray(candles)) return;
    for (const candle of candles) {
      const point = bar(candle);
      if (lastTime !== null && point.time < lastTime) continue;
      if (point.time !== lastTime) count += 1;
      series.update(point);
      lastTime = point.time;
    }
    note.textContent = count ? "" : "No trades yet";
    box.dataset.candles = String(count);
    box.dataset.source = "socket.io";
  }

  async function markOwn(candles) {
    const id = encodeURIComponent(instrument.marketId);
    const [fills, orders] = await Promise.all([
      get(`/fills?marketId=${id}&limit=200`), get(`/orders?marketId=${id}&limit=200`),
    ]);
    if (!alive) return;
    const bars = new Set(candles.map((c) => c[0] / 1000));
    const markers = fills
      .map((f) => ({ f, t: Math.floor(Date.parse(f.createdAt) / 60000) * 60 }))
      .filter(({ t }) => bars.has(t))
      .sort((a, b) => a.t - b.t)
      .map(({ f, t }) => ({
        time: t,
        position: f.side === "BUY" ? "belowBar" : "aboveBar",
        color: f.side === "BUY" ? "#26a69a" : "#ef5350",
        shape: f.side === "BUY" ? "arrowUp" : "arrowDown",
        text: `${f.side} ${num(f.quantity)}`,
      }));
    series.setMarkers(markers);
    lines.forEach((line) => series.removePriceLine(line));
    lines = orders
      .filter((o) => ["OPEN", "PARTIALLY_FILLED"].includes(o.status) && o.price)
      .map((o) => series.createPriceLine({
        price: Number(o.price),
        color: o.side === "BUY" ? "#26a69a" : "#ef5350",
        lineStyle: 2,
        title: `${o.side} ${num(o.remainingQuantity)}`,
      }));
    box.dataset.markers = String(markers.length);
  }

  const refresh = refresher(load, 5000);
  const offFeed = liveFeed(instrument, "ohlcv", refresh, liveCandles, { timeframe: "1m" });
  return {
    ready: refresh.first,
    destroy() { alive = false; offFeed(); refresh.stop(); offTheme(); chartApi.remove(); },
  };
}

export function orderbook(el, widget, ctx) {
  const instrument = ctx.instrumentOf(widget);
  const body = h("div", { class: "book" });
  replaceChildren(el, body);

  function row(side, [price, amount]) {
    return h("button", {
      type: "button", class: `book-row ${side}`, dataset: { price: String(price) },
      "aria-label": `${side === "ask" ? "Ask" : "Bid"} ${price}, size ${amount}: use this price`,
      onclick: () => emit("order:price", { price: String(price), instrument }),
    }, h("span", { class: "price" }, String(price)), h("span", { class: "num" }, String(amount)));
  }

  async function load() {
    try {
      render(await marketData("fetchOrderBook", instrument, { limit: 12 }));
    } catch (err) {
      problem(body, err);
    }
  }

  function render(book) {
    const asks = (book.asks || []).slice(0, 12).reverse();
    const bids = (book.bids || []).slice(0, 12);
    const spread = asks.length && bids.length ? (asks[asks.length - 1][0] - bids[0][0]) : null;
    replaceChildren(body,
      h("div", { class: "book-head" }, h("span", {}, "Price"), h("span", { class: "num" }, "Size")),
      h("div", { class: "book-side asks", role: "group", "aria-label": "Asks" },
        asks.length ? asks.map((level) => row("ask", level)) : h("p", { class: "empty" }, "No asks")),
      h("div", { class: "book-spread" }, spread === null ? "—" : `Spread ${+spread.toFixed(8)}`),
      h("div", { class: "book-side bids", role: "group", "aria-label": "Bids" },
        bids.length ? bids.map((level) => row("bid", level)) : h("p", { class: "empty" }, "No bids")));
  }
  const refresh = refresher(load, 1500, ["account:changed"]);
  const offFeed = liveFeed(instrument, "orderbook", refresh, (book) => {
    if (book && typeof book === "object") { render(book); body.dataset.source = "socket.io"; }
  });
  return { ready: refresh.first, destroy() { offFeed(); refresh.stop(); } };
}

export function trades(el, widget, ctx) {
  const instrument = ctx.instrumentOf(widget);
  let shown = [];
  const key = (t) => t.id ?? `${t.timestamp}:${t.price}:${t.amount}:${t.side}`;

  // A feed sends the recent list (ccxt polls) or the new trades only (ordex): merged by id.
  function merge(list) {
    const byKey = new Map(shown.map((t) => [key(t), t]));
    for (const t of list) byKey.set(key(t), t);
    shown = [...byKey.values()].sort((a, b) => (a.timestamp || 0) - (b.timestamp || 0)).slice(-30);
    render();
  }

  async function load() {
    try {
      shown = [];
      merge(await marketData("fetchTrades", instrument, { limit: 30 }));
    } catch (err) {
      problem(el, err);
    }
  }

  function render() {
    const rows = shown.slice().reverse();
    replaceChildren(el, table([
      { label: "Time", cell: (t) => time(t.timestamp) },
      { label: "Price", num: true, cell: (t) => h("span", { class: t.side === "sell" ? "down" : "up" }, String(t.price)) },
      { label: "Size", num: true, cell: (t) => String(t.amount) },
    ], rows, { caption: `${instrument.label} trades`, empty: "No trades yet" }));
  }
  const refresh = refresher(load, 2000, ["account:changed"]);
  const offFeed = liveFeed(instrument, "trades", refresh, (list) => {
    if (Array.isArray(list)) { merge(list); el.dataset.source = "socket.io"; }
  });
  return { ready: refresh.first, destroy() { offFeed(); refresh.stop(); } };
}

export function markets(el, widget, ctx) {
  const instrument = ctx.instrumentOf(widget);
  const ticker = h("dl", { class: "ticker", "aria-live": "polite" });
  const list = h("div", {});
  replaceChildren(el, h("h3", { class: "sub" }, instrument.label), ticker, list);

  async function loadTicker() {
    try {
      showTicker(await marketData("fetchTicker", instrument));
      ticker.dataset.source = "http";
    } catch (err) {
      problem(ticker, err);
    }
  }

  function showTicker(t) {
    replaceChildren(ticker,
      h("dt", {}, "Last"), h("dd", { class: "last" }, t.last ?? "—"),
      h("dt", {}, "Bid"), h("dd", {}, t.bid ?? "—"),
      h("dt", {}, "Ask"), h("dd", {}, t.ask ?? "—"),
      h("dt", {}, "24h"), h("dd", {}, t.percentage === null || t.percentage === undefined ? "—" : `${(+t.percentage).toFixed(2)}%`));
    ticker.dataset.last = String(t.last ?? "");
  }
  replaceChildren(list, table([
    { label: "Market", cell: (m) => m.id },
    { label: "Kind", cell: (m) => m.kind },
    { label: "", cell: (m) => h("button", {
        type: "button", class: "small", "aria-label": `Trade ${m.id}`,
        onclick: () => ctx.selectMarket(m.id),
      }, "Trade") },
  ], ctx.markets, { caption: "ordex markets" }));
  const refresh = refresher(loadTicker, 2000, ["account:changed"]);
  const offFeed = liveFeed(instrument, "ticker", refresh, (t) => {
    if (t && typeof t === "object") { showTicker(t); ticker.dataset.source = "socket.io"; }
  });
  return { ready: refresh.first, destroy() { offFeed(); refresh.stop(); } };
}
