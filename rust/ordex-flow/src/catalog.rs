//! The node types a flow may use: their parameters (checked and typed here) and their ports.

use serde_json::{Map, Value};

use crate::error::FlowError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortType {
    Series,
    Bool,
    /// A bool that pulses; accepted wherever a bool is.
    Event,
    Risk,
}

impl PortType {
    pub fn name(self) -> &'static str {
        match self {
            PortType::Series => "series",
            PortType::Bool => "bool",
            PortType::Event => "event",
            PortType::Risk => "risk",
        }
    }

    /// Whether an output of type `self` may feed an input of type `input`.
    pub fn feeds(self, input: PortType) -> bool {
        self == input || (self == PortType::Event && input == PortType::Bool)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Port {
    pub name: &'static str,
    pub ty: PortType,
    pub required: bool,
}

const fn port(name: &'static str, ty: PortType, required: bool) -> Port {
    Port { name, ty, required }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    CandleClose,
    Interval(u32),
    /// Fired from outside (manual, webhook): never in a backtest.
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Buy,
    Sell,
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderType {
    Market,
    /// Rests for one bar at the signal's close moved by this many parts per billion (buy below,
    /// sell above).
    Limit {
        offset_ppb: i64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeMode {
    /// Base units, in parts per billion of a unit.
    Fixed(i128),
    /// Share of equity, parts per billion.
    PctEquity(i64),
    /// Share of equity lost if the attached stop loss is hit, parts per billion.
    Risk(i64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RiskKind {
    StopLoss { ppb: i64 },
    TakeProfit { ppb: i64 },
    TrailingStop { ppb: i64 },
    TimeLimit { bars: u32 },
    KillSwitch { ppb: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Trigger(TriggerKind),
    Sma { period: usize },
    Ema { period: usize },
    Rsi { period: usize },
    Macd { fast: usize, slow: usize, signal: usize },
    Bollinger { period: usize, k: f64 },
    Atr { period: usize },
    Compare { op: CompareOp, b: Option<f64> },
    Cross { above: bool, b: Option<f64> },
    Threshold { lower: Option<f64>, upper: Option<f64> },
    And,
    Or,
    Not,
    Action { kind: ActionKind, order: OrderType, size: Option<SizeMode> },
    Risk(RiskKind),
}

pub const MAX_PERIOD: usize = 10_000;
pub const PPB: i64 = 1_000_000_000;

const TRIGGER_OUT: &[(&str, PortType)] = &[
    ("open", PortType::Series),
    ("high", PortType::Series),
    ("low", PortType::Series),
    ("close", PortType::Series),
    ("volume", PortType::Series),
    ("tick", PortType::Event),
];
const SOURCE_IN: &[Port] = &[port("source", PortType::Series, true)];
const VALUE_OUT: &[(&str, PortType)] = &[("value", PortType::Series)];
const BOOL_OUT: &[(&str, PortType)] = &[("out", PortType::Bool)];
const RISK_OUT: &[(&str, PortType)] = &[("out", PortType::Risk)];
/// `b` is optional: a constant `b` in params stands in when it is unwired.
const AB_SERIES_IN: &[Port] = &[port("a", PortType::Series, true), port("b", PortType::Series, false)];
const A_SERIES_IN: &[Port] = &[port("a", PortType::Series, true)];
const AB_BOOL_IN: &[Port] = &[port("a", PortType::Bool, true), port("b", PortType::Bool, true)];
const A_BOOL_IN: &[Port] = &[port("a", PortType::Bool, true)];
const ACTION_IN: &[Port] = &[port("when", PortType::Bool, true), port("risk", PortType::Risk, false)];

impl Kind {
    pub fn inputs(&self) -> &'static [Port] {
        match self {
            Kind::Trigger(_) | Kind::Risk(_) => &[],
            Kind::Sma { .. }
            | Kind::Ema { .. }
            | Kind::Rsi { .. }
            | Kind::Macd { .. }
            | Kind::Bollinger { .. }
            | Kind::Atr { .. } => SOURCE_IN,
            Kind::Compare { .. } | Kind::Cross { .. } => AB_SERIES_IN,
            Kind::Threshold { .. } => A_SERIES_IN,
            Kind::And | Kind::Or => AB_BOOL_IN,
            Kind::Not => A_BOOL_IN,
            Kind::Action { .. } => ACTION_IN,
        }
    }

    pub fn outputs(&self) -> &'static [(&'static str, PortType)] {
        match self {
            Kind::Trigger(_) => TRIGGER_OUT,
            Kind::Sma { .. } | Kind::Ema { .. } | Kind::Rsi { .. } | Kind::Atr { .. } => VALUE_OUT,
            Kind::Macd { .. } => {
                &[("macd", PortType::Series), ("signal", PortType::Series), ("hist", PortType::Series)]
            }
            Kind::Bollinger { .. } => {
                &[("upper", PortType::Series), ("middle", PortType::Series), ("lower", PortType::Series)]
            }
            Kind::Compare { .. } | Kind::Cross { .. } | Kind::Threshold { .. } | Kind::And | Kind::Or | Kind::Not => {
                BOOL_OUT
            }
            Kind::Action { .. } => &[],
            Kind::Risk(_) => RISK_OUT,
        }
    }

    /// Bars an indicator needs before its first value (TA-Lib's lookback).
    pub fn lookback(&self) -> usize {
        match *self {
            Kind::Sma { period } | Kind::Ema { period } | Kind::Bollinger { period, .. } => period - 1,
            Kind::Rsi { period } | Kind::Atr { period } => period,
            Kind::Macd { slow, signal, .. } => slow - 1 + signal - 1,
            Kind::Cross { .. } => 1,
            _ => 0,
        }
    }

    pub fn is_trigger(&self) -> bool {
        matches!(self, Kind::Trigger(_))
    }
}

/// Parameter reader for one node: every reader names the node and the parameter on failure.
struct Params<'a> {
    node: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Params<'a> {
    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn number(&self, name: &str) -> Result<Option<f64>, FlowError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(FlowError::param(self.node, name, "must be a number")),
            },
        }
    }

    fn required_number(&self, name: &str) -> Result<f64, FlowError> {
        self.number(name)?.ok_or_else(|| FlowError::param(self.node, name, "is required"))
    }

    fn int_in(&self, name: &str, default: Option<u64>, lo: u64, hi: u64) -> Result<u64, FlowError> {
        let bad = || FlowError::param(self.node, name, format!("must be an integer between {lo} and {hi}"));
        let value = match self.get(name) {
            None => return default.ok_or_else(|| FlowError::param(self.node, name, "is required")),
            Some(v) => v,
        };
        let n = match (value.as_u64(), value.as_f64()) {
            (Some(n), _) => n,
            (None, Some(x)) if x.fract() == 0.0 && x >= 0.0 && x <= u64::MAX as f64 => x as u64,
            _ => return Err(bad()),
        };
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    }

    fn period(&self, name: &str, default: Option<u64>, lo: u64) -> Result<usize, FlowError> {
        Ok(self.int_in(name, default, lo, MAX_PERIOD as u64)? as usize)
    }

    /// A fraction strictly between 0 and 1 (or up to 1 with `inclusive_one`), in parts per billion.
    fn fraction(&self, name: &str, inclusive_one: bool) -> Result<i64, FlowError> {
        let x = self.required_number(name)?;
        let ok = x > 0.0 && (x < 1.0 || (inclusive_one && x == 1.0));
        if !ok {
            let range = if inclusive_one { "(0, 1]" } else { "(0, 1)" };
            return Err(FlowError::param(self.node, name, format!("must be a number in {range}")));
        }
        let ppb = (x * PPB as f64).round() as i64;
        if ppb == 0 {
            return Err(FlowError::param(self.node, name, "is below a billionth"));
        }
        Ok(ppb)
    }

    fn text(&self, name: &str) -> Result<Option<&'a str>, FlowError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(FlowError::param(self.node, name, "must be a string")),
        }
    }

    fn one_of<T: Copy>(&self, name: &str, default: Option<T>, choices: &[(&str, T)]) -> Result<T, FlowError> {
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        match self.text(name)? {
            None => default.ok_or_else(|| FlowError::param(self.node, name, "is required")),
            Some(s) => choices
                .iter()
                .find(|(n, _)| *n == s)
                .map(|(_, v)| *v)
                .ok_or_else(|| FlowError::param(self.node, name, format!("must be one of {}", names.join(", ")))),
        }
    }
}

fn bps_to_ppb(bps: f64) -> i64 {
    (bps * 100_000.0).round() as i64
}

fn parse_size(p: &Params<'_>) -> Result<SizeMode, FlowError> {
    let Some(size) = p.get("size") else {
        return Err(FlowError::param(p.node, "size", "is required"));
    };
    let Some(map) = size.as_object() else {
        return Err(FlowError::param(p.node, "size", "must be an object {mode, value}"));
    };
    let inner = Params { node: p.node, map };
    let mode = inner.one_of("mode", None, &[("fixed", 0), ("pct_equity", 1), ("risk", 2)]);
    let mode = mode.map_err(|_| FlowError::param(p.node, "size", "mode must be one of fixed, pct_equity, risk"))?;
    let value =
        inner.required_number("value").map_err(|_| FlowError::param(p.node, "size", "value must be a number"))?;
    match mode {
        0 => {
            if !(value > 0.0 && value <= 1e12) {
                return Err(FlowError::param(p.node, "size", "value must be a quantity above 0"));
            }
            let ppb = (value * PPB as f64).round() as i128;
            if ppb == 0 {
                return Err(FlowError::param(p.node, "size", "value is below a billionth"));
            }
            Ok(SizeMode::Fixed(ppb))
        }
        1 => {
            if !(value > 0.0 && value <= 1.0) {
                return Err(FlowError::param(p.node, "size", "value must be a fraction in (0, 1]"));
            }
            Ok(SizeMode::PctEquity((value * PPB as f64).round().max(1.0) as i64))
        }
        _ => {
            if !(value > 0.0 && value < 1.0) {
                return Err(FlowError::param(p.node, "size", "value must be a fraction in (0, 1)"));
            }
            Ok(SizeMode::Risk((value * PPB as f64).round().max(1.0) as i64))
        }
    }
}

/// The node type names, for listings and editors.
pub const NODE_TYPES: &[&str] = &[
    "trigger.candle_close",
    "trigger.interval",
    "trigger.manual",
    "trigger.webhook",
    "indicator.sma",
    "indicator.ema",
    "indicator.rsi",
    "indicator.macd",
    "indicator.bollinger",
    "indicator.atr",
    "logic.compare",
    "logic.cross",
    "logic.threshold",
    "logic.and",
    "logic.or",
    "logic.not",
    "action.buy",
    "action.sell",
    "action.close",
    "risk.stop_loss",
    "risk.take_profit",
    "risk.trailing_stop",
    "risk.time_limit",
    "risk.kill_switch",
];

/// A node's kind from its type name and parameters, every parameter checked.
pub fn parse_kind(node: &str, type_name: &str, params: &Map<String, Value>) -> Result<Kind, FlowError> {
    let p = Params { node, map: params };
    let kind = match type_name {
        "trigger.candle_close" => {
            p.text("timeframe")?;
            Kind::Trigger(TriggerKind::CandleClose)
        }
        "trigger.interval" => Kind::Trigger(TriggerKind::Interval(p.int_in("everyBars", None, 1, 1_000_000)? as u32)),
        "trigger.manual" | "trigger.webhook" => Kind::Trigger(TriggerKind::External),
        "indicator.sma" => Kind::Sma { period: p.period("period", None, 1)? },
        "indicator.ema" => Kind::Ema { period: p.period("period", None, 2)? },
        "indicator.rsi" => Kind::Rsi { period: p.period("period", Some(14), 2)? },
        "indicator.macd" => {
            let fast = p.period("fast", Some(12), 2)?;
            let slow = p.period("slow", Some(26), 2)?;
            let signal = p.period("signal", Some(9), 2)?;
            if fast >= slow {
                return Err(FlowError::param(node, "fast", "must be below 'slow'"));
            }
            Kind::Macd { fast, slow, signal }
        }
        "indicator.bollinger" => {
            let period = p.period("period", Some(20), 2)?;
            let k = p.number("stdDev")?.unwrap_or(2.0);
            if !(k > 0.0 && k <= 100.0) {
                return Err(FlowError::param(node, "stdDev", "must be a number in (0, 100]"));
            }
            Kind::Bollinger { period, k }
        }
        "indicator.atr" => Kind::Atr { period: p.period("period", Some(14), 1)? },
        "logic.compare" => {
            let op = p.one_of(
                "op",
                None,
                &[
                    ("<", CompareOp::Lt),
                    ("<=", CompareOp::Le),
                    (">", CompareOp::Gt),
                    (">=", CompareOp::Ge),
                    ("==", CompareOp::Eq),
                    ("!=", CompareOp::Ne),
                ],
            )?;
            Kind::Compare { op, b: p.number("b")? }
        }
        "logic.cross" => {
            let above = p.one_of("direction", Some(true), &[("above", true), ("below", false)])?;
            Kind::Cross { above, b: p.number("b")? }
        }
        "logic.threshold" => {
            let (lower, upper) = (p.number("lower")?, p.number("upper")?);
            match (lower, upper) {
                (None, None) => return Err(FlowError::param(node, "lower", "or 'upper' is required")),
                (Some(l), Some(u)) if l > u => return Err(FlowError::param(node, "lower", "must not exceed 'upper'")),
                _ => {}
            }
            Kind::Threshold { lower, upper }
        }
        "logic.and" => Kind::And,
        "logic.or" => Kind::Or,
        "logic.not" => Kind::Not,
        "action.buy" | "action.sell" | "action.close" => {
            let kind = match type_name {
                "action.buy" => ActionKind::Buy,
                "action.sell" => ActionKind::Sell,
                _ => ActionKind::Close,
            };
            let limit = p.one_of("orderType", Some(false), &[("market", false), ("limit", true)])?;
            let order = if limit {
                let bps = p.number("limitOffsetBps")?.unwrap_or(0.0);
                if !(0.0..=5000.0).contains(&bps) {
                    return Err(FlowError::param(node, "limitOffsetBps", "must be between 0 and 5000"));
                }
                OrderType::Limit { offset_ppb: bps_to_ppb(bps) }
            } else {
                OrderType::Market
            };
            let size = match kind {
                ActionKind::Close => None,
                _ => Some(parse_size(&p)?),
            };
            Kind::Action { kind, order, size }
        }
        "risk.stop_loss" => Kind::Risk(RiskKind::StopLoss { ppb: p.fraction("pct", false)? }),
        "risk.take_profit" => Kind::Risk(RiskKind::TakeProfit { ppb: p.fraction("pct", false)? }),
        "risk.trailing_stop" => Kind::Risk(RiskKind::TrailingStop { ppb: p.fraction("pct", false)? }),
        "risk.time_limit" => Kind::Risk(RiskKind::TimeLimit { bars: p.int_in("bars", None, 1, 10_000_000)? as u32 }),
        "risk.kill_switch" => Kind::Risk(RiskKind::KillSwitch { ppb: p.fraction("maxDrawdownPct", false)? }),
        other => return Err(FlowError::node(node, "unknown_type", format!("unknown node type '{other}'"))),
    };
    Ok(kind)
}
