//! Shared helpers of the ordex-flow integration tests: a flow document builder, owned candle
//! columns, runs that record every bar, and trade summaries in decimal text.
#![allow(dead_code)]

use ordex_flow::account::{Side, Trade};
use ordex_flow::money::{format_atoms, parse_decimal};
use ordex_flow::{compile, Candles, FlowError, Outcome, Plan, Run, RunOptions, StepReport};
use serde_json::{json, Value};

pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// 2023-11-15 00:00:00 UTC, a day boundary.
pub const T0: i64 = 1_700_006_400_000;

/// Price atoms per quote unit with the default 8 price decimals.
pub const UNIT: i128 = 100_000_000;

/// `"100.05"` → atoms with 8 decimals (a leading `-` allowed).
pub fn atoms(text: &str) -> i128 {
    match text.strip_prefix('-') {
        Some(rest) => -parse_decimal(rest, 8).expect("a decimal"),
        None => parse_decimal(text, 8).expect("a decimal"),
    }
}

/// Atoms with 8 decimals → `"100.05"`.
pub fn dec(atoms: i128) -> String {
    format_atoms(atoms, 8)
}

// --- flow documents ------------------------------------------------------------------------------

/// A flow document under construction. Defaults: capital 10000, no fee, no slippage, long only,
/// one entry.
#[derive(Debug, Clone)]
pub struct Flow {
    pub doc: Value,
    edges: usize,
}

pub fn flow() -> Flow {
    Flow {
        doc: json!({
            "schemaVersion": 1,
            "settings": {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h",
                         "initialCapital": 10000, "feeBps": 0, "slippageBps": 0,
                         "direction": "long", "maxEntries": 1},
            "nodes": [],
            "edges": [],
        }),
        edges: 0,
    }
}

impl Flow {
    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.doc["settings"][key] = value;
        self
    }

    pub fn node(mut self, id: &str, type_name: &str, params: Value) -> Self {
        self.doc["nodes"].as_array_mut().unwrap().push(json!({"id": id, "type": type_name, "params": params}));
        self
    }

    /// An edge `"src.port"` → `"dst.port"`, with an id `e1`, `e2`, ...
    pub fn edge(mut self, from: &str, to: &str) -> Self {
        self.edges += 1;
        let (source, source_handle) = from.split_once('.').expect("node.port");
        let (target, target_handle) = to.split_once('.').expect("node.port");
        self.doc["edges"].as_array_mut().unwrap().push(json!({
            "id": format!("e{}", self.edges), "source": source, "sourceHandle": source_handle,
            "target": target, "targetHandle": target_handle,
        }));
        self
    }

    /// A risk node wired to `action`'s `risk` input.
    pub fn risk(self, id: &str, type_name: &str, params: Value, action: &str) -> Self {
        self.node(id, type_name, params).edge(&format!("{id}.out"), &format!("{action}.risk"))
    }

    pub fn compile(&self) -> Result<Plan, FlowError> {
        compile(&self.doc)
    }

    pub fn plan(&self) -> Plan {
        self.compile().unwrap_or_else(|e| panic!("the test flow does not compile: {e:?}"))
    }
}

pub fn market(size: Value) -> Value {
    json!({"orderType": "market", "size": size})
}

pub fn fixed(qty: f64) -> Value {
    json!({"mode": "fixed", "value": qty})
}

/// One entry only: an interval trigger that ticks at bar 0 and never again feeds `buy` (market,
/// fixed `qty`). The buy is queued at bar 0's close and fills at bar 1's open.
pub fn entry_once(qty: f64) -> Flow {
    flow()
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("buy", "action.buy", market(fixed(qty)))
        .edge("once.tick", "buy.when")
}

/// The same for a short: `sell` at bar 0's close, filled at bar 1's open.
pub fn short_once(qty: f64) -> Flow {
    flow()
        .set("direction", json!("short"))
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("sell", "action.sell", market(fixed(qty)))
        .edge("once.tick", "sell.when")
}

/// Buy when the close is above `above`, close the position when it is below `below`.
pub fn close_band(above: f64, below: f64, size: Value) -> Flow {
    flow()
        .node("t", "trigger.candle_close", json!({"timeframe": "1h"}))
        .node("gt", "logic.compare", json!({"op": ">", "b": above}))
        .node("lt", "logic.compare", json!({"op": "<", "b": below}))
        .node("buy", "action.buy", market(size))
        .node("exit", "action.close", json!({"orderType": "market"}))
        .edge("t.close", "gt.a")
        .edge("t.close", "lt.a")
        .edge("gt.out", "buy.when")
        .edge("lt.out", "exit.when")
}

/// Buy 1 when the close crosses above its SMA(`period`), close when it crosses below.
pub fn sma_crossover(period: usize) -> Flow {
    flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("sma", "indicator.sma", json!({"period": period}))
        .node("up", "logic.cross", json!({"direction": "above"}))
        .node("dn", "logic.cross", json!({"direction": "below"}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .node("exit", "action.close", json!({"orderType": "market"}))
        .edge("t.close", "sma.source")
        .edge("t.close", "up.a")
        .edge("sma.value", "up.b")
        .edge("t.close", "dn.a")
        .edge("sma.value", "dn.b")
        .edge("up.out", "buy.when")
        .edge("dn.out", "exit.when")
}

/// The example flow of the design note (RSI mean reversion with a 2% stop).
pub fn example_flow() -> Flow {
    flow()
        .set("feeBps", json!(10))
        .set("slippageBps", json!(5))
        .node("t", "trigger.candle_close", json!({"timeframe": "1h"}))
        .node("rsi", "indicator.rsi", json!({"period": 14}))
        .node("lt", "logic.compare", json!({"op": "<", "b": 30}))
        .node("gt", "logic.compare", json!({"op": ">", "b": 70}))
        .node("sl", "risk.stop_loss", json!({"pct": 0.02}))
        .node("buy", "action.buy", market(json!({"mode": "pct_equity", "value": 0.5})))
        .node("exit", "action.close", json!({"orderType": "market"}))
        .edge("t.close", "rsi.source")
        .edge("rsi.value", "lt.a")
        .edge("rsi.value", "gt.a")
        .edge("lt.out", "buy.when")
        .edge("sl.out", "buy.risk")
        .edge("gt.out", "exit.when")
}

// --- candles -------------------------------------------------------------------------------------

/// Owned candle columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub ts: Vec<i64>,
    pub open: Vec<f64>,
    pub high: Vec<f64>,
    pub low: Vec<f64>,
    pub close: Vec<f64>,
    pub volume: Vec<f64>,
}

impl Series {
    /// Hourly bars from `(open, high, low, close)`, starting at `T0`.
    pub fn ohlc(bars: &[(f64, f64, f64, f64)]) -> Self {
        let n = bars.len();
        Series {
            ts: (0..n as i64).map(|i| T0 + i * HOUR_MS).collect(),
            open: bars.iter().map(|b| b.0).collect(),
            high: bars.iter().map(|b| b.1).collect(),
            low: bars.iter().map(|b| b.2).collect(),
            close: bars.iter().map(|b| b.3).collect(),
            volume: vec![1.0; n],
        }
    }

    /// Hourly bars that open, trade and close at one price each.
    pub fn flat(closes: &[f64]) -> Self {
        let bars: Vec<_> = closes.iter().map(|&c| (c, c, c, c)).collect();
        Series::ohlc(&bars)
    }

    /// The same bars `step_ms` apart.
    pub fn every(mut self, step_ms: i64) -> Self {
        self.ts = (0..self.ts.len() as i64).map(|i| T0 + i * step_ms).collect();
        self
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn candles(&self) -> Candles<'_> {
        Candles {
            timestamp: &self.ts,
            open: &self.open,
            high: &self.high,
            low: &self.low,
            close: &self.close,
            volume: &self.volume,
        }
    }

    /// The first `n` bars.
    pub fn prefix(&self, n: usize) -> Series {
        Series {
            ts: self.ts[..n].to_vec(),
            open: self.open[..n].to_vec(),
            high: self.high[..n].to_vec(),
            low: self.low[..n].to_vec(),
            close: self.close[..n].to_vec(),
            volume: self.volume[..n].to_vec(),
        }
    }

    /// Bars from steps: each `(move, up, down, gap)` in hundredths of a percent moves the close
    /// by `move`, opens `gap` away from the previous close and sets the wicks `up` / `down`
    /// beyond the body. Prices are rounded to cents so they are exact in atoms.
    pub fn walk(start: f64, steps: &[(i32, u32, u32, i32)]) -> Series {
        let cents = |x: f64| (x * 100.0).round() / 100.0;
        let mut prev = start;
        let mut bars = Vec::with_capacity(steps.len());
        for &(mv, up, down, gap) in steps {
            let open = cents((prev * (1.0 + f64::from(gap) / 10_000.0)).max(1.0));
            let close = cents((open * (1.0 + f64::from(mv) / 10_000.0)).max(1.0));
            let high = cents(open.max(close) * (1.0 + f64::from(up) / 10_000.0));
            let low = cents((open.min(close) * (1.0 - f64::from(down) / 10_000.0)).max(0.5));
            bars.push((open, high, low, close));
            prev = close;
        }
        let series = Series::ohlc(&bars);
        series.candles().check().expect("a valid walk");
        series
    }
}

// --- runs ----------------------------------------------------------------------------------------

pub fn run(plan: &Plan, series: &Series) -> Outcome {
    ordex_flow::backtest(plan, &series.candles(), &RunOptions::default()).expect("the run starts")
}

pub fn run_with(plan: &Plan, series: &Series, options: &RunOptions) -> Outcome {
    ordex_flow::backtest(plan, &series.candles(), options).expect("the run starts")
}

/// One bar's record of a step-by-step run.
#[derive(Debug, Clone, PartialEq)]
pub struct BarRecord {
    pub report: (Vec<ordex_flow::account::Fill>, Vec<usize>),
    pub cash: i128,
    pub position: Option<(Side, i128)>,
    pub trades: usize,
}

/// Runs bar by bar through `Run::step`, recording the fills, the queued actions and the account
/// after every bar.
pub fn run_steps(plan: &Plan, series: &Series, options: &RunOptions) -> (Vec<BarRecord>, Outcome) {
    let mut run = Run::new(plan, options).expect("the run starts");
    let candles = series.candles();
    let mut records = Vec::with_capacity(series.len());
    for i in 0..series.len() {
        let mut report = StepReport::default();
        run.step(&candles.bar(i), Some(&mut report));
        records.push(BarRecord {
            report: (report.fills, report.queued),
            cash: run.account.cash,
            position: run.account.position.as_ref().map(|p| (p.side, p.qty)),
            trades: run.trades().len(),
        });
    }
    (records, run.finish())
}

/// The values of every output port of node `id` after each bar.
pub fn node_outputs(plan: &Plan, series: &Series, id: &str) -> Vec<Vec<f64>> {
    let index = plan.node_index(id).expect("a node of the plan");
    let node = &plan.nodes[index];
    let ports = node.kind.outputs().len();
    let mut run = Run::new(plan, &RunOptions::default()).unwrap();
    let candles = series.candles();
    (0..series.len())
        .map(|i| {
            run.step(&candles.bar(i), None);
            (0..ports).map(|p| run.evaluator().value(node.out + p)).collect()
        })
        .collect()
}

/// A bool output per bar as 0/1.
pub fn node_flags(plan: &Plan, series: &Series, id: &str) -> Vec<u8> {
    node_outputs(plan, series, id).iter().map(|v| u8::from(v[0] > 0.5)).collect()
}

/// A trade as (entry bar, entry price, exit bar, exit price, exit reason).
pub type Row = (usize, String, usize, String, &'static str);

pub fn row(entry_bar: usize, entry: &str, exit_bar: usize, exit: &str, reason: &'static str) -> Row {
    (entry_bar, entry.to_owned(), exit_bar, exit.to_owned(), reason)
}

pub fn rows(trades: &[Trade]) -> Vec<Row> {
    trades.iter().map(|t| (t.entry_bar, dec(t.entry_price), t.exit_bar, dec(t.exit_price), t.reason.name())).collect()
}

/// Asserts two floats agree to `tol` (NaN equals NaN).
pub fn assert_close(actual: f64, expected: f64, tol: f64, what: &str) {
    if expected.is_nan() {
        assert!(actual.is_nan(), "{what}: expected NaN, got {actual}");
    } else {
        assert!((actual - expected).abs() <= tol, "{what}: expected {expected}, got {actual}");
    }
}

pub fn assert_series(actual: &[f64], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert_close(*a, *e, tol, &format!("{what}[{i}]"));
    }
}

// --- a configurable strategy for the property tests ----------------------------------------------

/// EMA(fast) / SMA(slow) crossovers plus an RSI(4) dip buy: `buy` when the fast line crosses above
/// the slow one or the RSI is under `rsi_below`; `sell` when it crosses below (closing a long, or
/// opening a short when `direction` allows). Every risk exit given is wired to both actions.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub fast: u32,
    pub slow: u32,
    pub rsi_below: f64,
    pub direction: &'static str,
    pub max_entries: u32,
    pub fee_bps: u32,
    pub slippage_bps: u32,
    pub size: Value,
    pub limit_bps: Option<u32>,
    pub stop: Option<f64>,
    pub take: Option<f64>,
    pub trail: Option<f64>,
    pub time_limit: Option<u32>,
    pub kill: Option<f64>,
}

impl Recipe {
    pub fn flow(&self) -> Flow {
        let order = |size: &Value| match self.limit_bps {
            None => json!({"orderType": "market", "size": size}),
            Some(bps) => json!({"orderType": "limit", "limitOffsetBps": bps, "size": size}),
        };
        let mut f = flow()
            .set("direction", json!(self.direction))
            .set("maxEntries", json!(self.max_entries))
            .set("feeBps", json!(self.fee_bps))
            .set("slippageBps", json!(self.slippage_bps))
            .node("t", "trigger.candle_close", json!({"timeframe": "1h"}))
            .node("fast", "indicator.ema", json!({"period": self.fast}))
            .node("slow", "indicator.sma", json!({"period": self.slow}))
            .node("rsi", "indicator.rsi", json!({"period": 4}))
            .node("up", "logic.cross", json!({"direction": "above"}))
            .node("dn", "logic.cross", json!({"direction": "below"}))
            .node("cheap", "logic.compare", json!({"op": "<", "b": self.rsi_below}))
            .node("go", "logic.or", json!({}))
            .node("buy", "action.buy", order(&self.size))
            .node("sell", "action.sell", order(&self.size))
            .edge("t.close", "fast.source")
            .edge("t.close", "slow.source")
            .edge("t.close", "rsi.source")
            .edge("fast.value", "up.a")
            .edge("slow.value", "up.b")
            .edge("fast.value", "dn.a")
            .edge("slow.value", "dn.b")
            .edge("rsi.value", "cheap.a")
            .edge("up.out", "go.a")
            .edge("cheap.out", "go.b")
            .edge("go.out", "buy.when")
            .edge("dn.out", "sell.when");
        let risks = [
            ("sl", "risk.stop_loss", self.stop.map(|p| json!({"pct": p}))),
            ("tp", "risk.take_profit", self.take.map(|p| json!({"pct": p}))),
            ("ts", "risk.trailing_stop", self.trail.map(|p| json!({"pct": p}))),
            ("tl", "risk.time_limit", self.time_limit.map(|b| json!({"bars": b}))),
            ("ks", "risk.kill_switch", self.kill.map(|p| json!({"maxDrawdownPct": p}))),
        ];
        for (id, type_name, params) in risks {
            if let Some(p) = params {
                f = f.risk(id, type_name, p, "buy").edge(&format!("{id}.out"), "sell.risk");
            }
        }
        f
    }
}

/// proptest strategies for candles and flows.
pub mod gen {
    use super::{Recipe, Series};
    use proptest::prelude::*;
    use serde_json::json;

    /// A random walk of `len` bars (see `Series::walk`): moves up to ±3%, wicks up to 2%, gaps up
    /// to ±0.8%.
    pub fn series(len: std::ops::Range<usize>) -> impl Strategy<Value = Series> {
        (50.0f64..500.0, prop::collection::vec((-300i32..300, 0u32..200, 0u32..200, -80i32..80), len))
            .prop_map(|(start, steps)| Series::walk((start * 100.0).round() / 100.0, &steps))
    }

    pub fn recipe() -> impl Strategy<Value = Recipe> {
        let core = (
            2u32..6,
            1u32..8,
            prop_oneof![Just(0.0), 15.0f64..40.0],
            prop_oneof![Just("long"), Just("short"), Just("both")],
            1u32..4,
            0u32..40,
            0u32..30,
            prop::option::of(0u32..150),
        );
        let sizes = prop_oneof![
            (0.01f64..40.0).prop_map(|v| json!({"mode": "fixed", "value": v})),
            (0.05f64..=1.0).prop_map(|v| json!({"mode": "pct_equity", "value": v})),
            (0.005f64..0.2).prop_map(|v| json!({"mode": "risk", "value": v})),
        ];
        let risks = (
            prop::option::of(0.005f64..0.15),
            prop::option::of(0.005f64..0.2),
            prop::option::of(0.005f64..0.15),
            prop::option::of(1u32..15),
            prop::option::of(0.02f64..0.5),
        );
        (core, sizes, risks).prop_map(
            |((fast, extra, rsi_below, direction, max_entries, fee, slip, limit), size, (sl, tp, ts, tl, ks))| {
                // Risk sizing needs a stop loss: give it one.
                let stop = if size["mode"] == "risk" { Some(sl.unwrap_or(0.05)) } else { sl };
                Recipe {
                    fast,
                    slow: fast + extra,
                    rsi_below,
                    direction,
                    max_entries,
                    fee_bps: fee,
                    slippage_bps: slip,
                    size,
                    limit_bps: limit,
                    stop,
                    take: tp,
                    trail: ts,
                    time_limit: tl,
                    kill: ks,
                }
            },
        )
    }
}
