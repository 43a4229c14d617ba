//! Property tests over random candles and random flows (crossovers, dip buys, every risk exit,
//! every size mode, market and limit orders, long/short/both): the account replayed from the
//! fills agrees with the run to the atom, fills stay inside their bar (give or take slippage),
//! closed trades add up to the final equity, trades never overlap, metrics are finite and
//! consistent, runs are deterministic and a sweep row is the backtest of its parameters.

mod common;

use common::gen;
use common::*;
use ordex_flow::account::Side;
use ordex_flow::money::{div_ceil, div_floor};
use ordex_flow::sweep::{sweep, Axis};
use ordex_flow::RunOptions;
use proptest::prelude::*;

const PPB: i128 = 1_000_000_000;
const CAPITAL: i128 = 10_000 * UNIT;

fn to_atoms(x: f64) -> i128 {
    (x * 1e8).round() as i128
}

/// A backtest (nodes evaluated over blocks of bars) and a bar-by-bar run (`Run::step`, as a live
/// execution) give the same signals, trades, equity and metrics.
fn same_outcome(steps: &ordex_flow::Outcome, blocks: &ordex_flow::Outcome) -> Result<(), TestCaseError> {
    prop_assert_eq!(&steps.trades, &blocks.trades);
    prop_assert_eq!(&steps.equity, &blocks.equity);
    prop_assert_eq!(&steps.daily, &blocks.daily);
    prop_assert_eq!(&steps.metrics, &blocks.metrics);
    prop_assert_eq!(steps.open_position, blocks.open_position);
    Ok(())
}

/// Replays the fills of a step-by-step run and checks it against the run, bar by bar and at the
/// end.
fn check_run(recipe: &Recipe, series: &Series) -> Result<(), TestCaseError> {
    let plan = recipe.flow().plan();
    let fee_ppb = i128::from(recipe.fee_bps) * 100_000;
    let slip_ppb = i128::from(recipe.slippage_bps) * 100_000;
    let (records, out) = run_steps(&plan, series, &RunOptions::default());
    same_outcome(&out, &run(&plan, series))?;

    let mut cash = CAPITAL;
    let mut position: Option<(Side, i128)> = None;
    let mut fees = 0;
    let mut gross = 0; // notional received minus notional paid, fees apart
    let mut open_flow = 0; // cash in and out of the open position's entries
    let mut open_fees = 0;
    let mut exits = Vec::new(); // (bar, price) of every closing fill
    let (mut peak, mut max_dd, mut max_dd_pct) = (CAPITAL, 0i128, 0f64);
    let mut equity = CAPITAL;
    for (i, rec) in records.iter().enumerate() {
        let (low, high, close) = (to_atoms(series.low[i]), to_atoms(series.high[i]), to_atoms(series.close[i]));
        for f in &rec.report.0 {
            prop_assert_eq!(f.bar, i);
            prop_assert!(f.qty > 0);
            let notional = f.qty * f.price;
            // Fees round up on every fill's notional.
            prop_assert_eq!(f.fee, div_ceil(notional * fee_ppb, UNIT * PPB));
            fees += f.fee;
            // Buys: at most the high plus slippage; sells: at least the low minus slippage.
            let (lo, hi) = if f.side == Side::Long {
                (low, div_ceil(high * (PPB + slip_ppb), PPB))
            } else {
                (div_floor(low * (PPB - slip_ppb), PPB), high)
            };
            prop_assert!(lo <= f.price && f.price <= hi, "bar {} fill {:?} outside [{}, {}]", i, f, lo, hi);
            if slip_ppb == 0 {
                prop_assert!(low <= f.price && f.price <= high);
            }
            let flow = match f.side {
                Side::Long => -(div_ceil(notional, UNIT) + f.fee),
                Side::Short => div_floor(notional, UNIT) - f.fee,
            };
            cash += flow;
            gross += flow + f.fee;
            if f.opening {
                let held = position.map_or(0, |(side, q)| {
                    assert_eq!(side, f.side, "an entry adds to its own side");
                    q
                });
                position = Some((f.side, held + f.qty));
                open_flow += flow;
                open_fees += f.fee;
            } else {
                let (side, q) = position.expect("an exit closes a position");
                prop_assert!(side != f.side && q == f.qty, "an exit closes the whole position");
                position = None;
                exits.push((i, f.price));
                open_flow = 0;
                open_fees = 0;
            }
        }
        prop_assert_eq!(rec.cash, cash, "cash after bar {}", i);
        prop_assert_eq!(rec.position, position, "position after bar {}", i);
        prop_assert_eq!(rec.trades, exits.len());
        equity = match position {
            None => cash,
            Some((Side::Long, q)) => cash + div_floor(q * close, UNIT),
            Some((Side::Short, q)) => cash - div_ceil(q * close, UNIT),
        };
        prop_assert_eq!(out.equity[i], equity as f64 / 1e8, "equity at bar {}", i);
        peak = peak.max(equity);
        max_dd = max_dd.max(peak - equity);
        max_dd_pct = max_dd_pct.max((peak - equity) as f64 / peak as f64 * 100.0);
    }

    // Trades: one per closing fill, in order, never overlapping.
    let trades = &out.trades;
    prop_assert_eq!(trades.len(), exits.len());
    for (t, &(bar, price)) in trades.iter().zip(&exits) {
        prop_assert_eq!((t.exit_bar, t.exit_price), (bar, price));
        prop_assert!(t.entry_bar <= t.exit_bar && t.qty > 0);
        prop_assert_eq!((t.entry_ts, t.exit_ts), (series.ts[t.entry_bar], series.ts[t.exit_bar]));
    }
    for pair in trades.windows(2) {
        prop_assert!(pair[1].entry_bar >= pair[0].exit_bar, "overlapping trades {:?}", pair);
    }
    prop_assert_eq!(out.open_position, position.is_some());

    // Money adds up exactly.
    let pnl: i128 = trades.iter().map(|t| t.pnl).sum();
    let trade_fees: i128 = trades.iter().map(|t| t.fees).sum();
    prop_assert_eq!(cash, CAPITAL + pnl + open_flow);
    prop_assert_eq!(cash, CAPITAL + gross - fees);
    prop_assert_eq!(trade_fees + open_fees, fees);
    let m = &out.metrics;
    prop_assert_eq!(m.fees, fees);
    prop_assert_eq!(m.final_equity, equity);
    prop_assert_eq!(m.pnl, equity - CAPITAL);
    if position.is_none() {
        prop_assert_eq!(m.final_equity, CAPITAL + pnl);
    }
    prop_assert_eq!(m.max_drawdown, max_dd);
    prop_assert!((m.max_drawdown_percent - max_dd_pct).abs() < 1e-9);

    // Metrics are finite and agree with the trades.
    prop_assert_eq!(m.bars, series.len());
    prop_assert_eq!(m.total_trades, trades.len());
    prop_assert_eq!(m.winning_trades, trades.iter().filter(|t| t.pnl > 0).count());
    prop_assert_eq!(m.losing_trades, trades.iter().filter(|t| t.pnl < 0).count());
    prop_assert!(m.max_drawdown_percent.is_finite() && (0.0..=100.0).contains(&m.max_drawdown_percent));
    prop_assert!(m.pnl_percent().is_finite() && (0.0..=1.0).contains(&m.win_rate()));
    prop_assert!(m.sharpe_ratio.is_none_or(f64::is_finite));
    match m.profit_factor {
        None => prop_assert_eq!(m.losing_trades, 0),
        Some(pf) => prop_assert!(pf.is_finite() && pf >= 0.0 && m.losing_trades > 0),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_account_reconciles_with_every_fill(series in gen::series(20..160), recipe in gen::recipe()) {
        check_run(&recipe, &series)?;
    }

    #[test]
    fn runs_are_deterministic(series in gen::series(20..120), recipe in gen::recipe()) {
        let plan = recipe.flow().plan();
        let (a, b) = (run(&plan, &series), run(&plan, &series));
        prop_assert_eq!(&a.trades, &b.trades);
        prop_assert_eq!(&a.equity, &b.equity);
        prop_assert_eq!(&a.daily, &b.daily);
        prop_assert_eq!(&a.metrics, &b.metrics);
        // Compiling the same document again changes nothing either.
        let again = run(&recipe.flow().plan(), &series);
        prop_assert_eq!(&a.trades, &again.trades);
        prop_assert_eq!(&a.metrics, &again.metrics);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Long enough to span several of the backtest's blocks of bars (1,024 in the current code).
    #[test]
    fn long_runs_reconcile_and_match_a_bar_by_bar_run(series in gen::series(1000..2600), recipe in gen::recipe()) {
        check_run(&recipe, &series)?;
    }

    #[test]
    fn a_sweep_row_is_the_backtest_of_its_parameters(
        series in gen::series(40..120),
        recipe in gen::recipe(),
        fasts in prop::collection::vec(2u32..6, 1..3),
        slows in prop::collection::vec(6u32..12, 1..3),
    ) {
        let axes = vec![
            Axis { node: "fast".into(), param: "period".into(), values: fasts.iter().map(|&v| f64::from(v)).collect() },
            Axis { node: "slow".into(), param: "period".into(), values: slows.iter().map(|&v| f64::from(v)).collect() },
        ];
        let rows = sweep(&recipe.flow().doc, &series.candles(), &axes, &RunOptions::default()).unwrap();
        prop_assert_eq!(rows.len(), fasts.len() * slows.len());
        // Grid order: the last axis varies fastest.
        let mut k = 0;
        for &fast in &fasts {
            for &slow in &slows {
                let (values, result) = &rows[k];
                prop_assert_eq!(values, &vec![f64::from(fast), f64::from(slow)]);
                let single = run(&Recipe { fast, slow, ..recipe.clone() }.flow().plan(), &series);
                prop_assert_eq!(result.as_ref().unwrap(), &single.metrics);
                k += 1;
            }
        }
    }
}
