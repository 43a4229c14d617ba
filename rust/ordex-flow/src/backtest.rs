//! A run of a plan over bars: the five per-bar steps of docs/flows.md, the equity marks and the
//! metrics. `Run::step` takes one closed bar, so a live execution drives the same code as a
//! backtest does over a whole series.

use crate::account::{Account, ActionSpec, BarAtoms, ExitReason, Fill, Trade};
use crate::catalog::Kind;
use crate::compile::{check_capital, Amount, Plan};
use crate::error::FlowError;
use crate::evaluate::Evaluator;
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

/// A plan running over bars.
#[derive(Debug, Clone)]
pub struct Run<'p> {
    plan: &'p Plan,
    evaluator: Evaluator,
    pub account: Account,
    tracker: EquityTracker,
    price_scale: f64,
    capital: i128,
    fired: Vec<usize>,
}

impl<'p> Run<'p> {
    pub fn new(plan: &'p Plan, options: &RunOptions) -> Result<Self, FlowError> {
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
        Ok(Run {
            plan,
            evaluator: Evaluator::new(plan),
            account: Account::new(&settings, capital, options.qty_decimals),
            tracker: EquityTracker::new(capital, scale, options.keep_equity),
            price_scale: scale as f64,
            capital,
            fired: Vec::new(),
        })
    }

    pub fn capital(&self) -> i128 {
        self.capital
    }

    pub fn evaluator(&self) -> &Evaluator {
        &self.evaluator
    }

    pub fn fire_trigger(&mut self, node: usize) {
        self.evaluator.fire(node);
    }

    /// One closed bar through the five steps.
    pub fn step(&mut self, bar: &Bar, report: Option<&mut StepReport>) {
        let index = self.evaluator.bars();
        let atoms = BarAtoms {
            index,
            ts: bar.ts,
            open: to_atoms(bar.open, self.price_scale),
            high: to_atoms(bar.high, self.price_scale),
            low: to_atoms(bar.low, self.price_scale),
            close: to_atoms(bar.close, self.price_scale),
        };
        let mut scratch = StepReport::default();
        let report = report.unwrap_or(&mut scratch);
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
        let equity = account.equity(atoms.close);
        let drawdown_ppb = self.tracker.mark(bar.ts, equity);
        if let Some(limit) = self.plan.kill_switch_ppb {
            if !account.killed && drawdown_ppb >= i128::from(limit) {
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
        // 3-4. Nodes at this close; actions queue orders for the next open.
        self.fired.clear();
        self.evaluator.evaluate(self.plan, bar, &mut self.fired);
        if index >= self.plan.warmup {
            for &a in &self.fired {
                let node = &self.plan.nodes[a];
                let Kind::Action { kind, order, size } = node.kind else { continue };
                let spec = ActionSpec { kind, order, size, risk: node.risk };
                if account.queue_action(&spec, atoms.close, index, a) {
                    report.queued.push(a);
                }
            }
        }
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
    let mut run = Run::new(plan, options)?;
    for i in 0..candles.len() {
        run.step(&candles.bar(i), None);
    }
    Ok(run.finish())
}
