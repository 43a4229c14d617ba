//! The Python exception hierarchy, mapped exhaustively from the engine's error types.

use ordex_engine::decimal::DecimalError;
use ordex_engine::margin::MarginError;
use ordex_engine::{ConfigError, SnapshotError};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(ordex._engine, OrdexError, PyException, "Base class of every ordex engine error.");
create_exception!(ordex._engine, InvalidConfigError, OrdexError, "A market configuration was refused.");
create_exception!(
    ordex._engine,
    DecimalFormatError,
    OrdexError,
    "A decimal string is malformed, negative or too long."
);
create_exception!(
    ordex._engine,
    NotAlignedError,
    DecimalFormatError,
    "A price or quantity is not a whole number of ticks or lots."
);
create_exception!(ordex._engine, SnapshotFormatError, OrdexError, "Snapshot bytes could not be restored.");
create_exception!(ordex._engine, MarginComputationError, OrdexError, "A margin computation was refused.");
create_exception!(
    ordex._engine,
    InsufficientMarginError,
    MarginComputationError,
    "The account cannot afford the order; `args` are (message, required, available)."
);
create_exception!(ordex._engine, InvalidLeverageError, MarginComputationError, "Leverage outside 1..=max_leverage.");
create_exception!(ordex._engine, InvalidCommandError, OrdexError, "A command object could not be understood.");
create_exception!(
    ordex._engine,
    FlowValidationError,
    OrdexError,
    "A flow was refused; `node`, `problem` and `param` say where and why."
);

create_exception!(
    ordex._engine,
    UniswapMathError,
    OrdexError,
    "Uniswap v3 arithmetic refused its inputs: a tick or sqrt price out of range, an overflow, zero liquidity, too little liquidity for an output, a bad fee or range."
);

/// A refused pool computation as `UniswapMathError`, its message saying which rule was broken.
pub fn uniswap_error(e: ordex_uniswap::UniswapError) -> PyErr {
    UniswapMathError::new_err(e.to_string())
}

/// A refused flow as `FlowValidationError`, its `node`, `problem` and `param` set as attributes.
pub fn flow_error(py: Python<'_>, e: ordex_flow::FlowError) -> PyErr {
    let err = FlowValidationError::new_err(e.message.clone());
    let value = err.value(py);
    let set = value
        .setattr("node", e.node)
        .and_then(|_| value.setattr("problem", e.problem))
        .and_then(|_| value.setattr("param", e.param));
    match set {
        Ok(()) => err,
        Err(other) => other,
    }
}

/// Every failure the binding can surface.
pub enum BindingError {
    Config(ConfigError),
    Decimal { what: &'static str, input: String, error: DecimalError },
    Snapshot(SnapshotError),
    Margin(MarginError),
    Command(String),
}

impl From<ConfigError> for BindingError {
    fn from(e: ConfigError) -> Self {
        BindingError::Config(e)
    }
}

impl From<SnapshotError> for BindingError {
    fn from(e: SnapshotError) -> Self {
        BindingError::Snapshot(e)
    }
}

impl From<MarginError> for BindingError {
    fn from(e: MarginError) -> Self {
        BindingError::Margin(e)
    }
}

impl From<BindingError> for PyErr {
    fn from(e: BindingError) -> PyErr {
        match e {
            BindingError::Config(e) => InvalidConfigError::new_err(e.0),
            BindingError::Decimal { what, input, error } => {
                let msg = match (what, &error) {
                    ("price", DecimalError::NotAligned) => format!("price {input:?} is not a whole number of ticks"),
                    ("quantity", DecimalError::NotAligned) => {
                        format!("quantity {input:?} is not a whole number of lots")
                    }
                    _ => format!("{what} {input:?}: {error}"),
                };
                match error {
                    DecimalError::NotAligned => NotAlignedError::new_err(msg),
                    DecimalError::Malformed | DecimalError::Overflow | DecimalError::Negative => {
                        DecimalFormatError::new_err(msg)
                    }
                }
            }
            BindingError::Snapshot(e) => SnapshotFormatError::new_err(e.to_string()),
            BindingError::Margin(e) => match e {
                MarginError::InsufficientMargin { required, available } => {
                    InsufficientMarginError::new_err((e.to_string(), required, available))
                }
                MarginError::InvalidLeverage => InvalidLeverageError::new_err(e.to_string()),
                MarginError::Overflow | MarginError::WrongMarketKind => MarginComputationError::new_err(e.to_string()),
            },
            BindingError::Command(msg) => InvalidCommandError::new_err(msg),
        }
    }
}

/// Parses a wire enum spelling (`"BUY"`, `"GTC"`, ...) or raises `ValueError` listing the choices.
pub fn parse_choice<T: Copy>(
    name: &str,
    s: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    show: fn(T) -> &'static str,
) -> PyResult<T> {
    parse(s).ok_or_else(|| {
        let choices: Vec<&str> = all.iter().map(|&v| show(v)).collect();
        PyValueError::new_err(format!("{name} must be one of {}, not {s:?}", choices.join(", ")))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("OrdexError", py.get_type::<OrdexError>())?;
    m.add("InvalidConfigError", py.get_type::<InvalidConfigError>())?;
    m.add("DecimalFormatError", py.get_type::<DecimalFormatError>())?;
    m.add("NotAlignedError", py.get_type::<NotAlignedError>())?;
    m.add("SnapshotFormatError", py.get_type::<SnapshotFormatError>())?;
    m.add("MarginComputationError", py.get_type::<MarginComputationError>())?;
    m.add("InsufficientMarginError", py.get_type::<InsufficientMarginError>())?;
    m.add("InvalidLeverageError", py.get_type::<InvalidLeverageError>())?;
    m.add("InvalidCommandError", py.get_type::<InvalidCommandError>())?;
    m.add("FlowValidationError", py.get_type::<FlowValidationError>())?;
    m.add("UniswapMathError", py.get_type::<UniswapMathError>())?;
    Ok(())
}
