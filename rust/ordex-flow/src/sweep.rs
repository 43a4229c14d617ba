//! Parameter sweeps: a grid over node parameters, every combination compiled and run in parallel.

use rayon::prelude::*;
use serde_json::Value;

use crate::backtest::{backtest, Candles, RunOptions};
use crate::compile::compile;
use crate::error::FlowError;
use crate::metrics::Metrics;

/// One axis of the grid: a node's parameter and its values.
#[derive(Debug, Clone)]
pub struct Axis {
    pub node: String,
    pub param: String,
    pub values: Vec<f64>,
}

/// One combination's values and its metrics, or why it is not a valid flow.
pub type SweepRow = (Vec<f64>, Result<Metrics, FlowError>);

pub const MAX_COMBINATIONS: usize = 1_000_000;

/// Number of combinations, or an error naming an axis that does not fit the flow.
pub fn check_grid(doc: &Value, axes: &[Axis]) -> Result<usize, FlowError> {
    let nodes = doc.get("nodes").and_then(Value::as_array);
    let mut total: usize = 1;
    for axis in axes {
        let found = nodes.is_some_and(|ns| ns.iter().any(|n| n.get("id").and_then(Value::as_str) == Some(&axis.node)));
        if !found {
            return Err(FlowError {
                node: Some(axis.node.clone()),
                problem: "unknown_node",
                param: Some(axis.param.clone()),
                message: format!("Sweep axis '{}.{}': no such node", axis.node, axis.param),
            });
        }
        if axis.values.is_empty() || axis.values.iter().any(|v| !v.is_finite()) {
            return Err(FlowError::param(&axis.node, &axis.param, "needs at least one finite value to sweep"));
        }
        total = total
            .checked_mul(axis.values.len())
            .filter(|t| *t <= MAX_COMBINATIONS)
            .ok_or_else(|| FlowError::document(format!("a sweep has at most {MAX_COMBINATIONS} combinations")))?;
    }
    Ok(total)
}

fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// The flow with one combination's values written into its nodes' params.
pub fn with_values(doc: &Value, axes: &[Axis], values: &[f64]) -> Value {
    let mut doc = doc.clone();
    if let Some(nodes) = doc.get_mut("nodes").and_then(Value::as_array_mut) {
        for (axis, &v) in axes.iter().zip(values) {
            for node in nodes.iter_mut() {
                if node.get("id").and_then(Value::as_str) == Some(&axis.node) {
                    if !node.get("params").is_some_and(Value::is_object) {
                        node["params"] = Value::Object(Default::default());
                    }
                    node["params"][&axis.param] = number(v);
                }
            }
        }
    }
    doc
}

/// The values of combination `k` (the last axis varies fastest).
pub fn combination(axes: &[Axis], mut k: usize) -> Vec<f64> {
    let mut out = vec![0.0; axes.len()];
    for (i, axis) in axes.iter().enumerate().rev() {
        out[i] = axis.values[k % axis.values.len()];
        k /= axis.values.len();
    }
    out
}

/// Runs every combination; rows in grid order.
pub fn sweep(
    doc: &Value,
    candles: &Candles<'_>,
    axes: &[Axis],
    options: &RunOptions,
) -> Result<Vec<SweepRow>, FlowError> {
    let total = check_grid(doc, axes)?;
    let options = RunOptions { keep_equity: false, ..options.clone() };
    Ok((0..total)
        .into_par_iter()
        .map(|k| {
            let values = combination(axes, k);
            let result = compile(&with_values(doc, axes, &values))
                .and_then(|plan| backtest(&plan, candles, &options))
                .map(|outcome| outcome.metrics);
            (values, result)
        })
        .collect())
}
