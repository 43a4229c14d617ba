//! A run of a plan over bars: the five per-bar steps of docs/flows.md, the equity marks and the
//! metrics. `Run::step` takes one closed bar, so a live execution drives the same code as a
//! backtest does over a whole series.

use std::ops::Deref;
use std::sync::Arc;

use crate::account::{Account, ActionSpec, BarAtoms, ExitReason, Fill, OrderView, Trade};
use crate::catalog::Kind;
use crate::compile::{check_capital, Amount, Plan};
use crate::error::FlowError;
use crate::evaluate::{Evaluator, BLOCK};
use crate::metrics::{EquityTracker, Metrics};
use crate::money::{parse_decimal, to_atoms};
use crate::Bar;

/// Scales and overrides of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    pub price_decimals: u32,
    pub qty_decimals: u32,
    pub initial_capital: Option<Amount>,
    pub fee_bps: Option<f64>,
    pub slippage_bps: Option<f64>,
    /// Keep the equity of every bar (the curve); sweeps leave it off.
    pub keep_equity: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            price_decimals: 8,
            qty_decimals: 8,
            initial_capital: None,
            fee_bps: None,
            slippage_bps: None,
            keep_equity: true,
        }
    }
}

pub const MAX_DECIMALS: u32 = 12;

fn bps(name: &str, value: f64) -> Result<i64, FlowError> {
    if (0.0..=1000.0).contains(&value) {
        Ok((value * 100_000.0).round() as i64)
    } else {
        Err(FlowError::setting(name, "must be a number of basis points between 0 and 1000"))
    }
}

/// Column-wise candles, all the same length.
#[derive(Debug, Clone, Copy)]
pub struct Candles<'a> {
    pub timestamp: &'a [i64],
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
}

impl Candles<'_> {
    pub fn len(&self) -> usize {
        self.timestamp.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamp.is_empty()
    }

    pub fn bar(&self, i: usize) -> Bar {
        Bar {
            ts: self.timestamp[i],
            open: self.open[i],
            high: self.high[i],
            low: self.low[i],
            close: self.close[i],
            volume: self.volume[i],
        }
    }

    /// One branch-free pass (columns of equal length assumed) that only says whether every bar is
    /// valid; `check` looks for the first bad bar when it is not.
    fn all_valid(&self) -> bool {
        let n = self.timestamp.len();
        let (ts, open, high, low, close, volume) = (
            &self.timestamp[..n],
            &self.open[..n],
            &self.high[..n],
            &self.low[..n],
            &self.close[..n],
            &self.volume[..n],
        );
        let mut ok = true;
        for i in 0..n {
            let (o, h, l, c) = (open[i], high[i], low[i], close[i]);
            // `x > 0.0 && x < INFINITY` is false for NaN as well.
            ok &= (o > 0.0) & (o < f64::INFINITY) & (h < f64::INFINITY) & (l > 0.0) & (c > 0.0);
            ok &= (c < f64::INFINITY) & volume[i].is_finite();
            ok &= (h >= o) & (h >= c) & (l <= o) & (l <= c);
        }
        for w in ts.windows(2) {
            ok &= w[1] > w[0];
        }
        ok
    }

    /// Equal lengths, finite positive prices, high and low around open and close, timestamps
    /// increasing. The message names the first bad bar.
    pub fn check(&self) -> Result<(), String> {
        let n = self.timestamp.len();
        for (name, len) in [
            ("open", self.open.len()),
            ("high", self.high.len()),
            ("low", self.low.len()),
            ("close", self.close.len()),
            ("volume", self.volume.len()),
        ] {
            if len != n {
                return Err(format!("column '{name}' has {len} values, 'timestamp' has {n}"));
            }
        }
        if self.all_valid() {
            return Ok(());
        }
        for i in 0..n {
            let b = self.bar(i);
            let prices = [b.open, b.high, b.low, b.close];
            if prices.iter().any(|x| !x.is_finite() || *x <= 0.0) || !b.volume.is_finite() {
                return Err(format!("bar {i}: prices must be finite and above 0"));
            }
            if b.high < b.open.max(b.close) || b.low > b.open.min(b.close) {
                return Err(format!("bar {i}: high and low must enclose open and close"));
            }
            if i > 0 && b.ts <= self.timestamp[i - 1] {
                return Err(format!("bar {i}: timestamps must increase"));
            }
        }
        Ok(())
    }
}

/// What one bar did: the fills at its open and intra-bar, and the orders queued at its close.
#[derive(Debug, Clone, Default)]
pub struct StepReport {
    pub fills: Vec<Fill>,
    /// Action nodes whose order was queued at this bar's close.
    pub queued: Vec<usize>,
}

/// The plan of a run: borrowed (backtests, sweeps) or shared (a live run that outlives its
/// caller's frame, e.g. one held by a Python object).
#[derive(Debug, Clone)]
pub enum PlanRef<'p> {
    Borrowed(&'p Plan),
    Shared(Arc<Plan>),
}

impl Deref for PlanRef<'_> {
    type Target = Plan;

    #[inline]
    fn deref(&self) -> &Plan {
        match self {
            PlanRef::Borrowed(p) => p,
            PlanRef::Shared(p) => p,
        }
    }
}

/// A plan running over bars.
#[derive(Debug, Clone)]
pub struct Run<'p> {
    plan: PlanRef<'p>,
    evaluator: Evaluator,
    pub account: Account,
    tracker: EquityTracker,
    price_scale: f64,
    capital: i128,
    /// Bars settled so far.
    index: usize,
    fired: Vec<usize>,
    /// The report of a step nobody asked one of (its vectors reused bar after bar).
    scratch: StepReport,
}

impl<'p> Run<'p> {
    /// A run fed one bar at a time (`step`).
    pub fn new(plan: &'p Plan, options: &RunOptions) -> Result<Self, FlowError> {
        Self::with_block(PlanRef::Borrowed(plan), options, 1)
    }

    /// A run fed one bar at a time that owns a share of its plan (live executions).
    pub fn shared(plan: Arc<Plan>, options: &RunOptions) -> Result<Run<'static>, FlowError> {
        Run::with_block(PlanRef::Shared(plan), options, 1)
    }

    /// A run whose evaluator takes blocks of up to `block` bars.
    fn with_block(plan: PlanRef<'p>, options: &RunOptions, block: usize) -> Result<Self, FlowError> {
        if options.price_decimals > MAX_DECIMALS || options.qty_decimals > MAX_DECIMALS {
            return Err(FlowError::document(format!("price and quantity decimals are at most {MAX_DECIMALS}")));
        }
        let mut settings = plan.settings.clone();
        if let Some(c) = &options.initial_capital {
            check_capital(c)?;
            settings.initial_capital = c.clone();
        }
        if let Some(f) = options.fee_bps {
            settings.fee_ppb = bps("feeBps", f)?;
        }
        if let Some(s) = options.slippage_bps {
            settings.slippage_ppb = bps("slippageBps", s)?;
        }
        let scale = 10i128.pow(options.price_decimals);
        let capital = match &settings.initial_capital {
            Amount::Number(x) => to_atoms(*x, scale as f64),
            Amount::Decimal(s) => parse_decimal(s, options.price_decimals).ok_or_else(|| {
                FlowError::setting("initialCapital", format!("has more than {} decimals", options.price_decimals))
            })?,
        };
        if capital <= 0 {
            return Err(FlowError::setting("initialCapital", "is below the price precision"));
        }
        let evaluator = Evaluator::new(&plan, block);
        Ok(Run {
            plan,
            evaluator,
            account: Account::new(&settings, capital, options.qty_decimals),
            tracker: EquityTracker::new(capital, scale, options.keep_equity),
            price_scale: scale as f64,
            capital,
            index: 0,
            fired: Vec::new(),
            scratch: StepReport::default(),
        })
    }

    pub fn capital(&self) -> i128 {
        self.capital
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Bars stepped so far.
    pub fn bars(&self) -> usize {
        self.index
    }

    /// The price scale's atoms of `price` (rounded as the run rounds bar prices).
    pub fn price_atoms(&self, price: f64) -> i128 {
        to_atoms(price, self.price_scale)
    }

    /// The orders queued for the next open, entries sized at `close` (the last bar's close).
    pub fn pending_orders(&self, close: f64) -> Vec<OrderView> {
        self.account.pending_orders(self.price_atoms(close))
    }

    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    pub fn fire_trigger(&mut self, node: usize) {
        self.evaluator.fire(node);
    }

    /// One closed bar through the five steps.
    pub fn step(&mut self, bar: &Bar, report: Option<&mut StepReport>) {
        use std::slice::from_ref;
        let one = Candles {
            timestamp: from_ref(&bar.ts),
            open: from_ref(&bar.open),
            high: from_ref(&bar.high),
            low: from_ref(&bar.low),
            close: from_ref(&bar.close),
            volume: from_ref(&bar.volume),
        };
        self.evaluator.evaluate_block(&self.plan, &one);
        self.settle(bar, 0, report);
    }

    /// The account's part of a bar whose nodes the evaluator has run (`row` of its last block):
    /// fills at the open, exits in the bar's range, the equity mark, and the orders of the actions
    /// that fired.
    #[inline]
    fn settle(&mut self, bar: &Bar, row: usize, report: Option<&mut StepReport>) {
        let index = self.index;
        self.index += 1;
        // A flat account with nothing queued needs no price in atoms (its equity is its cash):
        // most bars of most strategies convert nothing.
        let busy = self.account.position.is_some() || !self.account.pending.is_empty();
        let scale = self.price_scale;
        let atoms = if busy {
            BarAtoms {
                index,
                ts: bar.ts,
                open: to_atoms(bar.open, scale),
                high: to_atoms(bar.high, scale),
                low: to_atoms(bar.low, scale),
                close: to_atoms(bar.close, scale),
            }
        } else {
            BarAtoms { index, ts: bar.ts, open: 0, high: 0, low: 0, close: 0 }
        };
        let report = match report {
            Some(r) => r,
            None => {
                self.scratch.fills.clear();
                self.scratch.queued.clear();
                &mut self.scratch
            }
        };
        let account = &mut self.account;
        // 1. Orders queued at the previous close fill at this open.
        if !account.pending.is_empty() {
            account.fill_pending(&atoms, &mut report.fills);
        }
        // 2. Risk exits against this bar's range.
        if account.position.is_some() {
            account.check_exits(&atoms, &mut report.fills);
        }
        // 5 (marked first: the kill switch reads it). Equity at this close.
        let equity = if busy { account.equity(atoms.close) } else { account.cash };
        self.tracker.mark(bar.ts, equity);
        if let Some(limit) = self.plan.kill_switch_ppb {
            if !account.killed && self.tracker.drawdown_reaches(limit) {
                account.queue_exit(ExitReason::KillSwitch, index);
                account.killed = true;
            }
        }
        if let Some(p) = &account.position {
            if let Some(bars) = p.time_limit {
                if index + 1 - p.entry_bar >= bars as usize && !account.has_pending_exit() {
                    account.queue_exit(ExitReason::TimeLimit, index);
                }
            }
        }
        // 3-4. Nodes at this close (evaluated already); actions queue orders for the next open.
        if index >= self.plan.warmup && self.evaluator.any_fired(row) {
            self.fired.clear();
            self.evaluator.fired_actions(row, &mut self.fired);
            let close = if busy { atoms.close } else { to_atoms(bar.close, scale) };
            for &a in &self.fired {
                let node = &self.plan.nodes[a];
                let Kind::Action { kind, order, size } = node.kind else { continue };
                let spec = ActionSpec { kind, order, size, risk: node.risk };
                if account.queue_action(&spec, close, index, a) {
                    report.queued.push(a);
                }
            }
        }
    }

    /// The metrics so far (the open position counts in equity, not in trades).
    pub fn metrics(&self) -> Metrics {
        self.tracker.metrics(&self.account)
    }

    pub fn trades(&self) -> &[Trade] {
        &self.account.trades
    }

    pub fn finish(self) -> Outcome {
        let metrics = self.tracker.metrics(&self.account);
        Outcome {
            metrics,
            trades: self.account.trades,
            equity: self.tracker.equity,
            daily: self.tracker.daily,
            open_position: self.account.position.is_some(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub metrics: Metrics,
    pub trades: Vec<Trade>,
    /// Equity at every bar's close, in quote units (for curves; money stays in `metrics`' atoms).
    pub equity: Vec<f64>,
    /// (UTC day start in ms, last equity of that day).
    pub daily: Vec<(i64, f64)>,
    pub open_position: bool,
}

/// A whole backtest: compile once, run every bar.
pub fn backtest(plan: &Plan, candles: &Candles<'_>, options: &RunOptions) -> Result<Outcome, FlowError> {
    let n = candles.len();
    let mut run = Run::with_block(PlanRef::Borrowed(plan), options, BLOCK.min(n))?;
    run.tracker.reserve(n);
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        let block = Candles {
            timestamp: &candles.timestamp[start..end],
            open: &candles.open[start..end],
            high: &candles.high[start..end],
            low: &candles.low[start..end],
            close: &candles.close[start..end],
            volume: &candles.volume[start..end],
        };
        run.evaluator.evaluate_block(plan, &block);
        for j in 0..block.len() {
            run.settle(&block.bar(j), j, None);
        }
        start = end;
    }
    Ok(run.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile_json, Bar};

    /// Every kind of node: an interval trigger beside the candle trigger, MACD, Bollinger and ATR,
    /// a cross with a wired `b`, threshold and boolean logic, limit and market orders both ways,
    /// and every risk exit.
    const FLOW: &str = r#"{"schemaVersion": 1,
      "settings": {"exchange": "x", "symbol": "A/B", "timeframe": "1m", "initialCapital": 100000,
                   "feeBps": 7, "slippageBps": 3, "direction": "both", "maxEntries": 2},
      "nodes": [
        {"id": "t", "type": "trigger.candle_close", "params": {}},
        {"id": "every3", "type": "trigger.interval", "params": {"everyBars": 3}},
        {"id": "macd", "type": "indicator.macd", "params": {"fast": 5, "slow": 13, "signal": 4}},
        {"id": "bb", "type": "indicator.bollinger", "params": {"period": 10, "stdDev": 1.5}},
        {"id": "atr", "type": "indicator.atr", "params": {"period": 7}},
        {"id": "up", "type": "logic.cross", "params": {"direction": "above"}},
        {"id": "down", "type": "logic.cross", "params": {"direction": "below"}},
        {"id": "calm", "type": "logic.threshold", "params": {"upper": 2.5}},
        {"id": "low", "type": "logic.compare", "params": {"op": "<"}},
        {"id": "long", "type": "logic.and", "params": {}},
        {"id": "short", "type": "logic.or", "params": {}},
        {"id": "notcalm", "type": "logic.not", "params": {}},
        {"id": "lowtick", "type": "logic.and", "params": {}},
        {"id": "sl", "type": "risk.stop_loss", "params": {"pct": 0.03}},
        {"id": "tp", "type": "risk.take_profit", "params": {"pct": 0.04}},
        {"id": "trail", "type": "risk.trailing_stop", "params": {"pct": 0.02}},
        {"id": "time", "type": "risk.time_limit", "params": {"bars": 40}},
        {"id": "kill", "type": "risk.kill_switch", "params": {"maxDrawdownPct": 0.3}},
        {"id": "buy", "type": "action.buy", "params": {"orderType": "limit", "limitOffsetBps": 10,
          "size": {"mode": "pct_equity", "value": 0.4}}},
        {"id": "sell", "type": "action.sell", "params": {"orderType": "market",
          "size": {"mode": "risk", "value": 0.01}}},
        {"id": "flat", "type": "action.close", "params": {"orderType": "market"}}
      ],
      "edges": [
        {"id": "e1", "source": "t", "sourceHandle": "close", "target": "macd", "targetHandle": "source"},
        {"id": "e2", "source": "t", "sourceHandle": "close", "target": "bb", "targetHandle": "source"},
        {"id": "e3", "source": "t", "sourceHandle": "close", "target": "atr", "targetHandle": "source"},
        {"id": "e4", "source": "macd", "sourceHandle": "macd", "target": "up", "targetHandle": "a"},
        {"id": "e5", "source": "macd", "sourceHandle": "signal", "target": "up", "targetHandle": "b"},
        {"id": "e6", "source": "t", "sourceHandle": "close", "target": "down", "targetHandle": "a"},
        {"id": "e7", "source": "bb", "sourceHandle": "lower", "target": "down", "targetHandle": "b"},
        {"id": "e8", "source": "atr", "sourceHandle": "value", "target": "calm", "targetHandle": "a"},
        {"id": "e9", "source": "t", "sourceHandle": "close", "target": "low", "targetHandle": "a"},
        {"id": "e10", "source": "bb", "sourceHandle": "middle", "target": "low", "targetHandle": "b"},
        {"id": "e11", "source": "up", "sourceHandle": "out", "target": "long", "targetHandle": "a"},
        {"id": "e12", "source": "calm", "sourceHandle": "out", "target": "long", "targetHandle": "b"},
        {"id": "e13", "source": "down", "sourceHandle": "out", "target": "short", "targetHandle": "a"},
        {"id": "e14", "source": "notcalm", "sourceHandle": "out", "target": "short", "targetHandle": "b"},
        {"id": "e15", "source": "calm", "sourceHandle": "out", "target": "notcalm", "targetHandle": "a"},
        {"id": "e16", "source": "long", "sourceHandle": "out", "target": "buy", "targetHandle": "when"},
        {"id": "e17", "source": "short", "sourceHandle": "out", "target": "sell", "targetHandle": "when"},
        {"id": "e18", "source": "low", "sourceHandle": "out", "target": "lowtick", "targetHandle": "a"},
        {"id": "e19", "source": "every3", "sourceHandle": "tick", "target": "lowtick", "targetHandle": "b"},
        {"id": "e20", "source": "lowtick", "sourceHandle": "out", "target": "flat", "targetHandle": "when"},
        {"id": "r1", "source": "sl", "sourceHandle": "out", "target": "sell", "targetHandle": "risk"},
        {"id": "r2", "source": "tp", "sourceHandle": "out", "target": "buy", "targetHandle": "risk"},
        {"id": "r3", "source": "trail", "sourceHandle": "out", "target": "buy", "targetHandle": "risk"},
        {"id": "r4", "source": "time", "sourceHandle": "out", "target": "sell", "targetHandle": "risk"},
        {"id": "r5", "source": "kill", "sourceHandle": "out", "target": "buy", "targetHandle": "risk"}
      ]}"#;

    struct Series {
        ts: Vec<i64>,
        open: Vec<f64>,
        high: Vec<f64>,
        low: Vec<f64>,
        close: Vec<f64>,
        volume: Vec<f64>,
    }

    /// A seeded walk (an LCG: no dependency) with a gap now and then.
    fn series(bars: usize, seed: u64) -> Series {
        let mut state = seed;
        let mut unit = move || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut s = Series { ts: vec![], open: vec![], high: vec![], low: vec![], close: vec![], volume: vec![] };
        let mut price = 100.0;
        for i in 0..bars {
            let open = if unit() < 0.01 { price * (0.97 + 0.06 * unit()) } else { price };
            let close = open * (1.0 + 0.012 * (unit() - 0.5));
            s.ts.push(1_700_000_000_000 + 60_000 * i as i64);
            s.open.push(open);
            s.close.push(close);
            s.high.push(open.max(close) * (1.0 + 0.004 * unit()));
            s.low.push(open.min(close) * (1.0 - 0.004 * unit()));
            s.volume.push(1.0 + unit());
            price = close;
        }
        s
    }

    #[test]
    fn a_shared_plan_run_matches_and_reports_its_queued_orders() {
        let plan = compile_json(FLOW).expect("the flow compiles");
        let s = series(2_000, 9);
        let options = RunOptions::default();
        let mut borrowed = Run::new(&plan, &options).expect("runs");
        let mut shared = Run::shared(Arc::new(plan.clone()), &options).expect("runs");
        let (mut orders, mut risk_exits) = (0, 0);
        for i in 0..s.ts.len() {
            let bar = Bar {
                ts: s.ts[i],
                open: s.open[i],
                high: s.high[i],
                low: s.low[i],
                close: s.close[i],
                volume: s.volume[i],
            };
            let mut report = StepReport::default();
            borrowed.step(&bar, None);
            shared.step(&bar, Some(&mut report));
            let pending = shared.pending_orders(bar.close);
            assert_eq!(pending.len(), shared.account.pending.len());
            // Every action queued this bar is among the orders, in order; the rest are exits.
            let nodes: Vec<usize> = pending.iter().filter_map(|o| o.node).collect();
            assert_eq!(nodes, report.queued);
            for o in &pending {
                assert!(o.qty >= 0);
                assert_eq!(o.reason.is_none(), o.entry);
            }
            orders += pending.len();
            risk_exits += report.fills.iter().filter(|f| f.exit.is_some_and(|r| r != ExitReason::Signal)).count();
        }
        assert_eq!(shared.bars(), s.ts.len());
        assert!(orders > 20 && risk_exits > 0, "{orders} orders, {risk_exits} risk exits");
        assert_eq!(borrowed.finish().trades, shared.finish().trades);
    }

    #[test]
    fn blocks_and_single_steps_give_the_same_run() {
        let plan = compile_json(FLOW).expect("the flow compiles");
        for (bars, seed) in [(3_000, 1), (1_024, 2), (1_025, 3), (7, 4), (0, 5)] {
            let s = series(bars, seed);
            let candles = Candles {
                timestamp: &s.ts,
                open: &s.open,
                high: &s.high,
                low: &s.low,
                close: &s.close,
                volume: &s.volume,
            };
            candles.check().expect("valid candles");
            let options = RunOptions::default();
            let blocks = backtest(&plan, &candles, &options).expect("runs");
            let mut run = Run::new(&plan, &options).expect("runs");
            for i in 0..candles.len() {
                run.step(&candles.bar(i), None);
            }
            let steps = run.finish();
            assert_eq!(blocks.trades, steps.trades, "{bars} bars");
            assert_eq!(blocks.metrics, steps.metrics, "{bars} bars");
            assert_eq!(blocks.equity, steps.equity, "{bars} bars");
            assert_eq!(blocks.daily, steps.daily, "{bars} bars");
            if bars == 3_000 {
                let reasons: std::collections::BTreeSet<&str> = blocks.trades.iter().map(|t| t.reason.name()).collect();
                assert!(blocks.trades.len() > 20, "{} trades", blocks.trades.len());
                assert!(reasons.len() >= 3, "exits seen: {reasons:?}");
            }
        }
    }
}
