//! Indicator values worked out by hand (through `ordex_flow::indicator`), indicator nodes wired in
//! flows, and the warm-up rule: nothing acts before the longest indicator chain has a value.

mod common;

use common::*;
use ordex_flow::indicator;
use rstest::rstest;
use serde_json::{json, Value};

const NAN: f64 = f64::NAN;
const TOL: f64 = 1e-12;

fn params(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().expect("an object").clone()
}

/// The outputs of `type_name` over `series`, by port name.
fn values(type_name: &str, p: Value, series: &Series) -> Vec<(&'static str, Vec<f64>)> {
    indicator(type_name, &params(p), &series.candles()).expect("a valid indicator")
}

#[test]
fn sma_is_the_window_mean() {
    // SMA(3) of 2 4 9 1 5: (2+4+9)/3 = 5, (4+9+1)/3 = 14/3, (9+1+5)/3 = 5.
    let out = values("indicator.sma", json!({"period": 3}), &Series::flat(&[2.0, 4.0, 9.0, 1.0, 5.0]));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "value");
    assert_series(&out[0].1, &[NAN, NAN, 5.0, 14.0 / 3.0, 5.0], TOL, "sma");
}

#[test]
fn sma_of_period_one_is_the_close() {
    let out = values("indicator.sma", json!({"period": 1}), &Series::flat(&[2.0, 4.0, 9.0]));
    assert_series(&out[0].1, &[2.0, 4.0, 9.0], 0.0, "sma1");
}

#[test]
fn ema_is_seeded_with_the_sma() {
    // EMA(3), k = 2/(3+1) = 0.5, of 2 4 6 8 4 10: seed (2+4+6)/3 = 4; then
    // 4 + (8-4)/2 = 6, 6 + (4-6)/2 = 5, 5 + (10-5)/2 = 7.5.
    let out = values("indicator.ema", json!({"period": 3}), &Series::flat(&[2.0, 4.0, 6.0, 8.0, 4.0, 10.0]));
    assert_series(&out[0].1, &[NAN, NAN, 4.0, 6.0, 5.0, 7.5], TOL, "ema");
}

#[test]
fn rsi_uses_wilder_smoothing() {
    // RSI(2) of 10 11 10 12 12 9: changes +1 -1 +2 0 -3.
    // seed at bar 2: gain (1)/2 = 0.5, loss (1)/2 = 0.5 -> 50
    // bar 3: gain (0.5 + 2)/2 = 1.25, loss 0.5/2 = 0.25 -> 100 x 1.25/1.5 = 250/3
    // bar 4: gain 1.25/2 = 0.625, loss 0.125 -> 100 x 0.625/0.75 = 250/3
    // bar 5: gain 0.3125, loss (0.125 + 3)/2 = 1.5625 -> 100 x 0.3125/1.875 = 50/3
    let out = values("indicator.rsi", json!({"period": 2}), &Series::flat(&[10.0, 11.0, 10.0, 12.0, 12.0, 9.0]));
    assert_series(&out[0].1, &[NAN, NAN, 50.0, 250.0 / 3.0, 250.0 / 3.0, 50.0 / 3.0], 1e-9, "rsi");
}

#[test]
fn rsi_of_an_unmoving_price_is_zero() {
    let out = values("indicator.rsi", json!({"period": 2}), &Series::flat(&[5.0, 5.0, 5.0, 5.0]));
    assert_series(&out[0].1, &[NAN, NAN, 0.0, 0.0], 0.0, "rsi");
}

#[test]
fn macd_line_signal_and_histogram() {
    // MACD(2, 3, 2) of 1 2 3 5 8. slow EMA(3), k 1/2: seed mean(1,2,3) = 2 at bar 2, then 3.5, 5.75.
    // fast EMA(2), k 2/3, seeded on the 2 values ending at bar 2: mean(2,3) = 2.5, then
    // 2.5 + (5-2.5)2/3 = 25/6, 25/6 + (8-25/6)2/3 = 121/18.
    // line: bar 2 0.5, bar 3 25/6 - 3.5 = 2/3, bar 4 121/18 - 5.75 = 35/36.
    // signal EMA(2) of the line: seed mean(0.5, 2/3) = 7/12 at bar 3, then
    // 7/12 + (35/36 - 7/12)2/3 = 91/108. hist = line - signal: 1/12, 7/54.
    let out =
        values("indicator.macd", json!({"fast": 2, "slow": 3, "signal": 2}), &Series::flat(&[1.0, 2.0, 3.0, 5.0, 8.0]));
    let names: Vec<&str> = out.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["macd", "signal", "hist"]);
    assert_series(&out[0].1, &[NAN, NAN, NAN, 2.0 / 3.0, 35.0 / 36.0], TOL, "macd");
    assert_series(&out[1].1, &[NAN, NAN, NAN, 7.0 / 12.0, 91.0 / 108.0], TOL, "signal");
    assert_series(&out[2].1, &[NAN, NAN, NAN, 1.0 / 12.0, 7.0 / 54.0], TOL, "hist");
}

#[rstest]
#[case::default_two(json!({"period": 3}), 2.0)]
#[case::one(json!({"period": 3, "stdDev": 1}), 1.0)]
#[case::two_and_a_half(json!({"period": 3, "stdDev": 2.5}), 2.5)]
fn bollinger_bands_use_the_population_deviation(#[case] p: Value, #[case] k: f64) {
    // Period 3 over 1 2 3 3 3:
    // bar 2: mean 2, variance (1 + 0 + 1)/3 = 2/3
    // bar 3: mean 8/3, variance (4/9 + 1/9 + 1/9)/3 = 2/9
    // bar 4: three equal closes: no width at all.
    let out = values("indicator.bollinger", p, &Series::flat(&[1.0, 2.0, 3.0, 3.0, 3.0]));
    let names: Vec<&str> = out.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["upper", "middle", "lower"]);
    let (b2, b3) = (k * (2.0f64 / 3.0).sqrt(), k * (2.0f64 / 9.0).sqrt());
    let m3 = 8.0 / 3.0;
    assert_series(&out[0].1, &[NAN, NAN, 2.0 + b2, m3 + b3, 3.0], TOL, "upper");
    assert_series(&out[1].1, &[NAN, NAN, 2.0, m3, 3.0], TOL, "middle");
    assert_series(&out[2].1, &[NAN, NAN, 2.0 - b2, m3 - b3, 3.0], TOL, "lower");
}

/// (open, high, low, close) bars whose true ranges are worked out by hand in `atr_*`.
fn atr_bars() -> Series {
    Series::ohlc(&[
        (9.0, 10.0, 8.0, 9.0),
        (9.0, 11.0, 9.0, 10.0),
        (10.0, 13.0, 10.0, 12.0),
        (9.0, 9.0, 7.0, 8.0), // gaps down from 12
        (8.5, 9.0, 8.5, 9.0),
        (9.0, 9.5, 8.5, 9.0),
    ])
}

#[rstest]
// True ranges from bar 1: max(h-l, |c[-1]-h|, |c[-1]-l|):
//   bar 1: max(2, 2, 0) = 2; bar 2: max(3, 3, 0) = 3; bar 3: max(2, 3, 5) = 5 (the gap);
//   bar 4: max(0.5, 1, 0.5) = 1; bar 5: max(1, 0.5, 0.5) = 1.
// ATR(2): seed (2+3)/2 = 2.5 at bar 2, then (2.5 + 5)/2 = 3.75, (3.75 + 1)/2 = 2.375,
// (2.375 + 1)/2 = 1.6875. ATR(1) is the true range itself.
#[case(2, [NAN, NAN, 2.5, 3.75, 2.375, 1.6875])]
#[case(1, [NAN, 2.0, 3.0, 5.0, 1.0, 1.0])]
fn atr_is_the_wilder_average_of_true_ranges(#[case] period: u32, #[case] expected: [f64; 6]) {
    let out = values("indicator.atr", json!({"period": period}), &atr_bars());
    assert_series(&out[0].1, &expected, TOL, "atr");
}

#[rstest]
// Defaults: RSI 14, ATR 14, MACD 12/26/9 (first value at 25 + 8 = 33), Bollinger 20.
#[case("indicator.rsi", json!({}), 14)]
#[case("indicator.atr", json!({}), 14)]
#[case("indicator.macd", json!({}), 33)]
#[case("indicator.bollinger", json!({}), 19)]
#[case("indicator.sma", json!({"period": 7}), 6)]
#[case("indicator.ema", json!({"period": 7}), 6)]
fn first_value_comes_after_the_lookback(#[case] type_name: &str, #[case] p: Value, #[case] first: usize) {
    let closes: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i % 7) * 1.5 - f64::from(i % 3)).collect();
    let out = values(type_name, p, &Series::flat(&closes));
    for (port, column) in &out {
        let first_valid = column.iter().position(|v| !v.is_nan());
        assert_eq!(first_valid, Some(first), "{type_name}.{port}");
        assert!(column[first..].iter().all(|v| v.is_finite()), "{type_name}.{port}");
    }
}

#[rstest]
#[case("logic.and", json!({}), "unknown_type", None)]
#[case("indicator.crystal_ball", json!({}), "unknown_type", None)]
#[case("indicator.rsi", json!({"period": 1}), "bad_param", Some("period"))]
#[case("indicator.sma", json!({}), "bad_param", Some("period"))]
fn indicator_refuses_what_is_not_a_valid_indicator(
    #[case] type_name: &str,
    #[case] p: Value,
    #[case] problem: &str,
    #[case] param: Option<&str>,
) {
    let series = Series::flat(&[1.0, 2.0, 3.0]);
    let err = indicator(type_name, &params(p), &series.candles()).unwrap_err();
    assert_eq!((err.problem, err.param.as_deref()), (problem, param));
}

// --- indicator nodes in flows --------------------------------------------------------------------

/// The first bar at which a fill happened.
fn first_fill(plan: &ordex_flow::Plan, series: &Series) -> Option<(usize, String)> {
    let (records, _) = run_steps(plan, series, &ordex_flow::RunOptions::default());
    records.iter().flat_map(|r| &r.report.0).map(|f| (f.bar, dec(f.price))).next()
}

#[rstest]
// sma(3) of 2 4 9 1 5 5 is 5 at bar 2 > 4.8: entry at bar 3's open 1.
#[case::sma("indicator.sma", json!({"period": 3}), "value", ">", 4.8, Series::flat(&[2.0, 4.0, 9.0, 1.0, 5.0, 5.0]), (3, "1"))]
// ema(3) of 2 4 6 8 4 10 is 4, 6, ...: 6 > 5.5 at bar 3, entry at bar 4 (4).
#[case::ema("indicator.ema", json!({"period": 3}), "value", ">", 5.5, Series::flat(&[2.0, 4.0, 6.0, 8.0, 4.0, 10.0]), (4, "4"))]
// rsi(2) of 10 11 10 12 12 9 is 50, 83.3, ..: > 80 at bar 3, entry at bar 4 (12).
#[case::rsi("indicator.rsi", json!({"period": 2}), "value", ">", 80.0, Series::flat(&[10.0, 11.0, 10.0, 12.0, 12.0, 9.0]), (4, "12"))]
// macd(2,3,2) hist 1/12 at bar 3, 7/54 = 0.1296 at bar 4 > 0.1: entry at bar 5 (13).
#[case::macd_hist("indicator.macd", json!({"fast": 2, "slow": 3, "signal": 2}), "hist", ">", 0.1, Series::flat(&[1.0, 2.0, 3.0, 5.0, 8.0, 13.0]), (5, "13"))]
// macd line 2/3 at bar 3 > 0.6: entry at bar 4 (8).
#[case::macd_line("indicator.macd", json!({"fast": 2, "slow": 3, "signal": 2}), "macd", ">", 0.6, Series::flat(&[1.0, 2.0, 3.0, 5.0, 8.0, 13.0]), (4, "8"))]
// bollinger(3) lower band 2 - 1.633 = 0.367 < 1 at bar 2: entry at bar 3 (3).
#[case::bollinger("indicator.bollinger", json!({"period": 3}), "lower", "<", 1.0, Series::flat(&[1.0, 2.0, 3.0, 3.0, 3.0]), (3, "3"))]
// atr(2) 2.5 at bar 2, 3.75 at bar 3 > 3.5: entry at bar 4's open 8.5.
#[case::atr("indicator.atr", json!({"period": 2}), "value", ">", 3.5, atr_bars(), (4, "8.5"))]
fn indicator_node_signals_on_the_hand_computed_bar(
    #[case] type_name: &str,
    #[case] p: Value,
    #[case] port: &str,
    #[case] op: &str,
    #[case] b: f64,
    #[case] series: Series,
    #[case] entry: (usize, &str),
) {
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("ind", type_name, p)
        .node("cmp", "logic.compare", json!({"op": op, "b": b}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "ind.source")
        .edge(&format!("ind.{port}"), "cmp.a")
        .edge("cmp.out", "buy.when")
        .plan();
    assert_eq!(first_fill(&plan, &series), Some((entry.0, entry.1.to_owned())));
}

#[test]
fn close_reaching_a_band_of_zero_width() {
    // close >= upper(3) over 1 2 3 3 3 3: upper 3.63, 3.61, then 3 (three equal closes) at bar 4:
    // 3 >= 3, entry at bar 5.
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("bb", "indicator.bollinger", json!({"period": 3, "stdDev": 2}))
        .node("ge", "logic.compare", json!({"op": ">="}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "bb.source")
        .edge("t.close", "ge.a")
        .edge("bb.upper", "ge.b")
        .edge("ge.out", "buy.when")
        .plan();
    assert_eq!(first_fill(&plan, &Series::flat(&[1.0, 2.0, 3.0, 3.0, 3.0, 3.0])), Some((5, "3".to_owned())));
}

#[test]
fn sma_crossover_trade_by_hand() {
    // Buy when the close crosses above SMA(3), close when it crosses below.
    // closes 10 10 10 9 8 12 13 11 9 10; SMA from bar 2: 10, 9.67, 9, 9.67, 11, 12, 11, 10.
    // bar 3: 9 crosses below 9.67 (flat: nothing to close); bar 5: 12 crosses above 9.67 -> buy at
    // bar 6's open 12.5; bar 7: 11 crosses below 12 -> close at bar 8's open 10.5: pnl -2.
    let plan = sma_crossover(3).plan();
    let series = Series::ohlc(&[
        (10.0, 10.0, 10.0, 10.0),
        (10.0, 10.0, 10.0, 10.0),
        (10.0, 10.0, 10.0, 10.0),
        (10.0, 10.0, 9.0, 9.0),
        (9.0, 9.0, 8.0, 8.0),
        (8.5, 12.0, 8.5, 12.0),
        (12.5, 13.0, 12.0, 13.0),
        (12.8, 12.8, 11.0, 11.0),
        (10.5, 10.5, 9.0, 9.0),
        (9.5, 10.5, 9.5, 10.0),
    ]);
    let out = run(&plan, &series);
    assert_eq!(rows(&out.trades), vec![row(6, "12.5", 8, "10.5", "signal")]);
    assert_eq!(out.trades[0].pnl, atoms("-2"));
    assert!(!out.open_position);
}

// --- warm-up -------------------------------------------------------------------------------------

#[rstest]
#[case::sma(vec![("indicator.sma", json!({"period": 3}), "value")], 2)]
#[case::ema(vec![("indicator.ema", json!({"period": 5}), "value")], 4)]
#[case::rsi(vec![("indicator.rsi", json!({"period": 14}), "value")], 14)]
#[case::atr(vec![("indicator.atr", json!({"period": 14}), "value")], 14)]
#[case::macd(vec![("indicator.macd", json!({}), "signal")], 33)]
#[case::bollinger(vec![("indicator.bollinger", json!({"period": 20}), "middle")], 19)]
// chains add up: SMA(3) of SMA(2) has its first value at 1 + 2 = 3; EMA(4) of RSI(2) at 2 + 3.
#[case::sma_of_sma(vec![("indicator.sma", json!({"period": 2}), "value"), ("indicator.sma", json!({"period": 3}), "value")], 3)]
#[case::ema_of_rsi(vec![("indicator.rsi", json!({"period": 2}), "value"), ("indicator.ema", json!({"period": 4}), "value")], 5)]
fn warmup_is_the_longest_chain_of_lookbacks(#[case] chain: Vec<(&str, Value, &str)>, #[case] warmup: usize) {
    let mut f = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("cmp", "logic.compare", json!({"op": ">", "b": 0}))
        .node("buy", "action.buy", market(fixed(1.0)));
    let mut from = "t.close".to_owned();
    for (i, (type_name, p, port)) in chain.iter().enumerate() {
        let id = format!("i{i}");
        f = f.node(&id, type_name, p.clone()).edge(&from, &format!("{id}.source"));
        from = format!("{id}.{port}");
    }
    let plan = f.edge(&from, "cmp.a").edge("cmp.out", "buy.when").plan();
    assert_eq!(plan.warmup, warmup);

    // The chain's output is NaN before the warm-up bar and a number from it on.
    let closes: Vec<f64> = (0..45).map(|i| 50.0 + f64::from(i % 5) * 2.0 + f64::from(i) * 0.1).collect();
    let last = format!("i{}", chain.len() - 1);
    let port = chain.last().unwrap().2;
    let index = plan.nodes[plan.node_index(&last).unwrap()].kind.outputs().iter().position(|(n, _)| *n == port);
    let column: Vec<f64> =
        node_outputs(&plan, &Series::flat(&closes), &last).iter().map(|v| v[index.unwrap()]).collect();
    assert_eq!(column.iter().position(|v| !v.is_nan()), Some(warmup));
}

#[test]
fn nothing_acts_before_the_warmup_of_an_unrelated_indicator() {
    // The buy fires on every tick, but an SMA(4) in the flow (wired to nothing) makes the warm-up
    // 3 bars: the first buy is queued at bar 3 and fills at bar 4's open 14.
    let plan = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("slow", "indicator.sma", json!({"period": 4}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("t.close", "slow.source")
        .edge("t.tick", "buy.when")
        .plan();
    assert_eq!(plan.warmup, 3);
    assert_eq!(first_fill(&plan, &Series::flat(&[10.0, 11.0, 12.0, 13.0, 14.0, 15.0])), Some((4, "14".to_owned())));
}
