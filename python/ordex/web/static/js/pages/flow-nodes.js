// The flow node types the evaluator knows (docs/flows.md): their ports with types and their
// parameters, for the editor. The server validates every save; this only guides the person.
// Port types: series, bool, event (accepted wherever a bool is), risk.

const TRIGGER_OUT = [
  ["open", "series"], ["high", "series"], ["low", "series"], ["close", "series"], ["volume", "series"],
  ["tick", "event"],
];
const TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "4h", "1d"];
const ORDER = { name: "orderType", kind: "select", options: ["market", "limit"], default: "market" };
const OFFSET = { name: "limitOffsetBps", kind: "number", optional: true, hint: "limit orders: bps from the close" };
const SIZE = { name: "size", kind: "size", default: { mode: "pct_equity", value: 0.5 } };
const ACTION_IN = [["when", "bool", true], ["risk", "risk", false, true]];
const period = (min, def) => ({ name: "period", kind: "int", min, max: 10000, default: def });

function node(type, title, inputs, outputs, params) {
  return {
    type, title, group: type.split(".")[0],
    inputs: inputs.map(([name, portType, required = false, many = false]) => ({ name, type: portType, required, many })),
    outputs: outputs.map(([name, portType]) => ({ name, type: portType })),
    params,
  };
}

export const NODE_TYPES = [
  node("trigger.candle_close", "Candle close", [], TRIGGER_OUT,
    [{ name: "timeframe", kind: "select", options: TIMEFRAMES, optional: true }]),
  node("trigger.interval", "Every N bars", [], TRIGGER_OUT, [{ name: "everyBars", kind: "int", min: 1, default: 4 }]),
  node("trigger.manual", "Manual", [], TRIGGER_OUT, []),
  node("trigger.webhook", "Webhook", [], TRIGGER_OUT, []),
  node("indicator.sma", "SMA", [["source", "series", true]], [["value", "series"]], [period(1, 20)]),
  node("indicator.ema", "EMA", [["source", "series", true]], [["value", "series"]], [period(2, 20)]),
  node("indicator.rsi", "RSI", [["source", "series", true]], [["value", "series"]], [period(2, 14)]),
  node("indicator.macd", "MACD", [["source", "series", true]], [["macd", "series"], ["signal", "series"], ["hist", "series"]], [
    { name: "fast", kind: "int", min: 2, max: 10000, default: 12 },
    { name: "slow", kind: "int", min: 2, max: 10000, default: 26 },
    { name: "signal", kind: "int", min: 2, max: 10000, default: 9 },
  ]),
  node("indicator.bollinger", "Bollinger bands", [["source", "series", true]],
    [["upper", "series"], ["middle", "series"], ["lower", "series"]],
    [period(2, 20), { name: "stdDev", kind: "number", default: 2 }]),
  node("indicator.atr", "ATR", [["source", "series", true]], [["value", "series"]], [period(1, 14)]),
  node("logic.compare", "Compare", [["a", "series", true], ["b", "series"]], [["out", "bool"]], [
    { name: "op", kind: "select", options: ["<", "<=", ">", ">=", "==", "!="], default: "<" },
    { name: "b", kind: "number", optional: true, default: 30, hint: "when b is not wired" },
  ]),
  node("logic.cross", "Cross", [["a", "series", true], ["b", "series"]], [["out", "bool"]], [
    { name: "direction", kind: "select", options: ["above", "below"], default: "above" },
    { name: "b", kind: "number", optional: true, hint: "when b is not wired" },
  ]),
  node("logic.threshold", "Threshold", [["a", "series", true]], [["out", "bool"]], [
    { name: "lower", kind: "number", optional: true }, { name: "upper", kind: "number", optional: true },
  ]),
  node("logic.and", "And", [["a", "bool", true], ["b", "bool", true]], [["out", "bool"]], []),
  node("logic.or", "Or", [["a", "bool", true], ["b", "bool", true]], [["out", "bool"]], []),
  node("logic.not", "Not", [["a", "bool", true]], [["out", "bool"]], []),
  node("action.buy", "Buy", ACTION_IN, [], [ORDER, OFFSET, SIZE]),
  node("action.sell", "Sell", ACTION_IN, [], [ORDER, OFFSET, SIZE]),
  node("action.close", "Close position", ACTION_IN, [], [ORDER, OFFSET]),
  node("risk.stop_loss", "Stop loss", [], [["out", "risk"]], [{ name: "pct", kind: "number", default: 0.02 }]),
  node("risk.take_profit", "Take profit", [], [["out", "risk"]], [{ name: "pct", kind: "number", default: 0.04 }]),
  node("risk.trailing_stop", "Trailing stop", [], [["out", "risk"]], [{ name: "pct", kind: "number", default: 0.02 }]),
  node("risk.time_limit", "Time limit", [], [["out", "risk"]], [{ name: "bars", kind: "int", min: 1, default: 24 }]),
  node("risk.kill_switch", "Kill switch", [], [["out", "risk"]], [{ name: "maxDrawdownPct", kind: "number", default: 0.2 }]),
];

const BY_TYPE = new Map(NODE_TYPES.map((t) => [t.type, t]));

export function nodeType(type) {
  return BY_TYPE.get(type) || { type, title: type, group: "unknown", inputs: [], outputs: [], params: [] };
}

// An output may feed an input of the same type; an event also feeds a bool.
export function portsMatch(outputType, inputType) {
  return outputType === inputType || (outputType === "event" && inputType === "bool");
}

export function defaultParams(type) {
  const params = {};
  for (const p of nodeType(type).params) {
    if (p.default !== undefined) params[p.name] = typeof p.default === "object" ? { ...p.default } : p.default;
  }
  return params;
}
