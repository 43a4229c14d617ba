//! Risk exits (stop loss, take profit, trailing stop, time limit, kill switch), gaps, the stop-first
//! rule, and the exact integer arithmetic of slippage and fees. The entry is `entry_once`: a buy
//! queued at bar 0's close and filled at bar 1's open (100 unless said otherwise).

mod common;

use common::*;
use ordex_flow::account::Side;
use ordex_flow::RunOptions;
use rstest::rstest;
use serde_json::json;

type Bar = (f64, f64, f64, f64);
const FLAT100: Bar = (100.0, 100.0, 100.0, 100.0);
const QUIET: Bar = (100.0, 101.0, 99.0, 100.0);

fn long_with(risks: &[(&str, serde_json::Value)]) -> Flow {
    risks
        .iter()
        .enumerate()
        .fold(entry_once(1.0), |f, (i, (type_name, p))| f.risk(&format!("r{i}"), type_name, p.clone(), "buy"))
}

fn short_with(risks: &[(&str, serde_json::Value)]) -> Flow {
    risks
        .iter()
        .enumerate()
        .fold(short_once(1.0), |f, (i, (type_name, p))| f.risk(&format!("r{i}"), type_name, p.clone(), "sell"))
}

fn sl(pct: f64) -> (&'static str, serde_json::Value) {
    ("risk.stop_loss", json!({"pct": pct}))
}
fn tp(pct: f64) -> (&'static str, serde_json::Value) {
    ("risk.take_profit", json!({"pct": pct}))
}
fn trail(pct: f64) -> (&'static str, serde_json::Value) {
    ("risk.trailing_stop", json!({"pct": pct}))
}

#[test]
fn stop_loss_inside_the_bar_fills_at_the_stop() {
    // Long 1 at 100, 10% stop at 90. Bar 2 opens 100 and trades down to 89: out at 90, pnl -10.
    let plan = long_with(&[sl(0.1)]).plan();
    let out = run(&plan, &Series::ohlc(&[FLAT100, QUIET, (100.0, 100.0, 89.0, 95.0), (95.0, 96.0, 94.0, 95.0)]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", 2, "90", "stop_loss")]);
    assert_eq!(out.trades[0].pnl, atoms("-10"));
    assert!(!out.open_position);
}

#[test]
fn stop_loss_can_hit_on_the_entry_bar() {
    // Bar 1 opens 100 (the fill) and trades down to 89 in the same bar: out at 90 on bar 1.
    let plan = long_with(&[sl(0.1)]).plan();
    let out = run(&plan, &Series::ohlc(&[FLAT100, (100.0, 101.0, 89.0, 95.0), QUIET]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", 1, "90", "stop_loss")]);
}

#[rstest]
// Long: stop 90, target 110. Short: stop 110, target 90.
#[case::long_stop_inside(Side::Long, sl(0.1), (100.0, 100.0, 89.0, 95.0), "90", "stop_loss")]
// docs/flows.md: "a stop fills at its price, or at the open when the bar opened past it".
#[case::long_stop_gap(Side::Long, sl(0.1), (85.0, 87.0, 80.0, 86.0), "85", "stop_loss")]
#[case::long_stop_small_gap(Side::Long, sl(0.1), (89.5, 95.0, 89.0, 94.0), "89.5", "stop_loss")]
#[case::short_stop_inside(Side::Short, sl(0.1), (100.0, 111.0, 99.0, 105.0), "110", "stop_loss")]
#[case::short_stop_gap(Side::Short, sl(0.1), (115.0, 120.0, 114.0, 118.0), "115", "stop_loss")]
#[case::long_target_inside(Side::Long, tp(0.1), (100.0, 111.0, 99.0, 105.0), "110", "take_profit")]
// A bar that opens past the target fills at that (better) open.
#[case::long_target_gap(Side::Long, tp(0.1), (115.0, 116.0, 112.0, 114.0), "115", "take_profit")]
#[case::short_target_inside(Side::Short, tp(0.1), (100.0, 101.0, 89.0, 95.0), "90", "take_profit")]
#[case::short_target_gap(Side::Short, tp(0.1), (85.0, 88.0, 84.0, 86.0), "85", "take_profit")]
fn exit_price_inside_the_bar_or_at_a_gapped_open(
    #[case] side: Side,
    #[case] exit: (&str, serde_json::Value),
    #[case] bar2: Bar,
    #[case] price: &str,
    #[case] reason: &'static str,
) {
    let f = if side == Side::Long { long_with(&[exit]) } else { short_with(&[exit]) };
    let out = run(&f.plan(), &Series::ohlc(&[FLAT100, QUIET, bar2]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", 2, price, reason)]);
    assert_eq!(out.trades[0].side, side);
}

#[rstest]
// Stop and target both inside bar 2's range (85..115): the stop wins.
#[case::long(Side::Long, "90")]
#[case::short(Side::Short, "110")]
fn stop_wins_when_stop_and_target_are_hit_in_one_bar(#[case] side: Side, #[case] price: &str) {
    let f = if side == Side::Long { long_with(&[tp(0.1), sl(0.1)]) } else { short_with(&[tp(0.1), sl(0.1)]) };
    let out = run(&f.plan(), &Series::ohlc(&[FLAT100, QUIET, (100.0, 115.0, 85.0, 100.0)]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", 2, price, "stop_loss")]);
}

#[test]
fn trailing_stop_follows_the_best_price_up_to_the_previous_bar() {
    // 10% trailing stop, long at 100:
    //   bar 1: best so far 100 -> stop 90; low 99 holds; best becomes 105
    //   bar 2: stop 94.5; low 100 holds; best 120
    //   bar 3: stop 108; low 110 holds. (Counting this bar's own high 130 would have made the stop
    //          117 and hit it.) Best 130.
    //   bar 4: stop 117; low 116: out at 117, pnl +17.
    let plan = long_with(&[trail(0.1)]).plan();
    let series = Series::ohlc(&[
        FLAT100,
        (100.0, 105.0, 99.0, 104.0),
        (104.0, 120.0, 100.0, 118.0),
        (117.0, 130.0, 110.0, 112.0),
        (120.0, 121.0, 116.0, 118.0),
    ]);
    let out = run(&plan, &series);
    assert_eq!(rows(&out.trades), vec![row(1, "100", 4, "117", "trailing_stop")]);
    assert_eq!(out.trades[0].pnl, atoms("17"));
}

#[test]
fn short_trailing_stop_follows_the_lowest_price() {
    // Short at 100, 10% trailing: bar 1 stop 110, high 101 holds, best 95; bar 2 stop 104.5,
    // high 105: out at 104.5, pnl -4.5.
    let plan = short_with(&[trail(0.1)]).plan();
    let out = run(&plan, &Series::ohlc(&[FLAT100, (100.0, 101.0, 95.0, 96.0), (96.0, 105.0, 94.0, 104.0)]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", 2, "104.5", "trailing_stop")]);
    assert_eq!(out.trades[0].pnl, atoms("-4.5"));
}

#[rstest]
// 5% stop (95) and 10% trailing stop (90 at entry): the fixed stop is tighter at first.
#[case::fixed_is_tighter(vec![(100.0, 101.0, 94.0, 96.0)], row(1, "100", 1, "95", "stop_loss"))]
// After a high of 120 the trailing stop is 108, tighter than 95.
#[case::trailing_is_tighter(vec![(100.0, 120.0, 99.0, 118.0), (118.0, 119.0, 107.0, 110.0)], row(1, "100", 2, "108", "trailing_stop"))]
fn the_tighter_of_stop_and_trailing_stop_applies(#[case] bars: Vec<Bar>, #[case] expected: Row) {
    let plan = long_with(&[sl(0.05), trail(0.1)]).plan();
    let mut all = vec![FLAT100];
    all.extend(bars);
    assert_eq!(rows(&run(&plan, &Series::ohlc(&all)).trades), vec![expected]);
}

#[rstest]
// Entered at bar 1; held for `bars` bars, the close is queued at bar (bars)'s close and fills at
// the open of bar 1 + bars. Flat bars 100 100 101 102 103 104: the exit price is that bar's price.
#[case(1, 2, "101")]
#[case(2, 3, "102")]
#[case(3, 4, "103")]
fn time_limit_closes_after_n_bars(#[case] bars: u32, #[case] exit_bar: usize, #[case] price: &str) {
    let plan = long_with(&[("risk.time_limit", json!({"bars": bars}))]).plan();
    let out = run(&plan, &Series::flat(&[100.0, 100.0, 101.0, 102.0, 103.0, 104.0]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", exit_bar, price, "time_limit")]);
}

/// Buy 100 units (all the cash at 100) on every tick, with a 10% kill switch.
fn all_in_with_kill_switch() -> Flow {
    flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("buy", "action.buy", market(fixed(100.0)))
        .edge("t.tick", "buy.when")
        .risk("kill", "risk.kill_switch", json!({"maxDrawdownPct": 0.1}), "buy")
}

#[test]
fn kill_switch_closes_at_the_next_open_and_stops_all_entries() {
    // Long 100 at 100 (bar 1), cash 0. Closes: 95 -> equity 9500 (5% down), 89 -> 8900 (11%):
    // the kill switch queues a close, filled at bar 3's open 90: pnl 100 x (90 - 100) = -1000.
    // The buy still fires on every later tick but nothing is bought again.
    let plan = all_in_with_kill_switch().plan();
    let series = Series::ohlc(&[
        FLAT100,
        (100.0, 100.0, 95.0, 95.0),
        (95.0, 95.0, 89.0, 89.0),
        (90.0, 92.0, 88.0, 91.0),
        (95.0, 95.0, 95.0, 95.0),
        (100.0, 100.0, 100.0, 100.0),
    ]);
    let out = run(&plan, &series);
    assert_eq!(rows(&out.trades), vec![row(1, "100", 3, "90", "kill_switch")]);
    assert_eq!(out.trades[0].pnl, atoms("-1000"));
    assert!(!out.open_position);
    assert_eq!(out.equity, vec![10000.0, 9500.0, 8900.0, 9000.0, 9000.0, 9000.0]);
}

#[rstest]
// A drawdown of exactly 10% (close 90: equity 9000) trips a 10% kill switch; 9.99% does not.
#[case::exactly_the_limit(90.0, true)]
#[case::just_under(90.01, false)]
fn kill_switch_trips_at_the_limit(#[case] close2: f64, #[case] tripped: bool) {
    let plan = all_in_with_kill_switch().plan();
    let series = Series::ohlc(&[FLAT100, FLAT100, (95.0, 95.0, close2, close2), (92.0, 92.0, 92.0, 92.0)]);
    let out = run(&plan, &series);
    if tripped {
        assert_eq!(rows(&out.trades), vec![row(1, "100", 3, "92", "kill_switch")]);
    } else {
        assert!(out.trades.is_empty());
        assert!(out.open_position);
    }
}

// --- slippage and fees ---------------------------------------------------------------------------

#[test]
fn slippage_and_fees_round_numbers() {
    // fee 10 bps, slippage 5 bps, 1 unit, out after one bar (time limit).
    // buy  at ceil(100 x 1.0005)  = 100.05,  fee 100.05 x 0.001 = 0.10005
    // sell at floor(110 x 0.9995) = 109.945, fee 0.109945
    // pnl = (109.945 - 0.109945) - (100.05 + 0.10005) = 9.685005; fees 0.209995.
    let plan = long_with(&[("risk.time_limit", json!({"bars": 1}))])
        .set("feeBps", json!(10))
        .set("slippageBps", json!(5))
        .plan();
    let out = run(&plan, &Series::flat(&[100.0, 100.0, 110.0]));
    assert_eq!(rows(&out.trades), vec![row(1, "100.05", 2, "109.945", "time_limit")]);
    let t = &out.trades[0];
    assert_eq!((t.pnl, t.fees), (atoms("9.685005"), atoms("0.209995")));
    assert_eq!(out.metrics.fees, atoms("0.209995"));
    assert_eq!(out.metrics.final_equity, atoms("10009.685005"));
}

#[test]
fn slippage_and_fees_round_against_the_trader_in_atoms() {
    // 3 units, fee 7 bps, slippage 1 bps, prices 33.33333333 then 36.66666667.
    // buy:  3333333333 x 1.0001 = 3333666666.33 -> up to 3333666667 (33.33666667)
    //       notional 3 x that = 100.01000001; fee 100.01000001 x 0.0007 = 0.070007000007 -> up to
    //       0.07000701; paid 100.08000702
    // sell: 3666666667 x 0.9999 = 3666300000.33 -> down to 3666300000 (36.663)
    //       notional 109.989; fee 0.0769923 exactly; received 109.9120077
    // pnl 109.9120077 - 100.08000702 = 9.83200068; fees 0.07000701 + 0.0769923 = 0.14699931.
    let plan = entry_once(3.0)
        .risk("tl", "risk.time_limit", json!({"bars": 1}), "buy")
        .set("feeBps", json!(7))
        .set("slippageBps", json!(1))
        .plan();
    let out = run(&plan, &Series::flat(&[33.33333333, 33.33333333, 36.66666667]));
    assert_eq!(rows(&out.trades), vec![row(1, "33.33666667", 2, "36.663", "time_limit")]);
    let t = &out.trades[0];
    assert_eq!((t.qty, t.pnl, t.fees), (3 * UNIT, atoms("9.83200068"), atoms("0.14699931")));
    assert_eq!(out.metrics.final_equity, atoms("10009.83200068"));
}

#[rstest]
// 10 bps slippage: entry at ceil(100 x 1.001) = 100.1; stop round(100.1 x 0.9) = 90.09,
// target round(100.1 x 1.1) = 110.11.
// A triggered stop is a market sell: floor(90.09 x 0.999) = 89.99991.
#[case::stop_inside(sl(0.1), (95.0, 96.0, 85.0, 90.0), "89.99991", "stop_loss")]
// Gapped: from the open, floor(88 x 0.999) = 87.912.
#[case::stop_gap(sl(0.1), (88.0, 89.0, 85.0, 87.0), "87.912", "stop_loss")]
// A take profit fills at its price, no slippage.
#[case::target(tp(0.1), (105.0, 112.0, 104.0, 111.0), "110.11", "take_profit")]
fn exits_with_slippage(
    #[case] exit: (&str, serde_json::Value),
    #[case] bar2: Bar,
    #[case] price: &str,
    #[case] reason: &'static str,
) {
    let plan = long_with(&[exit]).set("slippageBps", json!(10)).plan();
    let out = run(&plan, &Series::ohlc(&[FLAT100, QUIET, bar2]));
    assert_eq!(rows(&out.trades), vec![row(1, "100.1", 2, price, reason)]);
}

#[test]
fn risk_sizing_loses_the_stated_share_at_the_stop() {
    // 1% of 10000 at risk with a 2% stop: 50 units at 100, stop 98; stopped out: 50 x -2 = -100.
    let plan = flow()
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("buy", "action.buy", market(json!({"mode": "risk", "value": 0.01})))
        .edge("once.tick", "buy.when")
        .risk("sl", "risk.stop_loss", json!({"pct": 0.02}), "buy")
        .plan();
    let out = run(&plan, &Series::ohlc(&[FLAT100, QUIET, (100.0, 100.0, 97.0, 99.0)]));
    assert_eq!(rows(&out.trades), vec![row(1, "100", 2, "98", "stop_loss")]);
    assert_eq!((out.trades[0].qty, out.trades[0].pnl), (50 * UNIT, atoms("-100")));
}

#[test]
fn exits_are_set_from_the_average_entry_price() {
    // Buy 1 on every tick, maxEntries 2, 10% stop: 100 (bar 1) and 110 (bar 2), average 105,
    // stop 94.5; bar 3 reaches 94: out at 94.5 with both units, pnl 189 - 210 = -21.
    let plan = flow()
        .set("maxEntries", json!(2))
        .node("t", "trigger.candle_close", json!({}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.tick", "buy.when")
        .risk("sl", "risk.stop_loss", json!({"pct": 0.1}), "buy")
        .plan();
    let out = run(&plan, &Series::ohlc(&[FLAT100, FLAT100, (110.0, 110.0, 110.0, 110.0), (100.0, 100.0, 94.0, 95.0)]));
    assert_eq!(rows(&out.trades), vec![row(1, "105", 3, "94.5", "stop_loss")]);
    assert_eq!((out.trades[0].qty, out.trades[0].pnl), (2 * UNIT, atoms("-21")));
}

#[test]
fn fees_are_charged_on_stop_fills() {
    // fee 20 bps, no slippage: entry 100 + 0.2 fee; stopped at 90: fee 0.18; pnl -10.38.
    let plan = long_with(&[sl(0.1)]).set("feeBps", json!(20)).plan();
    let (records, out) =
        run_steps(&plan, &Series::ohlc(&[FLAT100, QUIET, (100.0, 100.0, 85.0, 88.0)]), &RunOptions::default());
    assert_eq!(rows(&out.trades), vec![row(1, "100", 2, "90", "stop_loss")]);
    assert_eq!((out.trades[0].pnl, out.trades[0].fees), (atoms("-10.38"), atoms("0.38")));
    assert_eq!(records[2].cash, atoms("9989.62"));
}

/// docs/flows.md, Money: "Buy fills round up, sell fills round down", and exit levels round as
/// the fills they become: an entry at 33.33333335 with a 10% stop gives 30.000000015, so the
/// long's stop (a sell) sits at, and fills at, 30.00000001.
#[test]
fn a_long_stop_fill_rounds_down_like_every_sell() {
    let plan = long_with(&[sl(0.1)]).plan();
    let out = run(&plan, &Series::ohlc(&[FLAT100, (33.33333335, 33.4, 33.3, 33.35), (31.0, 31.0, 29.0, 30.0)]));
    assert_eq!(rows(&out.trades), vec![row(1, "33.33333335", 2, "30.00000001", "stop_loss")]);
}
