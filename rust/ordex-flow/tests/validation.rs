//! Validation: each bad flow is refused with the node (or edge) it concerns, a problem code and the
//! parameter or port at fault. Every case mutates the example flow of the design note:
//! t -e1-> rsi(14) -e2-> lt(<30) -e4-> buy(+sl via e5); rsi -e3-> gt(>70) -e6-> exit.

mod common;

use common::*;
use ordex_flow::compile::Amount;
use ordex_flow::{compile, compile_json, RunOptions};
use rstest::rstest;
use serde_json::{json, Value};

fn node<'a>(doc: &'a mut Value, id: &str) -> &'a mut Value {
    doc["nodes"].as_array_mut().unwrap().iter_mut().find(|n| n["id"] == id).expect("a node")
}

fn edge<'a>(doc: &'a mut Value, id: &str) -> &'a mut Value {
    doc["edges"].as_array_mut().unwrap().iter_mut().find(|e| e["id"] == id).expect("an edge")
}

fn add_node(doc: &mut Value, n: Value) {
    doc["nodes"].as_array_mut().unwrap().push(n);
}

fn add_edge(doc: &mut Value, id: &str, from: &str, to: &str) {
    let (s, sh) = from.split_once('.').unwrap();
    let (t, th) = to.split_once('.').unwrap();
    let e = json!({"id": id, "source": s, "sourceHandle": sh, "target": t, "targetHandle": th});
    doc["edges"].as_array_mut().unwrap().push(e);
}

fn drop_edge(doc: &mut Value, id: &str) {
    doc["edges"].as_array_mut().unwrap().retain(|e| e["id"] != id);
}

type Mutation = fn(&mut Value);

#[rstest]
// --- node types and parameters
#[case::unknown_type(|d: &mut Value| node(d, "rsi")["type"] = json!("indicator.crystal_ball"), Some("rsi"), "unknown_type", None)]
#[case::type_not_a_string(|d: &mut Value| node(d, "rsi")["type"] = json!(5), Some("rsi"), "unknown_type", None)]
#[case::params_not_an_object(|d: &mut Value| node(d, "rsi")["params"] = json!([14]), Some("rsi"), "bad_param", None)]
#[case::period_below_range(|d: &mut Value| node(d, "rsi")["params"]["period"] = json!(1), Some("rsi"), "bad_param", Some("period"))]
#[case::period_above_range(|d: &mut Value| node(d, "rsi")["params"]["period"] = json!(10001), Some("rsi"), "bad_param", Some("period"))]
#[case::period_fractional(|d: &mut Value| node(d, "rsi")["params"]["period"] = json!(2.5), Some("rsi"), "bad_param", Some("period"))]
#[case::period_a_string(|d: &mut Value| node(d, "rsi")["params"]["period"] = json!("14"), Some("rsi"), "bad_param", Some("period"))]
#[case::sma_period_required(|d: &mut Value| *node(d, "rsi") = json!({"id": "rsi", "type": "indicator.sma", "params": {}}), Some("rsi"), "bad_param", Some("period"))]
#[case::ema_period_one(|d: &mut Value| *node(d, "rsi") = json!({"id": "rsi", "type": "indicator.ema", "params": {"period": 1}}), Some("rsi"), "bad_param", Some("period"))]
#[case::macd_fast_not_below_slow(|d: &mut Value| *node(d, "rsi") = json!({"id": "rsi", "type": "indicator.macd", "params": {"fast": 26, "slow": 12}}), Some("rsi"), "bad_param", Some("fast"))]
#[case::bollinger_zero_deviation(|d: &mut Value| *node(d, "rsi") = json!({"id": "rsi", "type": "indicator.bollinger", "params": {"stdDev": 0}}), Some("rsi"), "bad_param", Some("stdDev"))]
#[case::compare_unknown_op(|d: &mut Value| node(d, "lt")["params"]["op"] = json!("=>"), Some("lt"), "bad_param", Some("op"))]
#[case::compare_b_not_a_number(|d: &mut Value| node(d, "lt")["params"]["b"] = json!("30"), Some("lt"), "bad_param", Some("b"))]
#[case::cross_direction(|d: &mut Value| *node(d, "lt") = json!({"id": "lt", "type": "logic.cross", "params": {"direction": "sideways", "b": 30}}), Some("lt"), "bad_param", Some("direction"))]
#[case::threshold_without_bounds(|d: &mut Value| *node(d, "lt") = json!({"id": "lt", "type": "logic.threshold", "params": {}}), Some("lt"), "bad_param", Some("lower"))]
#[case::threshold_lower_above_upper(|d: &mut Value| *node(d, "lt") = json!({"id": "lt", "type": "logic.threshold", "params": {"lower": 50, "upper": 40}}), Some("lt"), "bad_param", Some("lower"))]
#[case::interval_zero(|d: &mut Value| *node(d, "t") = json!({"id": "t", "type": "trigger.interval", "params": {"everyBars": 0}}), Some("t"), "bad_param", Some("everyBars"))]
#[case::stop_pct_one(|d: &mut Value| node(d, "sl")["params"]["pct"] = json!(1), Some("sl"), "bad_param", Some("pct"))]
#[case::stop_pct_zero(|d: &mut Value| node(d, "sl")["params"]["pct"] = json!(0), Some("sl"), "bad_param", Some("pct"))]
#[case::stop_pct_missing(|d: &mut Value| node(d, "sl")["params"] = json!({}), Some("sl"), "bad_param", Some("pct"))]
#[case::trailing_negative(|d: &mut Value| *node(d, "sl") = json!({"id": "sl", "type": "risk.trailing_stop", "params": {"pct": -0.1}}), Some("sl"), "bad_param", Some("pct"))]
#[case::time_limit_zero(|d: &mut Value| *node(d, "sl") = json!({"id": "sl", "type": "risk.time_limit", "params": {"bars": 0}}), Some("sl"), "bad_param", Some("bars"))]
#[case::kill_switch_over_one(|d: &mut Value| *node(d, "sl") = json!({"id": "sl", "type": "risk.kill_switch", "params": {"maxDrawdownPct": 1.5}}), Some("sl"), "bad_param", Some("maxDrawdownPct"))]
#[case::order_type(|d: &mut Value| node(d, "buy")["params"]["orderType"] = json!("stop"), Some("buy"), "bad_param", Some("orderType"))]
#[case::limit_offset(|d: &mut Value| node(d, "buy")["params"] = json!({"orderType": "limit", "limitOffsetBps": 6000, "size": fixed(1.0)}), Some("buy"), "bad_param", Some("limitOffsetBps"))]
#[case::size_missing(|d: &mut Value| node(d, "buy")["params"] = json!({"orderType": "market"}), Some("buy"), "bad_param", Some("size"))]
#[case::size_mode(|d: &mut Value| node(d, "buy")["params"]["size"]["mode"] = json!("all_in"), Some("buy"), "bad_param", Some("size"))]
#[case::size_pct_over_one(|d: &mut Value| node(d, "buy")["params"]["size"]["value"] = json!(1.5), Some("buy"), "bad_param", Some("size"))]
#[case::size_fixed_zero(|d: &mut Value| node(d, "buy")["params"]["size"] = json!({"mode": "fixed", "value": 0}), Some("buy"), "bad_param", Some("size"))]
#[case::size_risk_without_a_stop(|d: &mut Value| { node(d, "buy")["params"]["size"] = json!({"mode": "risk", "value": 0.01}); drop_edge(d, "e5") }, Some("buy"), "bad_param", Some("size"))]
// --- the graph
#[case::cycle(|d: &mut Value| {
    add_node(d, json!({"id": "n1", "type": "logic.not", "params": {}}));
    add_node(d, json!({"id": "n2", "type": "logic.not", "params": {}}));
    add_edge(d, "c1", "n1.out", "n2.a");
    add_edge(d, "c2", "n2.out", "n1.a");
}, Some("n1"), "cycle", None)]
#[case::missing_input(|d: &mut Value| drop_edge(d, "e1"), Some("rsi"), "missing_input", Some("source"))]
#[case::compare_without_any_b(|d: &mut Value| { node(d, "lt")["params"].as_object_mut().unwrap().remove("b"); }, Some("lt"), "missing_input", Some("b"))]
// Every wired input leads back to a trigger, so an unreachable action is one with `when` unwired.
#[case::unreachable_action(|d: &mut Value| add_node(d, json!({"id": "orphan", "type": "action.close", "params": {}})), Some("orphan"), "missing_input", Some("when"))]
#[case::dangling_target(|d: &mut Value| add_edge(d, "e7", "t.close", "ghost.source"), Some("e7"), "unknown_node", None)]
#[case::dangling_source(|d: &mut Value| add_edge(d, "e7", "ghost.value", "gt.b"), Some("e7"), "unknown_node", None)]
#[case::unknown_output(|d: &mut Value| edge(d, "e1")["sourceHandle"] = json!("price"), Some("t"), "unknown_port", Some("price"))]
#[case::unknown_input(|d: &mut Value| edge(d, "e1")["targetHandle"] = json!("input"), Some("rsi"), "unknown_port", Some("input"))]
#[case::series_into_bool(|d: &mut Value| { edge(d, "e4")["source"] = json!("rsi"); edge(d, "e4")["sourceHandle"] = json!("value") }, Some("buy"), "port_type", Some("when"))]
#[case::bool_into_series(|d: &mut Value| { edge(d, "e1")["source"] = json!("lt"); edge(d, "e1")["sourceHandle"] = json!("out") }, Some("rsi"), "port_type", Some("source"))]
#[case::risk_into_bool(|d: &mut Value| { edge(d, "e4")["source"] = json!("sl"); edge(d, "e4")["sourceHandle"] = json!("out") }, Some("buy"), "port_type", Some("when"))]
#[case::bool_into_risk(|d: &mut Value| { edge(d, "e5")["source"] = json!("lt"); }, Some("buy"), "port_type", Some("risk"))]
#[case::two_edges_into_one_input(|d: &mut Value| add_edge(d, "e7", "t.open", "rsi.source"), Some("rsi"), "duplicate_input", Some("source"))]
#[case::duplicate_node_id(|d: &mut Value| add_node(d, json!({"id": "rsi", "type": "indicator.rsi", "params": {}})), Some("rsi"), "duplicate_id", None)]
#[case::duplicate_edge_id(|d: &mut Value| add_edge(d, "e1", "t.open", "gt.b"), Some("e1"), "duplicate_id", None)]
#[case::ambiguous_source_handle(|d: &mut Value| { edge(d, "e1").as_object_mut().unwrap().remove("sourceHandle"); }, Some("e1"), "bad_edge", None)]
#[case::atr_not_from_a_trigger(|d: &mut Value| {
    add_node(d, json!({"id": "atr", "type": "indicator.atr", "params": {"period": 3}}));
    add_edge(d, "e7", "rsi.value", "atr.source");
}, Some("atr"), "bad_input", Some("source"))]
#[case::stop_on_a_close(|d: &mut Value| add_edge(d, "e7", "sl.out", "exit.risk"), Some("exit"), "bad_input", Some("risk"))]
#[case::no_trigger(|d: &mut Value| { d["nodes"] = json!([]); d["edges"] = json!([]) }, None, "no_trigger", None)]
#[case::no_action(|d: &mut Value| { d["nodes"] = json!([{"id": "t", "type": "trigger.candle_close"}]); d["edges"] = json!([]) }, None, "no_action", None)]
// --- settings and the document
#[case::capital_missing(|d: &mut Value| { d["settings"].as_object_mut().unwrap().remove("initialCapital"); }, None, "bad_setting", Some("initialCapital"))]
#[case::capital_zero(|d: &mut Value| d["settings"]["initialCapital"] = json!(0), None, "bad_setting", Some("initialCapital"))]
#[case::capital_too_large(|d: &mut Value| d["settings"]["initialCapital"] = json!(1e13), None, "bad_setting", Some("initialCapital"))]
#[case::capital_not_a_decimal(|d: &mut Value| d["settings"]["initialCapital"] = json!("ten"), None, "bad_setting", Some("initialCapital"))]
#[case::fee_over_1000_bps(|d: &mut Value| d["settings"]["feeBps"] = json!(1001), None, "bad_setting", Some("feeBps"))]
#[case::negative_slippage(|d: &mut Value| d["settings"]["slippageBps"] = json!(-1), None, "bad_setting", Some("slippageBps"))]
#[case::direction(|d: &mut Value| d["settings"]["direction"] = json!("sideways"), None, "bad_setting", Some("direction"))]
#[case::max_entries_zero(|d: &mut Value| d["settings"]["maxEntries"] = json!(0), None, "bad_setting", Some("maxEntries"))]
#[case::max_entries_over_100(|d: &mut Value| d["settings"]["maxEntries"] = json!(101), None, "bad_setting", Some("maxEntries"))]
#[case::symbol_empty(|d: &mut Value| d["settings"]["symbol"] = json!(""), None, "bad_setting", Some("symbol"))]
#[case::exchange_missing(|d: &mut Value| { d["settings"].as_object_mut().unwrap().remove("exchange"); }, None, "bad_setting", Some("exchange"))]
#[case::schema_version(|d: &mut Value| d["schemaVersion"] = json!(2), None, "bad_document", None)]
#[case::settings_missing(|d: &mut Value| { d.as_object_mut().unwrap().remove("settings"); }, None, "bad_document", None)]
#[case::nodes_not_an_array(|d: &mut Value| d["nodes"] = json!({}), None, "bad_document", None)]
#[case::node_without_id(|d: &mut Value| { node(d, "rsi").as_object_mut().unwrap().remove("id"); }, None, "bad_document", None)]
fn bad_flow_is_refused_naming_the_node(
    #[case] mutate: Mutation,
    #[case] node_id: Option<&str>,
    #[case] problem: &str,
    #[case] param: Option<&str>,
) {
    let mut doc = example_flow().doc;
    assert!(compile(&doc).is_ok(), "the base flow is valid");
    mutate(&mut doc);
    let err = compile(&doc).expect_err("refused");
    assert_eq!((err.node.as_deref(), err.problem, err.param.as_deref()), (node_id, problem, param), "{}", err.message);
    if let Some(id) = node_id {
        assert!(err.message.contains(&format!("'{id}'")), "the message names it: {}", err.message);
    }
    assert_eq!(err.to_string(), err.message);
}

#[test]
fn a_flow_that_is_not_json_is_a_bad_document() {
    let err = compile_json("{\"schemaVersion\": 1, ").unwrap_err();
    assert_eq!((err.node, err.problem, err.param), (None, "bad_document", None));
}

#[test]
fn the_example_flow_compiles_in_topological_order_ties_by_id() {
    // Kahn's algorithm, the smallest ready id first: sl and t are ready; sl (no edges out), then
    // t -> rsi -> {gt, lt}: gt, whose exit is now ready and sorts before lt, then lt -> buy.
    let plan = compile_json(&example_flow().doc.to_string()).unwrap();
    let ids: Vec<&str> = plan.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["sl", "t", "rsi", "gt", "exit", "lt", "buy"]);
    assert_eq!((plan.warmup, plan.edge_count, plan.kill_switch_ppb), (14, 6, None));
    let buy = &plan.nodes[plan.node_index("buy").unwrap()];
    assert_eq!(buy.risk.stop_loss_ppb, Some(20_000_000)); // 2% in parts per billion
}

#[test]
fn editor_keys_and_lenient_spellings_are_accepted() {
    let mut doc = example_flow().doc;
    // Editor keys on nodes; a decimal-string capital; a target handle left out where the target
    // has a single input; an event into a bool input; several risk edges; a kill switch on close.
    node(&mut doc, "rsi")["position"] = json!({"x": 10, "y": 20});
    node(&mut doc, "rsi")["label"] = json!("RSI");
    node(&mut doc, "rsi")["data"] = json!({"anything": true});
    doc["settings"]["initialCapital"] = json!("10000.5");
    edge(&mut doc, "e1").as_object_mut().unwrap().remove("targetHandle");
    add_node(&mut doc, json!({"id": "both", "type": "logic.and"}));
    add_node(&mut doc, json!({"id": "tp", "type": "risk.take_profit", "params": {"pct": 0.05}}));
    add_node(&mut doc, json!({"id": "ks", "type": "risk.kill_switch", "params": {"maxDrawdownPct": 0.2}}));
    add_edge(&mut doc, "e7", "tp.out", "buy.risk");
    add_edge(&mut doc, "e8", "ks.out", "exit.risk");
    drop_edge(&mut doc, "e6");
    add_edge(&mut doc, "e9", "gt.out", "both.a");
    add_edge(&mut doc, "e10", "t.tick", "both.b");
    add_edge(&mut doc, "e11", "both.out", "exit.when");
    let plan = compile(&doc).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(plan.settings.initial_capital, Amount::Decimal("10000.5".into()));
    assert_eq!(plan.kill_switch_ppb, Some(200_000_000));
    let buy = &plan.nodes[plan.node_index("buy").unwrap()];
    assert_eq!((buy.risk.stop_loss_ppb, buy.risk.take_profit_ppb), (Some(20_000_000), Some(50_000_000)));
}

#[test]
fn the_tightest_of_several_stops_applies() {
    let plan = entry_once(1.0)
        .risk("wide", "risk.stop_loss", json!({"pct": 0.2}), "buy")
        .risk("tight", "risk.stop_loss", json!({"pct": 0.05}), "buy")
        .plan();
    let buy = &plan.nodes[plan.node_index("buy").unwrap()];
    assert_eq!(buy.risk.stop_loss_ppb, Some(50_000_000));
}

#[rstest]
#[case::fee(RunOptions { fee_bps: Some(1001.0), ..RunOptions::default() }, "bad_setting", Some("feeBps"))]
#[case::slippage(RunOptions { slippage_bps: Some(-0.5), ..RunOptions::default() }, "bad_setting", Some("slippageBps"))]
#[case::decimals(RunOptions { price_decimals: 13, ..RunOptions::default() }, "bad_document", None)]
#[case::capital_zero(RunOptions { initial_capital: Some(Amount::Number(0.0)), ..RunOptions::default() }, "bad_setting", Some("initialCapital"))]
// 9 decimals do not fit 8 price decimals.
#[case::capital_too_precise(RunOptions { initial_capital: Some(Amount::Decimal("1.000000001".into())), ..RunOptions::default() }, "bad_setting", Some("initialCapital"))]
fn bad_run_options_are_refused(#[case] options: RunOptions, #[case] problem: &str, #[case] param: Option<&str>) {
    let plan = example_flow().plan();
    let series = Series::flat(&[1.0, 2.0]);
    let err = ordex_flow::backtest(&plan, &series.candles(), &options).unwrap_err();
    assert_eq!((err.node.as_deref(), err.problem, err.param.as_deref()), (None, problem, param));
}

#[rstest]
#[case::valid(|_s: &mut Series| {}, None)]
#[case::nan_open(|s: &mut Series| s.open[0] = f64::NAN, Some("bar 0: prices must be finite and above 0"))]
#[case::zero_low(|s: &mut Series| s.low[1] = 0.0, Some("bar 1: prices must be finite and above 0"))]
#[case::infinite_high(|s: &mut Series| s.high[1] = f64::INFINITY, Some("bar 1: prices must be finite and above 0"))]
#[case::nan_volume(|s: &mut Series| s.volume[2] = f64::NAN, Some("bar 2: prices must be finite and above 0"))]
#[case::high_below_close(|s: &mut Series| s.high[2] = 10.5, Some("bar 2: high and low must enclose open and close"))]
#[case::low_above_open(|s: &mut Series| s.low[3] = 13.25, Some("bar 3: high and low must enclose open and close"))]
#[case::time_goes_back(|s: &mut Series| s.ts[3] = s.ts[2], Some("bar 3: timestamps must increase"))]
#[case::first_bad_bar_wins(|s: &mut Series| { s.ts[3] = s.ts[2]; s.high[1] = 1.0 }, Some("bar 1: high and low must enclose open and close"))]
#[case::short_column(|s: &mut Series| { s.close.pop(); }, Some("column 'close' has 3 values, 'timestamp' has 4"))]
fn candle_check_names_the_first_bad_bar(#[case] spoil: fn(&mut Series), #[case] expected: Option<&str>) {
    // Bars (open, high, low, close): 10-13 with a range of 1 around each.
    let mut s = Series::ohlc(&[
        (10.0, 11.0, 9.5, 10.5),
        (11.0, 12.0, 10.5, 11.5),
        (12.0, 13.0, 11.0, 12.0),
        (13.0, 13.5, 12.0, 13.0),
    ]);
    spoil(&mut s);
    assert_eq!(s.candles().check().err().as_deref(), expected);
}

/// A cycle that feeds an action: Kahn's algorithm leaves the cycle and everything downstream of
/// it unordered; the error names a node on the cycle, not the action `buy` (the smallest id
/// among them) downstream of it.
#[test]
fn cycle_error_names_a_node_on_the_cycle() {
    let doc = flow()
        .node("t", "trigger.candle_close", json!({}))
        .node("n1", "logic.not", json!({}))
        .node("n2", "logic.not", json!({}))
        .node("buy", "action.buy", market(fixed(1.0)))
        .edge("n1.out", "n2.a")
        .edge("n2.out", "n1.a")
        .edge("n2.out", "buy.when")
        .doc;
    let err = compile(&doc).unwrap_err();
    assert_eq!(err.problem, "cycle");
    assert!(matches!(err.node.as_deref(), Some("n1" | "n2")), "named {:?}: {}", err.node, err.message);
}
