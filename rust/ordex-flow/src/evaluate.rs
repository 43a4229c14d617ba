//! Runs a plan's nodes over a block of closed bars, node by node: each node fills its output
//! columns for the whole block before the next node reads them. Nodes never read the account, so a
//! block gives exactly what bar-by-bar evaluation gives; a backtest takes blocks of `BLOCK` bars
//! (tight loops, one dispatch per node and block), a live run blocks of one.
//!
//! Triggers, indicators and logic write value columns; an action fires on a bar where its `when`
//! is true and an upstream trigger ticked.

use crate::backtest::Candles;
use crate::catalog::{CompareOp, Kind, TriggerKind};
use crate::compile::Plan;
use crate::indicators::Indicator;

/// Bars per block in a backtest: the columns of a plan stay in the core's cache.
pub const BLOCK: usize = 1024;

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
    /// One column per slot, `capacity` long; the first `len` rows are the last block's. A
    /// trigger's price ports have none: their readers read the candles in place.
    columns: Vec<Vec<f64>>,
    /// Per slot: the candle column (open, high, low, close, volume) a trigger port passes on.
    candle_port: Vec<Option<u8>>,
    /// The last bar evaluated (the trigger ports' value for `value`).
    last_bar: [f64; 5],
    /// The action nodes, in evaluation order, and whether each fired on each bar of the block.
    actions: Vec<usize>,
    fires: Vec<Vec<bool>>,
    capacity: usize,
    len: usize,
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

/// A node's input column, or a constant when the port is unwired.
enum Input<'a> {
    Column(&'a [f64]),
    Constant(f64),
}

impl Input<'_> {
    #[inline]
    fn at(&self, j: usize) -> f64 {
        match self {
            Input::Column(c) => c[j],
            Input::Constant(x) => *x,
        }
    }
}

/// `out[j] = f(a[j])`, the input's kind decided once, outside the loop.
#[inline(always)]
fn map1(out: &mut [f64], a: &Input<'_>, f: impl Fn(f64) -> f64) {
    match a {
        Input::Column(a) => out.iter_mut().zip(*a).for_each(|(o, &x)| *o = f(x)),
        Input::Constant(x) => out.fill(f(*x)),
    }
}

/// `out[j] = f(a[j], b[j])`, as `map1`.
#[inline(always)]
fn map2(out: &mut [f64], a: &Input<'_>, b: &Input<'_>, f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Input::Column(a), Input::Column(b)) => {
            out.iter_mut().zip(a.iter().zip(*b)).for_each(|(o, (&x, &y))| *o = f(x, y))
        }
        (Input::Column(a), Input::Constant(y)) => out.iter_mut().zip(*a).for_each(|(o, &x)| *o = f(x, *y)),
        (Input::Constant(x), Input::Column(b)) => out.iter_mut().zip(*b).for_each(|(o, &y)| *o = f(*x, y)),
        (Input::Constant(x), Input::Constant(y)) => out.fill(f(*x, *y)),
    }
}

impl Evaluator {
    /// An evaluator taking blocks of at most `capacity` bars.
    pub fn new(plan: &Plan, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let states = plan
            .nodes
            .iter()
            .map(|n| match &n.kind {
                Kind::Cross { .. } => NodeState::Cross(f64::NAN, f64::NAN),
                kind => Indicator::for_kind(kind).map_or(NodeState::None, NodeState::Indicator),
            })
            .collect();
        let actions: Vec<usize> = plan
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.kind, Kind::Action { .. }))
            .map(|(i, _)| i)
            .collect();
        let mut candle_port = vec![None; plan.slots];
        let mut columns = vec![Vec::new(); plan.slots];
        for node in &plan.nodes {
            if matches!(node.kind, Kind::Trigger(_)) {
                for k in 0..5u8 {
                    candle_port[node.out + usize::from(k)] = Some(k);
                }
            }
        }
        for (slot, column) in columns.iter_mut().enumerate() {
            if candle_port[slot].is_none() {
                *column = vec![f64::NAN; capacity];
            }
        }
        Evaluator {
            states,
            columns,
            candle_port,
            last_bar: [f64::NAN; 5],
            fires: vec![vec![false; capacity]; actions.len()],
            actions,
            capacity,
            len: 0,
            bar: 0,
            fired: vec![false; plan.nodes.len()],
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bars evaluated so far.
    pub fn bars(&self) -> usize {
        self.bar
    }

    /// The value of a slot on the last evaluated bar (for inspection and tests).
    pub fn value(&self, slot: usize) -> f64 {
        match self.candle_port[slot] {
            Some(k) => self.last_bar[usize::from(k)],
            None if self.len == 0 => f64::NAN,
            None => self.columns[slot][self.len - 1],
        }
    }

    /// Marks an external trigger (manual or webhook) as fired on the next evaluated bar.
    pub fn fire(&mut self, node: usize) {
        self.fired[node] = true;
    }

    /// Pushes the actions that fired on row `row` of the last block into `out`, in evaluation
    /// order.
    pub fn fired_actions(&self, row: usize, out: &mut Vec<usize>) {
        for (a, fires) in self.actions.iter().zip(&self.fires) {
            if fires[row] {
                out.push(*a);
            }
        }
    }

    /// Whether any action fired on row `row` of the last block.
    #[inline]
    pub fn any_fired(&self, row: usize) -> bool {
        self.fires.iter().any(|f| f[row])
    }

    /// Evaluates every node over `candles` (at most `capacity` bars, the ones after the bars
    /// already evaluated).
    pub fn evaluate_block(&mut self, plan: &Plan, candles: &Candles<'_>) {
        let len = candles.len();
        assert!(len <= self.capacity, "a block of {len} bars, capacity {}", self.capacity);
        let first = self.bar;
        self.bar += len;
        self.len = len;
        let (open, high, low, close, volume) = (
            &candles.open[..len],
            &candles.high[..len],
            &candles.low[..len],
            &candles.close[..len],
            &candles.volume[..len],
        );
        let bar_columns = [open, high, low, close, volume];
        if len > 0 {
            self.last_bar = bar_columns.map(|c| c[len - 1]);
        }
        let mut action = 0;
        for (i, node) in plan.nodes.iter().enumerate() {
            let outputs = node.kind.outputs().len();
            // The node's own columns come out while it reads the others (a DAG: never its own).
            let mut out: [Vec<f64>; 3] = Default::default();
            if !matches!(node.kind, Kind::Trigger(_)) {
                for (k, col) in out.iter_mut().enumerate().take(outputs) {
                    *col = std::mem::take(&mut self.columns[node.out + k]);
                }
            }
            let columns = &self.columns;
            let candle_port = &self.candle_port;
            let column = |s: usize| match candle_port[s] {
                Some(k) => bar_columns[usize::from(k)],
                None => &columns[s][..len],
            };
            let input = |p: usize| match node.inputs.get(p).copied().flatten() {
                Some(s) => Input::Column(column(s)),
                None => Input::Constant(f64::NAN),
            };
            // compare and cross: a wired `b` wins over the constant.
            let b_of = |b: &Option<f64>| match node.inputs[1] {
                Some(s) => Input::Column(column(s)),
                None => Input::Constant(b.unwrap_or(f64::NAN)),
            };
            match &node.kind {
                Kind::Trigger(t) => {
                    let tick = &mut self.columns[node.out + 5][..len];
                    match t {
                        TriggerKind::CandleClose => tick.fill(1.0),
                        TriggerKind::Interval(n) => {
                            let n = *n as usize;
                            for (j, v) in tick.iter_mut().enumerate() {
                                *v = flag((first + j) % n == 0);
                            }
                        }
                        TriggerKind::External => {
                            tick.fill(0.0);
                            if len > 0 {
                                tick[0] = flag(std::mem::take(&mut self.fired[i]));
                            }
                        }
                    }
                }
                Kind::Compare { op, b } => {
                    let (a, b) = (input(0), b_of(b));
                    let o = &mut out[0][..len];
                    match op {
                        CompareOp::Lt => map2(o, &a, &b, |a, b| flag(a < b)),
                        CompareOp::Le => map2(o, &a, &b, |a, b| flag(a <= b)),
                        CompareOp::Gt => map2(o, &a, &b, |a, b| flag(a > b)),
                        CompareOp::Ge => map2(o, &a, &b, |a, b| flag(a >= b)),
                        CompareOp::Eq => map2(o, &a, &b, |a, b| flag(a == b)),
                        CompareOp::Ne => map2(o, &a, &b, |a, b| flag(!a.is_nan() && !b.is_nan() && a != b)),
                    }
                }
                Kind::Cross { above, b } => {
                    let (a, b) = (input(0), b_of(b));
                    let NodeState::Cross(pa, pb) = &mut self.states[i] else { unreachable!() };
                    let o = &mut out[0][..len];
                    for (j, v) in o.iter_mut().enumerate() {
                        let (a, b) = (a.at(j), b.at(j));
                        *v = flag(if *above { *pa <= *pb && a > b } else { *pa >= *pb && a < b });
                        (*pa, *pb) = (a, b);
                    }
                }
                Kind::Threshold { lower, upper } => {
                    let (lower, upper) = (lower.unwrap_or(f64::NEG_INFINITY), upper.unwrap_or(f64::INFINITY));
                    map1(&mut out[0][..len], &input(0), |a| flag(a >= lower && a <= upper));
                }
                Kind::And => map2(&mut out[0][..len], &input(0), &input(1), |a, b| flag(truthy(a) && truthy(b))),
                Kind::Or => map2(&mut out[0][..len], &input(0), &input(1), |a, b| flag(truthy(a) || truthy(b))),
                Kind::Not => map1(&mut out[0][..len], &input(0), |a| flag(!truthy(a))),
                Kind::Action { .. } => {
                    let when = input(0);
                    let ticks: Vec<&[f64]> = node.trigger_ticks.iter().map(|&s| column(s)).collect();
                    for (j, f) in self.fires[action][..len].iter_mut().enumerate() {
                        *f = truthy(when.at(j)) && ticks.iter().any(|t| truthy(t[j]));
                    }
                    action += 1;
                }
                Kind::Risk(_) => {}
                _ => {
                    let x = input(0);
                    let x = match x {
                        Input::Column(c) => c,
                        Input::Constant(_) => unreachable!("indicators have a required source"),
                    };
                    let NodeState::Indicator(ind) = &mut self.states[i] else { unreachable!() };
                    ind.update_block(x, high, low, close, &mut out[..outputs]);
                }
            }
            if !matches!(node.kind, Kind::Trigger(_)) {
                for (k, col) in out.into_iter().enumerate().take(outputs) {
                    self.columns[node.out + k] = col;
                }
            }
        }
    }
}
