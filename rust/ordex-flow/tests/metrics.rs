//! Metrics worked out by hand (pnl, drawdown, daily Sharpe, win rate, profit factor), the sweep
//! grid, and the limits of the 128-bit money arithmetic.

mod common;

use common::*;
use ordex_flow::account::Side;
use ordex_flow::metrics::sharpe;
use ordex_flow::sweep::{check_grid, combination, sweep, Axis};
use ordex_flow::RunOptions;
use rstest::rstest;
use serde_json::json;

#[test]
fn daily_equity_drawdown_and_sharpe_of_a_held_position() {
    // 100 units bought at 100 with all the cash (bar 1), daily bars closing 100 110 99 108.9:
    // equity 10000 11000 9900 10890. Drawdown 11000 -> 9900: 1100, 10% of the peak.
    // Daily returns, the first against the capital: 0, 0.1, -0.1, 0.1; mean 0.025,
    // std (ddof 1) sqrt(0.0275/3) = 0.0957427; Sharpe 0.025/0.0957427 x sqrt(365) = 4.98862342.
    let plan = entry_once(100.0).plan();
    let series = Series::ohlc(&[
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 112.0, 100.0, 110.0),
        (110.0, 110.0, 98.0, 99.0),
        (99.0, 109.0, 99.0, 108.9),
    ])
    .every(DAY_MS);
    let out = run(&plan, &series);
    assert_eq!(out.equity, vec![10000.0, 11000.0, 9900.0, 10890.0]);
    let days: Vec<(i64, f64)> = (0..4).map(|i| T0 + i * DAY_MS).zip([10000.0, 11000.0, 9900.0, 10890.0]).collect();
    assert_eq!(out.daily, days);
    let m = &out.metrics;
    assert_eq!((m.final_equity, m.pnl, m.max_drawdown), (atoms("10890"), atoms("890"), atoms("1100")));
    assert_close(m.max_drawdown_percent, 10.0, 1e-12, "maxDrawdownPercent");
    assert_close(m.pnl_percent(), 8.9, 1e-12, "pnlPercent");
    assert_close(m.sharpe_ratio.unwrap(), 4.988_623_420_981_346, 1e-9, "sharpe");
    // No closed trade: the position is still open.
    assert_eq!((m.total_trades, m.winning_trades, m.losing_trades), (0, 0, 0));
    assert_eq!((m.win_rate(), m.profit_factor, m.fees, m.bars), (0.0, None, 0, 4));
    assert!(out.open_position);
}

#[test]
fn daily_equity_is_the_last_mark_of_each_utc_day() {
    // 30 hourly bars from midnight: day 0 is bars 0-23, day 1 bars 24-29. 10 units bought at 100
    // (bar 1); bar i closes at 100 + i.
    let plan = entry_once(10.0).plan();
    let closes: Vec<f64> = (0..30).map(|i| 100.0 + f64::from(i)).collect();
    let bars: Vec<_> = closes.iter().enumerate().map(|(i, &c)| (if i == 1 { 100.0 } else { c }, c, 100.0, c)).collect();
    let out = run(&plan, &Series::ohlc(&bars));
    // cash 9000 + 10 x close: bar 23 closes 123 -> 10230, bar 29 closes 129 -> 10290.
    assert_eq!(out.daily, vec![(T0, 10230.0), (T0 + DAY_MS, 10290.0)]);
    // Returns 0.023 and 10290/10230 - 1: two returns, so a Sharpe ratio.
    let r: [f64; 2] = [0.023, 10290.0 / 10230.0 - 1.0];
    let mean = (r[0] + r[1]) / 2.0;
    let sd = (((r[0] - mean).powi(2) + (r[1] - mean).powi(2)) / 1.0).sqrt();
    assert_close(out.metrics.sharpe_ratio.unwrap(), mean / sd * 365f64.sqrt(), 1e-9, "sharpe");
}

#[rstest]
#[case::one_return(vec![(0, 11000.0)], None)]
#[case::no_deviation(vec![(0, 11000.0), (1, 12100.0)], None)] // +10% twice
#[case::up_and_down(vec![(0, 11000.0), (1, 9900.0)], Some(0.0))] // +10%, -10%: mean 0
fn sharpe_needs_two_returns_and_some_deviation(#[case] daily: Vec<(i64, f64)>, #[case] expected: Option<f64>) {
    match (sharpe(10000.0, &daily), expected) {
        (None, None) => {}
        (Some(a), Some(e)) => assert_close(a, e, 1e-12, "sharpe"),
        (a, e) => panic!("sharpe {a:?}, expected {e:?}"),
    }
}

#[test]
fn win_rate_and_profit_factor_over_closed_trades() {
    // Buy 10 units on every tick, each held one bar (time limit): closes 100 100 103 102.
    //   trade 1: 100 (bar 1) -> 103 (bar 2): +30; trade 2: 103 -> 102 (bar 3): -10;
    //   a third entry at 102 is open at the end.
    // win rate 1/2, profit factor 30/10 = 3; equity 10000 10000 10030 10020: drawdown 10.
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("buy", "action.buy", market(fixed(10.0)))
        .edge("t.tick", "buy.when")
        .risk("tl", "risk.time_limit", json!({"bars": 1}), "buy")
        .plan();
    let out = run(&plan, &Series::flat(&[100.0, 100.0, 103.0, 102.0]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", 2, "103", "time_limit"), row(2, "103", 3, "102", "time_limit")]);
    let pnls: Vec<i128> = out.trades.iter().map(|t| t.pnl).collect();
    assert_eq!(pnls, vec![atoms("30"), atoms("-10")]);
    let m = &out.metrics;
    assert_eq!((m.total_trades, m.winning_trades, m.losing_trades), (2, 1, 1));
    assert_eq!((m.win_rate(), m.profit_factor), (0.5, Some(3.0)));
    assert_eq!((m.pnl, m.max_drawdown), (atoms("20"), atoms("10")));
    assert_close(m.max_drawdown_percent, 10.0 / 10030.0 * 100.0, 1e-12, "maxDrawdownPercent");
    assert_eq!(m.sharpe_ratio, None); // one UTC day: one return
    assert!(out.open_position);
}

#[test]
fn break_even_trades_are_neither_won_nor_lost() {
    // Enter and exit at the same open (buy queued before a close on every tick): three trades of
    // pnl 0 over flat bars 10 11 12 13.
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("a_buy", "action.buy", market(fixed(1.0)))
        .node("z_close", "action.close", json!({}))
        .edge("t.tick", "a_buy.when")
        .edge("t.tick", "z_close.when")
        .plan();
    let m = run(&plan, &Series::flat(&[10.0, 11.0, 12.0, 13.0])).metrics;
    assert_eq!((m.total_trades, m.winning_trades, m.losing_trades), (3, 0, 0));
    assert_eq!((m.win_rate(), m.profit_factor, m.pnl), (0.0, None, 0));
}

#[test]
fn run_options_override_the_flow_settings() {
    // The flow says no fee and 10000; the run says 20 bps and 5000.5: 1 unit at 100 costs 100.2.
    let plan = entry_once(1.0).plan();
    let options = RunOptions {
        fee_bps: Some(20.0),
        initial_capital: Some(ordex_flow::compile::Amount::Decimal("5000.5".into())),
        ..RunOptions::default()
    };
    let (records, out) = run_steps(&plan, &Series::flat(&[100.0, 100.0]), &options);
    assert_eq!(records[1].cash, atoms("4900.3"));
    assert_eq!((out.metrics.capital, out.metrics.final_equity), (atoms("5000.5"), atoms("5000.3")));
    // keep_equity off leaves the curve empty but not the metrics.
    let bare = run_with(&plan, &Series::flat(&[100.0, 100.0]), &RunOptions { keep_equity: false, ..options });
    assert!(bare.equity.is_empty());
    assert_eq!(bare.metrics, out.metrics);
}

// --- sweeps --------------------------------------------------------------------------------------

fn axis(node: &str, param: &str, values: &[f64]) -> Axis {
    Axis { node: node.into(), param: param.into(), values: values.to_vec() }
}

#[test]
fn sweep_rows_in_grid_order_with_refused_combinations() {
    // close_band (buy when close > gt.b, close when close < lt.b) over flat closes
    // 90 101 102 94 96 103 104; gt.b in {100, 101} (the slower axis), lt.b in {95, 93}.
    //   (100, 95): long 102 (bar 2) -> 96 (bar 4), long again at 104: pnl -6
    //   (100, 93): long 102, never closed, marked at 104: +2
    //   (101, 95): bar 2's 102 signals, long 94 (bar 3) -> 96 (bar 4), long at 104: +2
    //   (101, 93): long 94, marked at 104: +10
    let doc = close_band(100.0, 95.0, fixed(1.0)).doc;
    let series = Series::flat(&[90.0, 101.0, 102.0, 94.0, 96.0, 103.0, 104.0]);
    let axes = [axis("gt", "b", &[100.0, 101.0]), axis("lt", "b", &[95.0, 93.0])];
    let rows = sweep(&doc, &series.candles(), &axes, &RunOptions::default()).unwrap();
    let values: Vec<Vec<f64>> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(values, vec![vec![100.0, 95.0], vec![100.0, 93.0], vec![101.0, 95.0], vec![101.0, 93.0]]);
    let pnl: Vec<i128> = rows.iter().map(|r| r.1.as_ref().unwrap().pnl).collect();
    assert_eq!(pnl, vec![atoms("-6"), atoms("2"), atoms("2"), atoms("10")]);
    assert_eq!(combination(&axes, 2), vec![101.0, 95.0]);

    // A combination the catalog refuses is a row with its error, not a failed sweep.
    let bad = sweep(&doc, &series.candles(), &[axis("gt", "op", &[1.0])], &RunOptions::default()).unwrap();
    let err = bad[0].1.as_ref().unwrap_err();
    assert_eq!((err.node.as_deref(), err.problem, err.param.as_deref()), (Some("gt"), "bad_param", Some("op")));
}

#[rstest]
#[case::unknown_node(vec![axis("ghost", "period", &[1.0])], Some("ghost"), "unknown_node", Some("period"))]
#[case::no_values(vec![axis("gt", "b", &[])], Some("gt"), "bad_param", Some("b"))]
#[case::not_finite(vec![axis("gt", "b", &[f64::NAN])], Some("gt"), "bad_param", Some("b"))]
#[case::too_many(vec![axis("gt", "b", &[1.0; 1001]), axis("lt", "b", &[1.0; 1001])], None, "bad_document", None)]
fn sweep_grid_is_checked_first(
    #[case] axes: Vec<Axis>,
    #[case] node: Option<&str>,
    #[case] problem: &str,
    #[case] param: Option<&str>,
) {
    let doc = close_band(100.0, 95.0, fixed(1.0)).doc;
    let err = check_grid(&doc, &axes).unwrap_err();
    assert_eq!((err.node.as_deref(), err.problem, err.param.as_deref()), (node, problem, param));
}

// --- the limits of the integer arithmetic --------------------------------------------------------

/// `initialCapital` may be 1e12. Fully invested, two bars of drawdown (3%, then 4%) make the
/// exact ratio comparison of the drawdowns `fall * p > f * peak` leave 128 bits (4e18 x 1e20
/// atoms): it must still be exact.
#[test]
fn drawdown_of_the_largest_capital_fits_the_arithmetic() {
    let plan = flow()
        .set("initialCapital", json!(1e12))
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("buy", "action.buy", market(json!({"mode": "pct_equity", "value": 1})))
        .edge("once.tick", "buy.when")
        .plan();
    // 1e10 units at 100; closes 97, 96: equity 9.7e11, 9.6e11.
    let out = run(&plan, &Series::flat(&[100.0, 100.0, 97.0, 96.0]));
    assert_eq!(out.metrics.max_drawdown, atoms("40000000000"));
    assert_close(out.metrics.max_drawdown_percent, 4.0, 1e-12, "maxDrawdownPercent");
}

/// `RunOptions` accepts up to 12 price and quantity decimals; with both at 12 and a capital of
/// 1e6 the pct_equity sizing `equity * f * qty_scale` leaves 128 bits (1e18 x 1e9 x 1e12): the
/// quantity must still be exact.
#[test]
fn sizing_with_twelve_decimals_fits_the_arithmetic() {
    let plan = flow()
        .set("initialCapital", json!(1_000_000))
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("buy", "action.buy", market(json!({"mode": "pct_equity", "value": 1})))
        .edge("once.tick", "buy.when")
        .plan();
    let options = RunOptions { price_decimals: 12, qty_decimals: 12, ..RunOptions::default() };
    let (records, _) = run_steps(&plan, &Series::flat(&[100.0, 100.0]), &options);
    // 1e6 / 100 = 10000 units, in atoms of 1e-12.
    assert_eq!(records[1].position, Some((Side::Long, 10_000 * 10i128.pow(12))));
    assert_eq!(records[1].cash, 0);
}
