//! Validation and compilation: a flow document becomes a `Plan` (nodes in evaluation order, each
//! input bound to a value slot), or the first problem found, naming its node.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::catalog::{parse_kind, ActionKind, Kind, PortType, RiskKind, SizeMode, PPB};
use crate::error::FlowError;

pub const MAX_NODES: usize = 500;
pub const MAX_EDGES: usize = 2000;
const MAX_ID_LEN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Long,
    Short,
    Both,
}

impl Direction {
    pub fn allows_long(self) -> bool {
        self != Direction::Short
    }
    pub fn allows_short(self) -> bool {
        self != Direction::Long
    }
}

/// An amount of quote currency as written: exact when given as a decimal string.
#[derive(Debug, Clone, PartialEq)]
pub enum Amount {
    Number(f64),
    Decimal(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub exchange: String,
    pub symbol: String,
    pub timeframe: String,
    pub initial_capital: Amount,
    pub fee_ppb: i64,
    pub slippage_ppb: i64,
    pub direction: Direction,
    pub max_entries: u32,
}

/// The risk exits an action attaches to the position it opens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RiskSet {
    pub stop_loss_ppb: Option<i64>,
    pub take_profit_ppb: Option<i64>,
    pub trailing_ppb: Option<i64>,
    pub time_limit_bars: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct PlanNode {
    pub id: String,
    pub kind: Kind,
    /// The slot of each input port, in `kind.inputs()` order (`None`: unwired optional input).
    pub inputs: Vec<Option<usize>>,
    /// The first of this node's output slots (outputs are consecutive, in `kind.outputs()` order).
    pub out: usize,
    /// Actions: the tick slots of the triggers upstream of `when`; the action acts only on a bar
    /// where one of them ticked.
    pub trigger_ticks: Vec<usize>,
    /// Actions: the risk exits wired to `risk`.
    pub risk: RiskSet,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub settings: Settings,
    pub nodes: Vec<PlanNode>,
    pub slots: usize,
    /// Bars before any action may act: the longest chain of indicator lookbacks.
    pub warmup: usize,
    /// The tightest kill switch wired to any action, parts per billion of drawdown.
    pub kill_switch_ppb: Option<i64>,
    pub edge_count: usize,
}

impl Plan {
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.id == id)
    }
}

fn as_object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, FlowError> {
    v.as_object().ok_or_else(|| FlowError::document(format!("{what} must be an object")))
}

fn text_setting(map: &Map<String, Value>, name: &str) -> Result<String, FlowError> {
    match map.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 => Ok(s.clone()),
        None | Some(Value::Null) => Err(FlowError::setting(name, "is required")),
        _ => Err(FlowError::setting(name, "must be a non-empty string of at most 100 characters")),
    }
}

fn bps_setting(map: &Map<String, Value>, name: &str) -> Result<i64, FlowError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => match v.as_f64() {
            Some(x) if (0.0..=1000.0).contains(&x) => Ok((x * 100_000.0).round() as i64),
            _ => Err(FlowError::setting(name, "must be a number of basis points between 0 and 1000")),
        },
    }
}

/// `initialCapital` bounds: above 0 and at most 10^12 (amounts stay inside 128-bit arithmetic).
pub const MAX_CAPITAL: f64 = 1e12;

pub fn check_capital(amount: &Amount) -> Result<(), FlowError> {
    let ok = match amount {
        Amount::Number(x) => x.is_finite() && *x > 0.0 && *x <= MAX_CAPITAL,
        Amount::Decimal(s) => crate::money::parse_decimal(s, 18)
            .map(|atoms| atoms > 0 && atoms <= (MAX_CAPITAL as i128) * 10i128.pow(18))
            .unwrap_or(false),
    };
    if ok {
        Ok(())
    } else {
        Err(FlowError::setting("initialCapital", "must be a number above 0 and at most 1e12"))
    }
}

fn parse_settings(v: Option<&Value>) -> Result<Settings, FlowError> {
    let map = match v {
        Some(v) => as_object(v, "settings")?,
        None => return Err(FlowError::document("settings is required")),
    };
    let initial_capital = match map.get("initialCapital") {
        None | Some(Value::Null) => return Err(FlowError::setting("initialCapital", "is required")),
        Some(Value::String(s)) => Amount::Decimal(s.trim().to_owned()),
        Some(v) => Amount::Number(v.as_f64().unwrap_or(f64::NAN)),
    };
    check_capital(&initial_capital)?;
    let direction = match map.get("direction") {
        None | Some(Value::Null) => Direction::Long,
        Some(Value::String(s)) if s == "long" => Direction::Long,
        Some(Value::String(s)) if s == "short" => Direction::Short,
        Some(Value::String(s)) if s == "both" => Direction::Both,
        _ => return Err(FlowError::setting("direction", "must be one of long, short, both")),
    };
    let max_entries = match map.get("maxEntries") {
        None | Some(Value::Null) => 1,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=100) => n as u32,
            _ => return Err(FlowError::setting("maxEntries", "must be an integer between 1 and 100")),
        },
    };
    Ok(Settings {
        exchange: text_setting(map, "exchange")?,
        symbol: text_setting(map, "symbol")?,
        timeframe: text_setting(map, "timeframe")?,
        initial_capital,
        fee_ppb: bps_setting(map, "feeBps")?,
        slippage_ppb: bps_setting(map, "slippageBps")?,
        direction,
        max_entries,
    })
}

struct RawNode {
    id: String,
    kind: Kind,
}

struct RawEdge {
    id: String,
    source: usize,
    source_port: usize,
    target: usize,
    target_port: usize,
}

fn id_of(map: &Map<String, Value>, what: &str, index: usize) -> Result<String, FlowError> {
    match map.get("id") {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_LEN => Ok(s.clone()),
        _ => {
            Err(FlowError::document(format!("{what} {index} needs an 'id': a string of 1 to {MAX_ID_LEN} characters")))
        }
    }
}

fn parse_nodes(v: Option<&Value>) -> Result<Vec<RawNode>, FlowError> {
    let Some(Value::Array(items)) = v else {
        return Err(FlowError::document("nodes must be an array"));
    };
    if items.len() > MAX_NODES {
        return Err(FlowError::document(format!("a flow has at most {MAX_NODES} nodes")));
    }
    let empty = Map::new();
    let mut seen = BTreeSet::new();
    let mut nodes = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let map = as_object(item, "every node")?;
        let id = id_of(map, "node", i)?;
        if !seen.insert(id.clone()) {
            return Err(FlowError::node(&id, "duplicate_id", "another node has the same id"));
        }
        let type_name = match map.get("type") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(FlowError::node(&id, "unknown_type", "'type' must be a string")),
        };
        let params = match map.get("params") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(FlowError::node(&id, "bad_param", "'params' must be an object")),
        };
        let kind = parse_kind(&id, type_name, params)?;
        nodes.push(RawNode { id, kind });
    }
    Ok(nodes)
}

fn handle<'a>(map: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, ()> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(()),
    }
}

fn parse_edges(v: Option<&Value>, nodes: &[RawNode]) -> Result<Vec<RawEdge>, FlowError> {
    let Some(Value::Array(items)) = v else {
        return Err(FlowError::document("edges must be an array"));
    };
    if items.len() > MAX_EDGES {
        return Err(FlowError::document(format!("a flow has at most {MAX_EDGES} edges")));
    }
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id.as_str(), i)).collect();
    let mut seen = BTreeSet::new();
    let mut edges = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let map = as_object(item, "every edge")?;
        let id = id_of(map, "edge", i)?;
        if !seen.insert(id.clone()) {
            return Err(FlowError::edge(&id, "duplicate_id", "another edge has the same id"));
        }
        let end = |key: &str| -> Result<usize, FlowError> {
            match map.get(key) {
                Some(Value::String(s)) => index.get(s.as_str()).copied().ok_or_else(|| {
                    FlowError::edge(&id, "unknown_node", format!("{key} '{s}' is not a node of this flow"))
                }),
                _ => Err(FlowError::edge(&id, "bad_edge", format!("'{key}' must be a node id"))),
            }
        };
        let (source, target) = (end("source")?, end("target")?);
        let (src, dst) = (&nodes[source], &nodes[target]);
        let bad_handle = |key: &str| FlowError::edge(&id, "bad_edge", format!("'{key}' must be a string"));
        let outputs = src.kind.outputs();
        let source_port = match handle(map, "sourceHandle").map_err(|_| bad_handle("sourceHandle"))? {
            Some(h) => outputs.iter().position(|(n, _)| *n == h).ok_or_else(|| {
                FlowError::node(&src.id, "unknown_port", format!("has no output '{h}' (edge '{id}')")).with_param(h)
            })?,
            None if outputs.len() == 1 => 0,
            None => {
                return Err(FlowError::edge(
                    &id,
                    "bad_edge",
                    format!("'sourceHandle' is required: node '{}' has several outputs", src.id),
                ))
            }
        };
        let inputs = dst.kind.inputs();
        let target_port = match handle(map, "targetHandle").map_err(|_| bad_handle("targetHandle"))? {
            Some(h) => inputs.iter().position(|p| p.name == h).ok_or_else(|| {
                FlowError::node(&dst.id, "unknown_port", format!("has no input '{h}' (edge '{id}')")).with_param(h)
            })?,
            None if inputs.len() == 1 => 0,
            None => {
                return Err(FlowError::edge(
                    &id,
                    "bad_edge",
                    format!("'targetHandle' is required: node '{}' has several inputs", dst.id),
                ))
            }
        };
        let (out_name, out_ty) = outputs[source_port];
        let input = inputs[target_port];
        if !out_ty.feeds(input.ty) {
            return Err(FlowError::node(
                &dst.id,
                "port_type",
                format!(
                    "input '{}' takes {}, but '{}.{}' gives {} (edge '{id}')",
                    input.name,
                    input.ty.name(),
                    src.id,
                    out_name,
                    out_ty.name()
                ),
            )
            .with_param(input.name));
        }
        if matches!(dst.kind, Kind::Atr { .. }) && !src.kind.is_trigger() {
            return Err(FlowError::node(
                &dst.id,
                "bad_input",
                "ATR's source must come from a trigger (it reads the candle's high, low and close)",
            )
            .with_param("source"));
        }
        edges.push(RawEdge { id, source, source_port, target, target_port });
    }
    Ok(edges)
}

/// Kahn's algorithm, ties by node id: a deterministic evaluation order, or the cycle's first node.
fn topological_order(nodes: &[RawNode], edges: &[RawEdge]) -> Result<Vec<usize>, FlowError> {
    let mut indegree = vec![0usize; nodes.len()];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for e in edges {
        indegree[e.target] += 1;
        out[e.source].push(e.target);
    }
    let mut ready: BTreeMap<&str, usize> =
        nodes.iter().enumerate().filter(|(i, _)| indegree[*i] == 0).map(|(i, n)| (n.id.as_str(), i)).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some((_, i)) = ready.pop_first() {
        order.push(i);
        for &t in &out[i] {
            indegree[t] -= 1;
            if indegree[t] == 0 {
                ready.insert(nodes[t].id.as_str(), t);
            }
        }
    }
    if order.len() < nodes.len() {
        // Left unordered: the cycles and everything downstream of them. Peel off, in reverse,
        // the nodes that feed nothing still left: the rest lie on a cycle (or between two).
        let left: Vec<bool> = indegree.iter().map(|&d| d > 0).collect();
        let mut outdegree: Vec<usize> =
            (0..nodes.len()).map(|i| if left[i] { out[i].iter().filter(|&&t| left[t]).count() } else { 0 }).collect();
        let mut gone = vec![false; nodes.len()];
        let mut sinks: Vec<usize> = (0..nodes.len()).filter(|&i| left[i] && outdegree[i] == 0).collect();
        while let Some(i) = sinks.pop() {
            gone[i] = true;
            for e in edges.iter().filter(|e| e.target == i && left[e.source]) {
                outdegree[e.source] -= 1;
                if outdegree[e.source] == 0 {
                    sinks.push(e.source);
                }
            }
        }
        let stuck =
            (0..nodes.len()).filter(|&i| left[i] && !gone[i]).map(|i| nodes[i].id.as_str()).min().unwrap_or_default();
        return Err(FlowError::node(stuck, "cycle", "is part of a cycle: a flow must be a DAG"));
    }
    Ok(order)
}

/// Validates and compiles a flow document.
pub fn compile(doc: &Value) -> Result<Plan, FlowError> {
    let map = as_object(doc, "a flow")?;
    match map.get("schemaVersion") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_u64() == Some(1) => {}
        Some(_) => return Err(FlowError::document("schemaVersion must be 1")),
    }
    let settings = parse_settings(map.get("settings"))?;
    let nodes = parse_nodes(map.get("nodes"))?;
    let edges = parse_edges(map.get("edges"), &nodes)?;

    // Inputs: at most one edge each (risk takes many), required ones wired.
    let mut wired: Vec<Vec<Option<&RawEdge>>> = nodes.iter().map(|n| vec![None; n.kind.inputs().len()]).collect();
    let mut risk_edges: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for e in &edges {
        let port = nodes[e.target].kind.inputs()[e.target_port];
        if port.ty == PortType::Risk {
            risk_edges[e.target].push(e.source);
            continue;
        }
        if wired[e.target][e.target_port].replace(e).is_some() {
            return Err(FlowError::node(
                &nodes[e.target].id,
                "duplicate_input",
                format!("input '{}' has more than one edge (edge '{}')", port.name, e.id),
            )
            .with_param(port.name));
        }
    }
    for (n, node) in nodes.iter().enumerate() {
        for (p, port) in node.kind.inputs().iter().enumerate() {
            if port.required && wired[n][p].is_none() {
                return Err(FlowError::node(
                    &node.id,
                    "missing_input",
                    format!("input '{}' is not connected", port.name),
                )
                .with_param(port.name));
            }
        }
    }

    for (n, node) in nodes.iter().enumerate() {
        if let Kind::Compare { b: None, .. } | Kind::Cross { b: None, .. } = node.kind {
            if wired[n][1].is_none() {
                return Err(FlowError::node(
                    &node.id,
                    "missing_input",
                    "input 'b' is not connected and parameter 'b' is not set",
                )
                .with_param("b"));
            }
        }
    }
    let order = topological_order(&nodes, &edges)?;
    if !nodes.iter().any(|n| n.kind.is_trigger()) {
        return Err(FlowError {
            node: None,
            problem: "no_trigger",
            param: None,
            message: "A flow needs at least one trigger node".into(),
        });
    }
    if !nodes.iter().any(|n| matches!(n.kind, Kind::Action { .. })) {
        return Err(FlowError {
            node: None,
            problem: "no_action",
            param: None,
            message: "A flow needs at least one action node".into(),
        });
    }

    // Slots, in evaluation order; cumulative lookbacks; the triggers upstream of every node.
    let mut first_slot = vec![0usize; nodes.len()];
    let mut slots = 0;
    for &i in &order {
        first_slot[i] = slots;
        slots += nodes[i].kind.outputs().len();
    }
    let mut lookback = vec![0usize; nodes.len()];
    let mut upstream: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nodes.len()];
    let mut plan_nodes = Vec::with_capacity(nodes.len());
    let mut warmup = 0;
    let mut kill_switch_ppb: Option<i64> = None;
    for &i in &order {
        let node = &nodes[i];
        let mut inputs = Vec::with_capacity(wired[i].len());
        let mut deepest = 0;
        for edge in &wired[i] {
            inputs.push(edge.map(|e| first_slot[e.source] + e.source_port));
            if let Some(e) = edge {
                deepest = deepest.max(lookback[e.source]);
                let from = upstream[e.source].clone();
                upstream[i].extend(from);
            }
        }
        if node.kind.is_trigger() {
            upstream[i].insert(i);
        }
        if matches!(
            node.kind,
            Kind::Sma { .. }
                | Kind::Ema { .. }
                | Kind::Rsi { .. }
                | Kind::Macd { .. }
                | Kind::Bollinger { .. }
                | Kind::Atr { .. }
        ) {
            lookback[i] = deepest + node.kind.lookback();
            warmup = warmup.max(lookback[i]);
        } else {
            lookback[i] = deepest;
        }
        let mut risk = RiskSet::default();
        let mut trigger_ticks = Vec::new();
        if let Kind::Action { kind, size, .. } = &node.kind {
            if upstream[i].is_empty() {
                return Err(FlowError::node(&node.id, "unreachable", "is not reachable from any trigger"));
            }
            // The trigger's `tick` output is its last slot.
            trigger_ticks = upstream[i].iter().map(|&t| first_slot[t] + nodes[t].kind.outputs().len() - 1).collect();
            let mut sources = risk_edges[i].clone();
            sources.sort_by(|a, b| nodes[*a].id.cmp(&nodes[*b].id));
            for s in sources {
                let Kind::Risk(r) = nodes[s].kind else { continue };
                let tighter = |old: Option<i64>, new: i64| Some(old.map_or(new, |o| o.min(new)));
                match r {
                    RiskKind::StopLoss { ppb } => risk.stop_loss_ppb = tighter(risk.stop_loss_ppb, ppb),
                    RiskKind::TakeProfit { ppb } => risk.take_profit_ppb = tighter(risk.take_profit_ppb, ppb),
                    RiskKind::TrailingStop { ppb } => risk.trailing_ppb = tighter(risk.trailing_ppb, ppb),
                    RiskKind::TimeLimit { bars } => {
                        risk.time_limit_bars = Some(risk.time_limit_bars.map_or(bars, |o| o.min(bars)))
                    }
                    RiskKind::KillSwitch { ppb } => kill_switch_ppb = tighter(kill_switch_ppb, ppb),
                }
            }
            if matches!(size, Some(SizeMode::Risk(_))) && risk.stop_loss_ppb.is_none() {
                return Err(FlowError::param(
                    &node.id,
                    "size",
                    "mode 'risk' needs a risk.stop_loss wired to the action's 'risk' input",
                ));
            }
            if *kind == ActionKind::Close && !risk_edges[i].is_empty() {
                // Exits attach to entries; a close opens nothing to attach them to.
                let only_kill =
                    risk_edges[i].iter().all(|&s| matches!(nodes[s].kind, Kind::Risk(RiskKind::KillSwitch { .. })));
                if !only_kill {
                    return Err(FlowError::node(
                        &node.id,
                        "bad_input",
                        "a close action takes only kill switches on 'risk'",
                    )
                    .with_param("risk"));
                }
            }
        }
        plan_nodes.push(PlanNode {
            id: node.id.clone(),
            kind: node.kind.clone(),
            inputs,
            out: first_slot[i],
            trigger_ticks,
            risk,
        });
    }
    debug_assert!(kill_switch_ppb.is_none_or(|k| k > 0 && k < PPB));
    Ok(Plan { settings, nodes: plan_nodes, slots, warmup, kill_switch_ppb, edge_count: edges.len() })
}
