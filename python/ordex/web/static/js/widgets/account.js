// Account widgets on ordex's own markets: the order form (with the demo deposit), balances,
// positions, open orders (cancel), order history and fills. They reload from the exchange routes
// when a live message about the user's orders arrives (and again shortly after, once the
// persister has caught up), and on a slow timer as a fallback.
import { ApiError, del, get, post } from "../api.js";
import { h, nextId, num, replaceChildren, table, time } from "../dom.js";
import { emit, on } from "../live.js";

const ORDER_TYPES = [
  ["LIMIT", "Limit"], ["MARKET", "Market"], ["STOP_LOSS", "Stop market"], ["STOP_LOSS_LIMIT", "Stop limit"],
  ["TAKE_PROFIT", "Take profit market"], ["TAKE_PROFIT_LIMIT", "Take profit limit"],
];
const LIMIT_TYPES = new Set(["LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]);
const TRIGGER_TYPES = new Set(["STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]);
const OPEN = new Set(["PENDING", "OPEN", "PARTIALLY_FILLED", "UNTRIGGERED"]);
// live:reopen: after a reconnect, whatever happened while the socket was down is read again.
const ACCOUNT_EVENTS = [
  "live:order_update", "live:trade", "live:position_update", "account:changed", "live:reopen",
];

// The timer is only a fallback: changes arrive as live messages.
function accountRefresher(load, intervalMs = 30000) {
  let busy = false;
  let again = false;
  let stopped = false;
  const run = async () => {
    if (stopped) return;
    if (busy) { again = true; return; }
    busy = true;
    try { await load(); } finally {
      busy = false;
      if (again) { again = false; run(); }
    }
  };
  const timer = setInterval(run, intervalMs);
  const offs = ACCOUNT_EVENTS.map((type) => on(type, () => { run(); setTimeout(run, 400); setTimeout(run, 1500); }));
  return { first: run(), stop: () => { stopped = true; clearInterval(timer); offs.forEach((off) => off()); } };
}

function failed(el, err) {
  replaceChildren(el, h("p", { class: "widget-error", role: "status" }, err.message || String(err)));
}

function labelled(label, input) {
  const id = nextId("f");
  input.id = id;
  return h("div", { class: "field" }, h("label", { htmlFor: id }, label), input);
}

export function orderForm(el, widget, ctx) {
  const instrument = ctx.instrumentOf(widget);
  const markets = ctx.markets;
  const market = h("select", { name: "marketId" },
    markets.map((m) => h("option", { value: m.id, selected: m.id === instrument.marketId }, m.id)));
  const sideName = nextId("side");
  const buy = h("input", { type: "radio", name: sideName, value: "BUY", checked: true });
  const sell = h("input", { type: "radio", name: sideName, value: "SELL" });
  const type = h("select", { name: "type" }, ORDER_TYPES.map(([value, label]) => h("option", { value }, label)));
  const price = h("input", { type: "text", inputMode: "decimal", name: "price", autocomplete: "off", placeholder: "0.00" });
  const quantity = h("input", { type: "text", inputMode: "decimal", name: "quantity", autocomplete: "off", placeholder: "0.0000", required: true });
  const trigger = h("input", { type: "text", inputMode: "decimal", name: "triggerPrice", autocomplete: "off", placeholder: "0.00" });
  const triggerField = labelled("Trigger price", trigger);
  const leverage = h("input", { type: "number", name: "leverage", min: 1, step: 1, placeholder: "1" });
  const leverageField = labelled("Leverage", leverage);
  const submit = h("button", { type: "submit", class: "primary" }, "Place order");
  const status = h("p", { class: "form-status", role: "alert", "aria-live": "assertive" });
  const available = h("p", { class: "available", "aria-live": "polite" });
  const depositAmount = h("input", { type: "text", inputMode: "decimal", name: "depositAmount", value: "10000" });
  const depositButton = h("button", { type: "button", class: "small" }, "Deposit");

  const current = () => markets.find((m) => m.id === market.value) || markets[0];
  const side = () => (sell.checked ? "SELL" : "BUY");

  function sync() {
    const m = current();
    const limit = LIMIT_TYPES.has(type.value);
    price.disabled = !limit;
    price.required = limit;
    triggerField.hidden = !TRIGGER_TYPES.has(type.value);
    trigger.required = !triggerField.hidden;
    leverageField.hidden = !m || m.kind !== "PERP";
    submit.textContent = `${side() === "BUY" ? "Buy" : "Sell"} ${m ? m.baseAsset : ""}`;
    submit.className = side() === "BUY" ? "primary buy" : "primary sell";
    depositButton.textContent = m ? `Deposit ${m.quoteAsset}` : "Deposit";
    depositButton.setAttribute("aria-label", `Deposit ${depositAmount.value} ${m ? m.quoteAsset : ""} (demo)`);
    loadAvailable();
  }

  async function loadAvailable() {
    const m = current();
    if (!m) return;
    try {
      const balances = await get("/balances");
      const quote = balances.find((b) => b.asset === m.quoteAsset);
      const base = balances.find((b) => b.asset === m.baseAsset);
      available.textContent = `Available: ${num(quote ? quote.available : "0")} ${m.quoteAsset}` +
        (m.kind === "SPOT" ? ` · ${num(base ? base.available : "0")} ${m.baseAsset}` : "");
    } catch (err) {
      available.textContent = err.message;
    }
  }

  function report(text, kind) {
    status.textContent = text;
    status.className = `form-status ${kind}`;
  }

  const form = h("form", { class: "order-form", "aria-label": "Order form", novalidate: true },
    labelled("Market", market),
    h("fieldset", { class: "segmented" }, h("legend", { class: "sr-only" }, "Side"),
      h("label", { class: "seg buy" }, buy, h("span", {}, "Buy")),
      h("label", { class: "seg sell" }, sell, h("span", {}, "Sell"))),
    labelled("Type", type), triggerField, labelled("Price", price), labelled("Quantity", quantity), leverageField,
    submit, status, available,
    h("div", { class: "deposit" }, labelled("Demo deposit", depositAmount), depositButton));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const m = current();
    const body = { marketId: m.id, side: side(), type: type.value, quantity: quantity.value.trim() };
    if (LIMIT_TYPES.has(type.value)) body.price = price.value.trim();
    if (TRIGGER_TYPES.has(type.value)) body.triggerPrice = trigger.value.trim();
    if (m.kind === "PERP" && leverage.value) body.leverage = Number(leverage.value);
    if (!body.quantity || (LIMIT_TYPES.has(type.value) && !body.price)
        || (TRIGGER_TYPES.has(type.value) && !body.triggerPrice)) {
      report("Enter the prices and a quantity", "error");
      return;
    }
    submit.disabled = true;
    report("Sending…", "");
    try {
      const result = await post("/orders", body);
      report(`Order ${result.status.toLowerCase()}: ${body.side} ${body.quantity} ${m.id}`, "ok");
      emit("account:changed", { orderId: result.orderId });
    } catch (err) {
      report(err instanceof ApiError ? err.message : "The order was not sent", "error");
    } finally {
      submit.disabled = false;
    }
  });

  depositButton.addEventListener("click", async () => {
    const m = current();
    depositButton.disabled = true;
    try {
      const balance = await post("/deposits", { asset: m.quoteAsset, amount: depositAmount.value.trim() });
      report(`Deposited ${num(depositAmount.value)} ${balance.asset}`, "ok");
      emit("account:changed", {});
    } catch (err) {
      report(err.message, "error");
    } finally {
      depositButton.disabled = false;
    }
  });

  for (const input of [market, type, buy, sell]) input.addEventListener("change", sync);
  depositAmount.addEventListener("input", sync);
  const offPrice = on("order:price", ({ price: picked, instrument: from }) => {
    if (from.marketId && markets.some((m) => m.id === from.marketId)) market.value = from.marketId;
    if (!LIMIT_TYPES.has(type.value)) type.value = "LIMIT";
    price.value = picked;
    sync();
    quantity.focus();
  });
  const offAccount = on("account:changed", loadAvailable);
  const offFill = on("live:trade", () => setTimeout(loadAvailable, 400));

  replaceChildren(el, form);
  sync();
  return { ready: loadAvailable(), destroy() { offPrice(); offAccount(); offFill(); } };
}

export function userBalances(el) {
  async function load() {
    try {
      const balances = await get("/balances");
      replaceChildren(el, table([
        { label: "Asset", cell: (b) => b.asset },
        { label: "Total", num: true, cell: (b) => num(b.total) },
        { label: "Held", num: true, cell: (b) => num(b.held) },
        { label: "Available", num: true, cell: (b) => num(b.available) },
      ], balances, { caption: "Balances", empty: "No balance yet: deposit from the order form",
        rowProps: (b) => ({ dataset: { asset: b.asset } }) }));
    } catch (err) { failed(el, err); }
  }
  const refresh = accountRefresher(load);
  return { ready: refresh.first, destroy: refresh.stop };
}

function positionsTable(positions) {
  const open = positions.filter((p) => Number(p.size) !== 0);
  return table([
    { label: "Market", cell: (p) => p.marketId },
    { label: "Side", cell: (p) => h("span", { class: p.side === "LONG" ? "up" : "down" }, p.side) },
    { label: "Size", num: true, cell: (p) => num(p.size) },
    { label: "Entry", num: true, cell: (p) => num(p.entryPrice) },
    { label: "Realized PnL", num: true, cell: (p) => num(p.realizedPnl) },
  ], open, { caption: "Positions", empty: "No open positions",
    rowProps: (p) => ({ dataset: { market: p.marketId, size: num(p.size) } }) });
}

function cancelButton(order, report) {
  return h("button", {
    type: "button", class: "small danger", "aria-label": `Cancel ${order.side} ${num(order.quantity)} ${order.marketId} at ${num(order.price)}`,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      try {
        await del(`/orders/${order.orderId}`);
        emit("account:changed", {});
      } catch (err) {
        report(err.message);
      }
    },
  }, "Cancel");
}

function openOrdersTable(orders, report) {
  return table([
    { label: "Market", cell: (o) => o.marketId },
    { label: "Side", cell: (o) => h("span", { class: o.side === "BUY" ? "up" : "down" }, o.side) },
    { label: "Type", cell: (o) => o.type },
    { label: "Price", num: true, cell: (o) => num(o.price) },
    { label: "Trigger", num: true, cell: (o) => num(o.triggerPrice) },
    { label: "Qty", num: true, cell: (o) => num(o.quantity) },
    { label: "Filled", num: true, cell: (o) => num(o.filledQuantity) },
    { label: "Status", cell: (o) => o.status },
    { label: "", cell: (o) => (o.status === "PENDING" ? "" : cancelButton(o, report)) },
  ], orders.filter((o) => OPEN.has(o.status)), { caption: "Open orders", empty: "No open orders",
    rowProps: (o) => ({ class: "order-row", dataset: { orderId: o.orderId, status: o.status, filled: num(o.filledQuantity) } }) });
}

function historyTable(orders) {
  return table([
    { label: "Time", cell: (o) => time(o.updatedAt) },
    { label: "Market", cell: (o) => o.marketId },
    { label: "Side", cell: (o) => o.side },
    { label: "Type", cell: (o) => o.type },
    { label: "Price", num: true, cell: (o) => num(o.price) },
    { label: "Filled", num: true, cell: (o) => `${num(o.filledQuantity)} / ${num(o.quantity)}` },
    { label: "Status", cell: (o) => o.status },
  ], orders.filter((o) => !OPEN.has(o.status)), { caption: "Order history", empty: "No finished orders",
    rowProps: (o) => ({ class: "history-row", dataset: { orderId: o.orderId, status: o.status } }) });
}

function fillsTable(fills) {
  return table([
    { label: "Time", cell: (f) => time(f.createdAt) },
    { label: "Market", cell: (f) => f.marketId },
    { label: "Side", cell: (f) => h("span", { class: f.side === "BUY" ? "up" : "down" }, f.side) },
    { label: "Price", num: true, cell: (f) => num(f.price) },
    { label: "Qty", num: true, cell: (f) => num(f.quantity) },
    { label: "Fee", num: true, cell: (f) => `${num(f.fee)} ${f.feeAsset}` },
  ], fills, { caption: "Fills", empty: "No fills yet", rowProps: (f) => ({ class: "fill-row", dataset: { orderId: f.orderId } }) });
}

function simple(el, path, render) {
  async function load() {
    try { replaceChildren(el, render(await get(path))); } catch (err) { failed(el, err); }
  }
  const refresh = accountRefresher(load);
  return { ready: refresh.first, destroy: refresh.stop };
}

export const portfolio = (el) => simple(el, "/positions", positionsTable);
export const deals = (el) => simple(el, "/fills?limit=100", fillsTable);
export const transactionHistory = (el) => simple(el, "/orders?limit=200", historyTable);

// Tabs: open orders, positions, order history, fills.
export function userTradingData(el) {
  const tabs = [
    ["open", "Open orders"], ["positions", "Positions"], ["history", "Order history"], ["fills", "Fills"],
  ];
  let selected = "open";
  const panel = h("div", { role: "tabpanel", class: "tab-panel", tabIndex: 0 });
  const status = h("p", { class: "form-status error", role: "alert" });
  const buttons = tabs.map(([key, label]) => h("button", {
    type: "button", role: "tab", id: nextId("tab"), dataset: { tab: key },
    onclick: () => { selected = key; paint(); load(); },
  }, label));
  const tablist = h("div", { role: "tablist", class: "tabs", "aria-label": "Trading data" }, buttons);
  tablist.addEventListener("keydown", (event) => {
    const index = tabs.findIndex(([key]) => key === selected);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = buttons[(index + step + tabs.length) % tabs.length];
    next.focus();
    next.click();
  });
  function paint() {
    buttons.forEach((b) => {
      const on_ = b.dataset.tab === selected;
      b.setAttribute("aria-selected", String(on_));
      b.tabIndex = on_ ? 0 : -1;
      if (on_) panel.setAttribute("aria-labelledby", b.id);
    });
  }
  async function load() {
    try {
      status.textContent = "";
      if (selected === "positions") replaceChildren(panel, positionsTable(await get("/positions")));
      else if (selected === "fills") replaceChildren(panel, fillsTable(await get("/fills?limit=100")));
      else {
        const orders = await get("/orders?limit=200");
        replaceChildren(panel, selected === "open"
          ? openOrdersTable(orders, (text) => { status.textContent = text; })
          : historyTable(orders));
      }
    } catch (err) { failed(panel, err); }
  }
  replaceChildren(el, tablist, status, panel);
  paint();
  const refresh = accountRefresher(load);
  return { ready: refresh.first, destroy: refresh.stop };
}

export function openOrders(el) {
  const status = h("p", { class: "form-status error", role: "alert" });
  const body = h("div", {});
  replaceChildren(el, status, body);
  async function load() {
    try {
      replaceChildren(body, openOrdersTable(await get("/orders?limit=200"), (t) => { status.textContent = t; }));
    } catch (err) { failed(body, err); }
  }
  const refresh = accountRefresher(load);
  return { ready: refresh.first, destroy: refresh.stop };
}
