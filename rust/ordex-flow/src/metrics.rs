//! Equity marks and the metrics of docs/flows.md, one definition for backtests, flow performance
//! and dashboards. Drawdowns are tracked in integer atoms; ratios are reported as floats.

use crate::account::Account;
use crate::money::{atoms_to_f64, ratio_gt};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone)]
pub struct EquityTracker {
    capital: i128,
    scale: f64,
    peak: i128,
    last: i128,
    max_drawdown: i128,
    /// The largest fall as a share of its peak: (fall, peak), compared exactly.
    max_drawdown_ratio: (i128, i128),
    keep: bool,
    pub equity: Vec<f64>,
    pub daily: Vec<(i64, f64)>,
    /// The UTC day of the last mark: [start, start + DAY_MS).
    day: Option<i64>,
    bars: usize,
}

impl EquityTracker {
    pub fn new(capital: i128, scale: i128, keep: bool) -> Self {
        EquityTracker {
            capital,
            scale: scale as f64,
            peak: capital,
            last: capital,
            max_drawdown: 0,
            max_drawdown_ratio: (0, 1),
            keep,
            equity: Vec::new(),
            daily: Vec::new(),
            day: None,
            bars: 0,
        }
    }

    /// Room for `bars` marks of the curve.
    pub fn reserve(&mut self, bars: usize) {
        if self.keep {
            self.equity.reserve(bars);
        }
    }

    /// Marks a bar's closing equity.
    #[inline]
    pub fn mark(&mut self, ts: i64, equity: i128) {
        self.bars += 1;
        // Unchanged equity (a flat account) moves no peak and no drawdown.
        if equity != self.last || self.bars == 1 {
            self.track(equity);
        }
        let as_float = atoms_to_f64(equity, self.scale);
        if self.keep {
            self.equity.push(as_float);
        }
        match self.day {
            Some(d) if ts >= d && ts - d < DAY_MS => {
                if let Some(last) = self.daily.last_mut() {
                    last.1 = as_float;
                }
            }
            _ => {
                let day = ts.div_euclid(DAY_MS) * DAY_MS;
                self.day = Some(day);
                self.daily.push((day, as_float));
            }
        }
    }

    fn track(&mut self, equity: i128) {
        self.last = equity;
        if equity > self.peak {
            self.peak = equity;
        }
        let fall = self.peak - equity;
        if fall > self.max_drawdown {
            self.max_drawdown = fall;
        }
        let (f, p) = self.max_drawdown_ratio;
        if fall > 0 && self.peak > 0 && ratio_gt(fall, self.peak, f, p) {
            self.max_drawdown_ratio = (fall, self.peak);
        }
    }

    /// Whether the fall from the running peak to the last mark is at least `ppb` parts per billion
    /// of that peak (compared by multiplication: no rounding at the threshold).
    #[inline]
    pub fn drawdown_reaches(&self, ppb: i64) -> bool {
        self.peak > 0 && (self.peak - self.last) * i128::from(crate::catalog::PPB) >= i128::from(ppb) * self.peak
    }

    pub fn metrics(&self, account: &Account) -> Metrics {
        let trades = &account.trades;
        let winning = trades.iter().filter(|t| t.pnl > 0).count();
        let gross_profit: i128 = trades.iter().filter(|t| t.pnl > 0).map(|t| t.pnl).sum();
        let gross_loss: i128 = trades.iter().filter(|t| t.pnl < 0).map(|t| -t.pnl).sum();
        let (fall, peak) = self.max_drawdown_ratio;
        Metrics {
            scale: self.scale,
            capital: self.capital,
            final_equity: self.last,
            pnl: self.last - self.capital,
            max_drawdown: self.max_drawdown,
            max_drawdown_percent: if fall == 0 { 0.0 } else { fall as f64 / peak as f64 * 100.0 },
            sharpe_ratio: sharpe(self.capital as f64 / self.scale, &self.daily),
            profit_factor: if gross_loss == 0 { None } else { Some(gross_profit as f64 / gross_loss as f64) },
            total_trades: trades.len(),
            winning_trades: winning,
            losing_trades: trades.iter().filter(|t| t.pnl < 0).count(),
            fees: account.fees_paid,
            bars: self.bars,
        }
    }
}

/// Daily returns (the first against the initial capital), mean / std (ddof 1) x sqrt(365).
pub fn sharpe(start: f64, daily: &[(i64, f64)]) -> Option<f64> {
    let mut prev = start;
    let returns: Vec<f64> = daily
        .iter()
        .map(|&(_, e)| {
            let r = e / prev - 1.0;
            prev = e;
            r
        })
        .collect();
    if returns.len() < 2 {
        return None;
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
    let sd = var.sqrt();
    if sd == 0.0 || !sd.is_finite() {
        return None;
    }
    Some(mean / sd * 365f64.sqrt())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    /// Atoms per quote unit.
    pub scale: f64,
    pub capital: i128,
    pub final_equity: i128,
    pub pnl: i128,
    pub max_drawdown: i128,
    pub max_drawdown_percent: f64,
    pub sharpe_ratio: Option<f64>,
    pub profit_factor: Option<f64>,
    pub total_trades: usize,
    pub winning_trades: usize,
    pub losing_trades: usize,
    pub fees: i128,
    pub bars: usize,
}

impl Metrics {
    pub fn quote(&self, atoms: i128) -> f64 {
        atoms as f64 / self.scale
    }

    pub fn pnl_percent(&self) -> f64 {
        self.pnl as f64 / self.capital as f64 * 100.0
    }

    pub fn win_rate(&self) -> f64 {
        if self.total_trades == 0 {
            0.0
        } else {
            self.winning_trades as f64 / self.total_trades as f64
        }
    }
}
