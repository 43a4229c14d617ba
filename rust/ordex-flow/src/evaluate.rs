//! Runs a plan's nodes over one closed bar: triggers, indicators and logic write their value
//! slots; the actions whose `when` is true on a bar where an upstream trigger ticked come back in
//! evaluation order.

use crate::catalog::{CompareOp, Kind, TriggerKind};
use crate::compile::Plan;
use crate::indicators::Indicator;
use crate::Bar;

#[derive(Debug, Clone)]
enum NodeState {
    None,
    Indicator(Indicator),
    /// logic.cross: the previous bar's (a, b).
    Cross(f64, f64),
}

#[derive(Debug, Clone)]
pub struct Evaluator {
    states: Vec<NodeState>,
    values: Vec<f64>,
    bar: usize,
    /// External triggers (manual, webhook) fired for the next bar only.
    fired: Vec<bool>,
}

#[inline]
fn truthy(x: f64) -> bool {
    x > 0.5
}

#[inline]
fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

impl Evaluator {
    pub fn new(plan: &Plan) -> Self {
        let states = plan
            .nodes
            .iter()
            .map(|n| match &n.kind {
                Kind::Cross { .. } => NodeState::Cross(f64::NAN, f64::NAN),
                kind => Indicator::for_kind(kind).map_or(NodeState::None, NodeState::Indicator),
            })
            .collect();
        Evaluator { states, values: vec![f64::NAN; plan.slots], bar: 0, fired: vec![false; plan.nodes.len()] }
    }

    /// Bars evaluated so far.
    pub fn bars(&self) -> usize {
        self.bar
    }

    /// The value of a slot after the last bar (for inspection and tests).
    pub fn value(&self, slot: usize) -> f64 {
        self.values[slot]
    }

    /// Marks an external trigger (manual or webhook) as fired on the next evaluated bar.
    pub fn fire(&mut self, node: usize) {
        self.fired[node] = true;
    }

    /// Evaluates every node on `bar`; pushes the indexes of the actions that fire into `actions`.
    pub fn evaluate(&mut self, plan: &Plan, bar: &Bar, actions: &mut Vec<usize>) {
        let index = self.bar;
        self.bar += 1;
        let values = &mut self.values;
        for (i, node) in plan.nodes.iter().enumerate() {
            let input = |p: usize| node.inputs[p].map_or(f64::NAN, |s| values[s]);
            // compare and cross: a wired `b` wins over the constant.
            let b_of = |b: &Option<f64>| node.inputs[1].map_or(b.unwrap_or(f64::NAN), |s| values[s]);
            match &node.kind {
                Kind::Trigger(t) => {
                    let tick = match t {
                        TriggerKind::CandleClose => true,
                        TriggerKind::Interval(n) => index % *n as usize == 0,
                        TriggerKind::External => std::mem::take(&mut self.fired[i]),
                    };
                    let o = node.out;
                    values[o..o + 6].copy_from_slice(&[bar.open, bar.high, bar.low, bar.close, bar.volume, flag(tick)]);
                }
                Kind::Compare { op, b } => {
                    let a = input(0);
                    let b = b_of(b);
                    let out = match op {
                        CompareOp::Lt => a < b,
                        CompareOp::Le => a <= b,
                        CompareOp::Gt => a > b,
                        CompareOp::Ge => a >= b,
                        CompareOp::Eq => a == b,
                        CompareOp::Ne => !a.is_nan() && !b.is_nan() && a != b,
                    };
                    values[node.out] = flag(out);
                }
                Kind::Cross { above, b } => {
                    let a = input(0);
                    let b = b_of(b);
                    let NodeState::Cross(pa, pb) = &mut self.states[i] else { unreachable!() };
                    let out = if *above { *pa <= *pb && a > b } else { *pa >= *pb && a < b };
                    (*pa, *pb) = (a, b);
                    values[node.out] = flag(out);
                }
                Kind::Threshold { lower, upper } => {
                    let a = input(0);
                    let ok = !a.is_nan() && lower.is_none_or(|l| a >= l) && upper.is_none_or(|u| a <= u);
                    values[node.out] = flag(ok);
                }
                Kind::And => values[node.out] = flag(truthy(input(0)) && truthy(input(1))),
                Kind::Or => values[node.out] = flag(truthy(input(0)) || truthy(input(1))),
                Kind::Not => values[node.out] = flag(!truthy(input(0))),
                Kind::Action { .. } => {
                    if truthy(input(0)) && node.trigger_ticks.iter().any(|&s| truthy(values[s])) {
                        actions.push(i);
                    }
                }
                Kind::Risk(_) => {}
                _ => {
                    let x = input(0);
                    let NodeState::Indicator(ind) = &mut self.states[i] else { unreachable!() };
                    let n = node.kind.outputs().len();
                    ind.update(x, bar, &mut values[node.out..node.out + n]);
                }
            }
        }
    }
}
