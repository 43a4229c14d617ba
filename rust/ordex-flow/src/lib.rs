//! ordex strategy flows: a JSON flow document validated and compiled into a plan once, then run
//! over candles bar by bar with the rules of `docs/flows.md`: TA-Lib-compatible indicators,
//! next-open fills with slippage and fees, risk exits against the bar's range (the stop first),
//! no look-ahead, integer money. Pure Rust; `ordex-py` binds it.

pub mod account;
pub mod backtest;
pub mod catalog;
pub mod compile;
pub mod error;
pub mod evaluate;
pub mod indicators;
pub mod metrics;
pub mod money;
pub mod sweep;

pub use backtest::{backtest, Candles, Outcome, PlanRef, Run, RunOptions, StepReport};
pub use compile::{compile, Plan};
pub use error::FlowError;
pub use metrics::Metrics;

/// One closed candle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub ts: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// Compiles `doc` from JSON text.
pub fn compile_json(text: &str) -> Result<Plan, FlowError> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| FlowError::document(format!("the flow is not valid JSON: {e}")))?;
    compile(&doc)
}

/// One indicator node over candles (its `source` the close; ATR reads high, low and close):
/// the values of each output port, NaN while warming up.
pub fn indicator(
    type_name: &str,
    params: &serde_json::Map<String, serde_json::Value>,
    candles: &Candles<'_>,
) -> Result<Vec<(&'static str, Vec<f64>)>, FlowError> {
    let kind = catalog::parse_kind("indicator", type_name, params)?;
    let mut state = indicators::Indicator::for_kind(&kind)
        .ok_or_else(|| FlowError::node("indicator", "unknown_type", format!("'{type_name}' is not an indicator")))?;
    let ports = kind.outputs();
    let n = candles.len();
    let mut columns: Vec<Vec<f64>> = vec![vec![0.0; n]; ports.len()];
    state.update_block(&candles.close[..n], &candles.high[..n], &candles.low[..n], &candles.close[..n], &mut columns);
    Ok(ports.iter().map(|(name, _)| *name).zip(columns).collect())
}
