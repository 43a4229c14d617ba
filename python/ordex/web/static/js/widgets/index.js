// The widget types the terminal draws, by the workspace API's type names.
import { get } from "../api.js";
import { h, replaceChildren, table } from "../dom.js";
import * as account from "./account.js";
import * as market from "./market.js";
import { providers } from "./providers.js";

// The exchanges ordex supports through ccxt; "Watch" points the selected group at one of them.
function exchanges(el, widget, ctx) {
  const symbol = h("input", { type: "text", value: "BTC/USDT", "aria-label": "Symbol to watch", size: 10 });
  const ready = get("/api/exchanges").then(({ exchanges: list }) => {
    replaceChildren(el, h("p", {}, h("label", {}, "Symbol ", symbol)), table([
      { label: "Exchange", cell: (x) => x.name },
      { label: "ccxt id", cell: (x) => x.ccxt_id },
      { label: "", cell: (x) => h("button", {
          type: "button", class: "small", "aria-label": `Watch ${x.name}`,
          onclick: () => ctx.selectInstrument(x.ccxt_id, symbol.value.trim(), "spot"),
        }, "Watch") },
    ], list, { caption: "Exchanges", empty: "No exchange configured" }));
  }).catch((err) => replaceChildren(el, h("p", { class: "widget-error" }, err.message)));
  return { ready, destroy() {} };
}

export const WIDGETS = {
  chart: { title: "Chart", mount: market.chart },
  orderbook: { title: "Order Book", mount: market.orderbook },
  trades: { title: "Trades", mount: market.trades },
  orderForm: { title: "Order Form", mount: account.orderForm },
  userBalances: { title: "Balances", mount: account.userBalances },
  userTradingData: { title: "Trading Data", mount: account.userTradingData },
  portfolio: { title: "Positions", mount: account.portfolio },
  transactionHistory: { title: "Order History", mount: account.transactionHistory },
  deals: { title: "Fills", mount: account.deals },
  markets: { title: "Markets", mount: market.markets },
  pairs: { title: "Pairs", mount: market.markets },
  dataProviderSettings: { title: "Data Providers", mount: providers },
  exchanges: { title: "Exchanges", mount: exchanges },
};

export function mountWidget(type, el, widget, ctx) {
  const kind = WIDGETS[type];
  if (!kind) {
    replaceChildren(el, h("p", { class: "empty" }, `The ${type} widget has no view in the terminal yet.`));
    return { ready: Promise.resolve(), destroy() {} };
  }
  return kind.mount(el, widget, ctx);
}
