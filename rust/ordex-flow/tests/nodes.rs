//! Triggers, logic nodes, actions and sizing modes on small hand-worked series. Unless said
//! otherwise: capital 10000, no fee, no slippage, long only, one entry; "flat" bars open, trade
//! and close at one price, so a fill at bar i's open is at bar i's close.

mod common;

use common::*;
use ordex_flow::account::Side;
use ordex_flow::{Run, RunOptions, StepReport};
use rstest::rstest;
use serde_json::json;

// --- triggers and the basic trade --------------------------------------------------------------

#[test]
fn candle_close_signal_fills_at_the_next_open_and_the_last_position_stays_open() {
    // Buy when close > 100, close the position when close < 95.
    //   bar 1 closes 101 -> buy queued, filled at bar 2's open 102
    //   bar 2 closes 102 -> buy again, refused: maxEntries 1
    //   bar 3 closes 94  -> close queued, filled at bar 4's open 96: pnl 96 - 102 = -6
    //   bar 5 closes 103 -> buy, filled at bar 6's open 104; still open at the last bar
    let plan = close_band(100.0, 95.0, fixed(1.0)).plan();
    let series = Series::flat(&[90.0, 101.0, 102.0, 94.0, 96.0, 103.0, 104.0]);
    let out = run(&plan, &series);

    assert_eq!(rows(&out.trades), vec![row(2, "102", 4, "96", "signal")]);
    let t = &out.trades[0];
    assert_eq!((t.side, t.qty, t.pnl, t.fees), (Side::Long, UNIT, atoms("-6"), 0));
    assert_eq!((t.entry_ts, t.exit_ts), (T0 + 2 * HOUR_MS, T0 + 4 * HOUR_MS));
    assert!(out.open_position);
    // Equity at each close: cash 9898 + 1 x close while long, 9994 flat, 9890 + 104 at the end.
    assert_eq!(out.equity, vec![10000.0, 10000.0, 10000.0, 9992.0, 9994.0, 9994.0, 9994.0]);
    assert_eq!(out.metrics.final_equity, atoms("9994"));
    assert_eq!(out.metrics.pnl, atoms("-6"));
    assert_eq!(out.metrics.total_trades, 1); // the open position is not a closed trade
}

#[test]
fn interval_trigger_ticks_every_n_bars_from_the_first() {
    // everyBars 3 ticks at bars 0, 3 and 6; with maxEntries 3 each tick adds one unit at the next
    // open: 11 (bar 1), 14 (bar 4), 17 (bar 7).
    let plan = flow()
        .set("maxEntries", json!(3))
        .node("every3", "trigger.interval", json!({"everyBars": 3}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("every3.tick", "buy.when")
        .plan();
    let series = Series::flat(&[10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]);
    let (records, out) = run_steps(&plan, &series, &RunOptions::default());

    let fills: Vec<(usize, String)> =
        records.iter().flat_map(|r| r.report.0.iter().map(|f| (f.bar, dec(f.price)))).collect();
    assert_eq!(fills, vec![(1, "11".into()), (4, "14".into()), (7, "17".into())]);
    let queued_bars: Vec<usize> = (0..records.len()).filter(|&i| !records[i].report.1.is_empty()).collect();
    assert_eq!(queued_bars, vec![0, 3, 6]);
    let last = records.last().unwrap();
    assert_eq!(last.position, Some((Side::Long, 3 * UNIT)));
    assert_eq!(last.cash, atoms("9958")); // 10000 - 11 - 14 - 17
    assert!(out.trades.is_empty());
}

#[rstest]
#[case::manual("trigger.manual")]
#[case::webhook("trigger.webhook")]
fn external_triggers_never_fire_in_a_backtest(#[case] type_name: &str) {
    let plan = flow()
        .node("ext", type_name, json!({}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("ext.tick", "buy.when")
        .plan();
    let out = run(&plan, &Series::flat(&[10.0, 11.0, 12.0, 13.0, 14.0]));
    assert!(out.trades.is_empty());
    assert!(!out.open_position);
    assert_eq!(out.equity, vec![10000.0; 5]);
}

#[test]
fn a_fired_manual_trigger_ticks_on_the_next_bar_only() {
    let plan = flow()
        .node("m", "trigger.manual", json!({}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("m.tick", "buy.when")
        .plan();
    let series = Series::flat(&[10.0, 11.0, 12.0, 13.0]);
    let candles = series.candles();
    let mut run = Run::new(&plan, &RunOptions::default()).unwrap();
    let buy = plan.node_index("buy").unwrap();

    let mut reports = Vec::new();
    for i in 0..4 {
        if i == 1 {
            run.fire_trigger(plan.node_index("m").unwrap());
        }
        let mut report = StepReport::default();
        run.step(&candles.bar(i), Some(&mut report));
        reports.push(report);
    }
    // Fired before bar 1: the buy is queued at bar 1's close and fills at bar 2's open (12).
    let queued: Vec<Vec<usize>> = reports.iter().map(|r| r.queued.clone()).collect();
    assert_eq!(queued, vec![vec![], vec![buy], vec![], vec![]]);
    assert!(reports[1].fills.is_empty());
    assert_eq!(reports[2].fills.len(), 1);
    assert_eq!((reports[2].fills[0].bar, reports[2].fills[0].price), (2, atoms("12")));
    assert!(reports[3].fills.is_empty());
}

// --- logic nodes ---------------------------------------------------------------------------------

/// `close` -> `cmp.a` -> buy, with `cmp` of the given type and params.
fn close_into(type_name: &str, params: serde_json::Value) -> Flow {
    flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("cmp", type_name, params)
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "cmp.a")
        .edge("cmp.out", "buy.when")
}

#[rstest]
#[case("<", [1, 0, 0])]
#[case("<=", [1, 1, 0])]
#[case(">", [0, 0, 1])]
#[case(">=", [0, 1, 1])]
#[case("==", [0, 1, 0])]
#[case("!=", [1, 0, 1])]
fn compare_against_a_constant(#[case] op: &str, #[case] expected: [u8; 3]) {
    // closes 1, 2, 3 against b = 2
    let plan = close_into("logic.compare", json!({"op": op, "b": 2})).plan();
    assert_eq!(node_flags(&plan, &Series::flat(&[1.0, 2.0, 3.0]), "cmp"), expected);
}

#[rstest]
#[case("<", [0, 0, 0, 0])]
#[case("<=", [0, 0, 1, 0])]
#[case(">", [0, 0, 0, 1])]
#[case(">=", [0, 0, 1, 1])]
#[case("==", [0, 0, 1, 0])]
#[case("!=", [0, 0, 0, 1])]
fn compare_is_false_while_its_input_warms_up(#[case] op: &str, #[case] expected: [u8; 4]) {
    // SMA(3) of 1, 2, 3, 4 is NaN, NaN, 2, 3; against b = 2 every op is false on a NaN,
    // `!=` included.
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("sma", "indicator.sma", json!({"period": 3}))
        .node("cmp", "logic.compare", json!({"op": op, "b": 2}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "sma.source")
        .edge("sma.value", "cmp.a")
        .edge("cmp.out", "buy.when")
        .plan();
    assert_eq!(node_flags(&plan, &Series::flat(&[1.0, 2.0, 3.0, 4.0]), "cmp"), expected);
}

#[test]
fn compare_with_b_wired_ignores_the_constant() {
    // close > open on bars (open, close) = (1, 2), (2, 2), (3, 1): 1, 0, 0. The constant b = 0
    // would have given 1, 1, 1.
    let plan = close_into("logic.compare", json!({"op": ">", "b": 0})).edge("t.open", "cmp.b").plan();
    let series = Series::ohlc(&[(1.0, 2.0, 1.0, 2.0), (2.0, 2.0, 2.0, 2.0), (3.0, 3.0, 1.0, 1.0)]);
    assert_eq!(node_flags(&plan, &series, "cmp"), [1, 0, 0]);
}

#[rstest]
// closes 1, 2, 3, 2, 1, 3 against b = 2. above: a[t-1] <= b and a[t] > b, so 2 -> 3 counts (bar 2)
// and 1 -> 3 (bar 5). below: a[t-1] >= b and a[t] < b: 2 -> 1 (bar 4); 3 -> 2 only touches.
#[case("above", [0, 0, 1, 0, 0, 1])]
#[case("below", [0, 0, 0, 0, 1, 0])]
fn cross_against_a_constant(#[case] direction: &str, #[case] expected: [u8; 6]) {
    let plan = close_into("logic.cross", json!({"direction": direction, "b": 2})).plan();
    let series = Series::flat(&[1.0, 2.0, 3.0, 2.0, 1.0, 3.0]);
    assert_eq!(node_flags(&plan, &series, "cmp"), expected);
}

#[test]
fn cross_of_two_series() {
    // close crosses above open: (o, c) = (2, 1), (1, 2), (2, 3), (3, 2), (1, 1), (1, 2).
    // bar 1: prev 1 <= 2, now 2 > 1 -> yes; bar 2: prev 2 <= 1 no; bar 4: prev 2 <= 3, 1 > 1 no;
    // bar 5: prev 1 <= 1, 2 > 1 -> yes.
    let plan = close_into("logic.cross", json!({"direction": "above"})).edge("t.open", "cmp.b").plan();
    let bars: Vec<_> = [(2.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 2.0), (1.0, 1.0), (1.0, 2.0)]
        .iter()
        .map(|&(o, c): &(f64, f64)| (o, o.max(c), o.min(c), c))
        .collect();
    assert_eq!(node_flags(&plan, &Series::ohlc(&bars), "cmp"), [0, 1, 0, 0, 0, 1]);
}

#[rstest]
#[case(json!({"lower": 2, "upper": 4}), [0, 1, 1, 1, 0])]
#[case(json!({"lower": 3}), [0, 0, 1, 1, 1])]
#[case(json!({"upper": 2}), [1, 1, 0, 0, 0])]
#[case(json!({"lower": 3, "upper": 3}), [0, 0, 1, 0, 0])]
fn threshold_is_inclusive(#[case] params: serde_json::Value, #[case] expected: [u8; 5]) {
    let plan = close_into("logic.threshold", params).plan();
    assert_eq!(node_flags(&plan, &Series::flat(&[1.0, 2.0, 3.0, 4.0, 5.0]), "cmp"), expected);
}

#[test]
fn and_or_not_truth_table() {
    // closes 1, 3, 6, 4: gt = close > 2 -> 0 1 1 1; lt = close < 5 -> 1 1 0 1.
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("gt", "logic.compare", json!({"op": ">", "b": 2}))
        .node("lt", "logic.compare", json!({"op": "<", "b": 5}))
        .node("both", "logic.and", json!({}))
        .node("either", "logic.or", json!({}))
        .node("neither", "logic.not", json!({}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "gt.a")
        .edge("t.close", "lt.a")
        .edge("gt.out", "both.a")
        .edge("lt.out", "both.b")
        .edge("gt.out", "either.a")
        .edge("lt.out", "either.b")
        .edge("gt.out", "neither.a")
        .edge("both.out", "buy.when")
        .plan();
    let series = Series::flat(&[1.0, 3.0, 6.0, 4.0]);
    assert_eq!(node_flags(&plan, &series, "both"), [0, 1, 0, 1]);
    assert_eq!(node_flags(&plan, &series, "either"), [1, 1, 1, 1]);
    assert_eq!(node_flags(&plan, &series, "neither"), [1, 0, 0, 0]);
}

#[test]
fn an_event_feeds_a_bool_input() {
    // interval(2) ticks 1 0 1 0; close > 2 on 1, 3, 6, 4 is 0 1 1 1; and: 0 0 1 0.
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("every2", "trigger.interval", json!({"everyBars": 2}))
        .node("gt", "logic.compare", json!({"op": ">", "b": 2}))
        .node("both", "logic.and", json!({}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "gt.a")
        .edge("every2.tick", "both.a")
        .edge("gt.out", "both.b")
        .edge("both.out", "buy.when")
        .plan();
    assert_eq!(node_flags(&plan, &Series::flat(&[1.0, 3.0, 6.0, 4.0]), "both"), [0, 0, 1, 0]);
}

// --- actions -------------------------------------------------------------------------------------

#[rstest]
// Sell when close > 100, buy (1 unit) when close < 95; closes 90 101 102 94 96 103 104.
// long:  bar 0 buy -> long at 101 (bar 1); bar 1 sell closes it at 102 (+1); bar 2 sell while
//        flat is ignored; bar 3 buy -> 96 (bar 4); bar 5 sell closes at 104 (+8).
// short: bar 0 buy while flat may not open a long; bar 1 sell -> short at 102; bar 3 buy closes
//        it at 96 (+6); bar 5 sell -> short at 104, open at the end.
// both:  as long until bar 2, whose sell opens a short at 94 (bar 3); bar 3's buy closes it at
//        96 (-2) without opening a long; bar 5 sell -> short at 104, open at the end.
#[case("long", vec![(row(1, "101", 2, "102", "signal"), Side::Long, "1"),
                    (row(4, "96", 6, "104", "signal"), Side::Long, "8")], false)]
#[case("short", vec![(row(2, "102", 4, "96", "signal"), Side::Short, "6")], true)]
#[case("both", vec![(row(1, "101", 2, "102", "signal"), Side::Long, "1"),
                    (row(3, "94", 4, "96", "signal"), Side::Short, "-2")], true)]
fn buy_and_sell_follow_the_direction_setting(
    #[case] direction: &str,
    #[case] expected: Vec<(Row, Side, &str)>,
    #[case] open_at_end: bool,
) {
    let plan = flow()
        .set("direction", json!(direction))
        .node("t", "trigger.candle_close", json!({}))
        .node("gt", "logic.compare", json!({"op": ">", "b": 100}))
        .node("lt", "logic.compare", json!({"op": "<", "b": 95}))
        .node("sell", "action.sell", market(fixed(1.0)))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "gt.a")
        .edge("t.close", "lt.a")
        .edge("gt.out", "sell.when")
        .edge("lt.out", "buy.when")
        .plan();
    let out = run(&plan, &Series::flat(&[90.0, 101.0, 102.0, 94.0, 96.0, 103.0, 104.0]));
    let got: Vec<(Row, Side, String)> =
        out.trades.iter().zip(rows(&out.trades)).map(|(t, r)| (r, t.side, dec(t.pnl))).collect();
    let want: Vec<(Row, Side, String)> = expected.into_iter().map(|(r, s, p)| (r, s, p.to_owned())).collect();
    assert_eq!(got, want);
    assert_eq!(out.open_position, open_at_end);
}

#[test]
fn close_does_nothing_when_flat() {
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("exit", "action.close", json!({"orderType": "market"}))
        .edge("t.tick", "exit.when")
        .plan();
    let (records, out) = run_steps(&plan, &Series::flat(&[10.0, 11.0, 12.0]), &RunOptions::default());
    assert!(records.iter().all(|r| r.report.0.is_empty() && r.report.1.is_empty()));
    assert!(out.trades.is_empty());
}

#[test]
fn max_entries_adds_to_the_position_at_the_average_price() {
    // Buy every bar (maxEntries 3): fills at 11, 12, 13 (bars 1-3), average 12; bar 3's buy is
    // refused. The close (close > 13.5) is queued at bar 4 (close 14) and fills at bar 5's open 15:
    // pnl = 3 x 15 - 36 = 9.
    let plan = flow()
        .set("maxEntries", json!(3))
        .node("t", "trigger.candle_close", json!({}))
        .node("gt", "logic.compare", json!({"op": ">", "b": 13.5}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .node("exit", "action.close", json!({"orderType": "market"}))
        .edge("t.tick", "buy.when")
        .edge("t.close", "gt.a")
        .edge("gt.out", "exit.when")
        .plan();
    let out = run(&plan, &Series::flat(&[10.0, 11.0, 12.0, 13.0, 14.0, 15.0]));
    assert_eq!(rows(&out.trades), vec![row(1, "12", 5, "15", "signal")]);
    assert_eq!((out.trades[0].qty, out.trades[0].pnl), (3 * UNIT, atoms("9")));
}

#[rstest]
#[case::actions_named_a_close_then_z_buy("a_close", "z_buy")]
#[case::actions_named_a_buy_then_z_close("a_buy", "z_close")]
fn actions_of_one_bar_run_in_node_id_order(#[case] first: &str, #[case] second: &str) {
    // Both actions fire on every tick; closes 10 11 12 13 (flat bars).
    // close first: the close sees the position, then the buy sees it closed and re-enters, so each
    //   bar's open closes one trade and opens the next: 11 -> 12, 12 -> 13, open at the end.
    // buy first: the buy is queued, then the close sees the queued long and closes it: each open
    //   enters and exits at one price: three zero-pnl trades, flat at the end.
    let close_first = first.ends_with("close");
    let (close, buy) = if close_first { (first, second) } else { (second, first) };
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node(buy, "action.buy", market(fixed(1.0)))
        .node(close, "action.close", json!({"orderType": "market"}))
        .edge("t.tick", &format!("{buy}.when"))
        .edge("t.tick", &format!("{close}.when"))
        .plan();
    let out = run(&plan, &Series::flat(&[10.0, 11.0, 12.0, 13.0]));
    if close_first {
        assert_eq!(rows(&out.trades), vec![row(1, "11", 2, "12", "signal"), row(2, "12", 3, "13", "signal")]);
        assert!(out.open_position);
    } else {
        assert_eq!(
            rows(&out.trades),
            vec![row(1, "11", 1, "11", "signal"), row(2, "12", 2, "12", "signal"), row(3, "13", 3, "13", "signal")]
        );
        assert!(!out.open_position);
    }
}

// --- order types ---------------------------------------------------------------------------------

#[rstest]
// Signal at bar 0's close 100 with a 1% offset: buy limit floor(100 x 0.99) = 99, valid for bar 1.
#[case::trades_through(( 100.0, 101.0, 98.5, 100.0), Some("99"))]
#[case::touches((100.0, 101.0, 99.0, 100.0), Some("99"))]
#[case::opens_below((98.0, 99.0, 97.0, 98.5), Some("98"))]
#[case::never_reached((100.0, 101.0, 99.5, 100.0), None)]
fn buy_limit_fills_at_its_price_or_a_better_open_for_one_bar(
    #[case] bar1: (f64, f64, f64, f64),
    #[case] expected: Option<&str>,
) {
    // 50 bps of slippage, which limit fills do not pay. Bar 2 reaches 95: an order that expired
    // unfilled at bar 1 does not fill there.
    let plan = flow()
        .set("slippageBps", json!(50))
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("buy", "action.buy", json!({"orderType": "limit", "limitOffsetBps": 100, "size": fixed(1.0)}))
        .edge("once.tick", "buy.when")
        .plan();
    let series = Series::ohlc(&[(100.0, 100.0, 100.0, 100.0), bar1, (99.0, 99.0, 95.0, 96.0)]);
    let (records, _) = run_steps(&plan, &series, &RunOptions::default());
    let fills: Vec<(usize, String)> =
        records.iter().flat_map(|r| r.report.0.iter().map(|f| (f.bar, dec(f.price)))).collect();
    assert_eq!(fills, expected.map(|p| (1, p.to_owned())).into_iter().collect::<Vec<_>>());
}

#[test]
fn sell_limit_close_fills_at_its_price() {
    // Long 1 at 100 (bar 1). Bar 2 closes 110 >= 110: close with a 1% limit: ceil(110 x 1.01)
    // = 111.1. Bar 3 opens 110 and reaches 112: filled at 111.1, pnl 11.1.
    let plan = entry_once(1.0)
        .node("t", "trigger.candle_close", json!({}))
        .node("ge", "logic.compare", json!({"op": ">=", "b": 110}))
        .node("exit", "action.close", json!({"orderType": "limit", "limitOffsetBps": 100}))
        .edge("t.close", "ge.a")
        .edge("ge.out", "exit.when")
        .plan();
    let series = Series::ohlc(&[
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 101.0, 99.0, 100.0),
        (105.0, 110.0, 104.0, 110.0),
        (110.0, 112.0, 109.0, 111.0),
    ]);
    let out = run(&plan, &series);
    assert_eq!(rows(&out.trades), vec![row(1, "100", 3, "111.1", "signal")]);
    assert_eq!(out.trades[0].pnl, atoms("11.1"));
}

#[test]
fn sell_limit_opens_a_short_above_the_close() {
    // Short only; sell at bar 0's close 100 with a 1% limit: ceil(100 x 1.01) = 101. Bar 1 opens
    // 100 and reaches 101.5: short 1 at 101. The buy on bar 2 (close < 99) closes it at bar 3's
    // open 98: pnl 101 - 98 = 3.
    let plan = flow()
        .set("direction", json!("short"))
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("sell", "action.sell", json!({"orderType": "limit", "limitOffsetBps": 100, "size": fixed(1.0)}))
        .node("t", "trigger.candle_close", json!({}))
        .node("lt", "logic.compare", json!({"op": "<", "b": 99}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("once.tick", "sell.when")
        .edge("t.close", "lt.a")
        .edge("lt.out", "buy.when")
        .plan();
    let series = Series::ohlc(&[
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 101.5, 99.5, 100.0),
        (99.0, 99.0, 98.0, 98.5),
        (98.0, 98.0, 98.0, 98.0),
    ]);
    let out = run(&plan, &series);
    assert_eq!(rows(&out.trades), vec![row(1, "101", 3, "98", "signal")]);
    assert_eq!((out.trades[0].side, out.trades[0].pnl), (Side::Short, atoms("3")));
}

// --- sizing --------------------------------------------------------------------------------------

#[rstest]
// Entry at 100 with equity 10000. Quantities round down, cash spent rounds up.
#[case::fixed(json!({"mode": "fixed", "value": 0.5}), 0, None, "0.5", "9950")]
// fixed 1 with a 10 bps fee: 100 + 0.1 fee.
#[case::fixed_with_fee(json!({"mode": "fixed", "value": 1}), 10, None, "1", "9899.9")]
// 1000 units cost 100000: capped at what the cash buys, 100 units.
#[case::fixed_capped_by_cash(json!({"mode": "fixed", "value": 1000}), 0, None, "100", "0")]
// half the equity including the fee: 5000 / (100 x 1.001) = 49.950049950049.. -> 49.95004995;
// notional 4995.004995 + fee ceil(4.9950049950) = 4.995005 -> 5000 spent exactly.
#[case::pct_equity(json!({"mode": "pct_equity", "value": 0.5}), 10, None, "49.95004995", "5000")]
// all of it: 10000 / 100.1 = 99.900099900.. -> 99.9000999; notional 9990.00999 + fee 9.99000999.
#[case::pct_equity_all(json!({"mode": "pct_equity", "value": 1}), 10, None, "99.9000999", "0.00000001")]
// 1% of equity at risk with a 2% stop: 100 / (100 x 0.02) = 50 units.
#[case::risk(json!({"mode": "risk", "value": 0.01}), 0, Some(0.02), "50", "5000")]
// 5% at risk would be 250 units: capped at 100.
#[case::risk_capped_by_cash(json!({"mode": "risk", "value": 0.05}), 0, Some(0.02), "100", "0")]
fn size_modes(
    #[case] size: serde_json::Value,
    #[case] fee_bps: u32,
    #[case] stop: Option<f64>,
    #[case] qty: &str,
    #[case] cash: &str,
) {
    let mut f = flow()
        .set("feeBps", json!(fee_bps))
        .node("once", "trigger.interval", json!({"everyBars": 1_000_000}))
        .node("buy", "action.buy", market(size))
        .edge("once.tick", "buy.when");
    if let Some(pct) = stop {
        f = f.risk("sl", "risk.stop_loss", json!({"pct": pct}), "buy");
    }
    let (records, _) = run_steps(&f.plan(), &Series::flat(&[100.0, 100.0]), &RunOptions::default());
    assert_eq!(records[1].position, Some((Side::Long, atoms(qty))));
    assert_eq!(dec(records[1].cash), cash);
}
