//! Every refusal of the pool arithmetic. Bad input is an error value, never a panic.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniswapError {
    /// A tick outside `MIN_TICK..=MAX_TICK`.
    TickOutOfRange(i32),
    /// A sqrt price outside `MIN_SQRT_RATIO..MAX_SQRT_RATIO` (or wider than 160 bits where the
    /// pool only stores 160 bits).
    SqrtPriceOutOfRange,
    /// A result does not fit its type (256-bit products, 160-bit prices, 128-bit liquidity).
    Overflow,
    /// A denominator of zero.
    DivisionByZero,
    /// A price of zero where the price divides.
    ZeroPrice,
    /// Liquidity of zero where the liquidity divides.
    ZeroLiquidity,
    /// A requested output that the virtual reserves cannot pay.
    InsufficientLiquidity,
    /// A fee tier without a tick spacing, or a fee of 100% or more.
    InvalidFee(u32),
    /// A tick range whose lower end is not below its upper end, or that is not on the spacing.
    InvalidTickRange { lower: i32, upper: i32 },
    /// Any other argument out of its domain; the text says which.
    InvalidArgument(&'static str),
}

impl fmt::Display for UniswapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UniswapError::TickOutOfRange(t) => write!(f, "tick {t} is outside [-887272, 887272]"),
            UniswapError::SqrtPriceOutOfRange => write!(f, "sqrt price is outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)"),
            UniswapError::Overflow => write!(f, "result overflows its integer type"),
            UniswapError::DivisionByZero => write!(f, "division by zero"),
            UniswapError::ZeroPrice => write!(f, "sqrt price must be positive"),
            UniswapError::ZeroLiquidity => write!(f, "liquidity must be positive"),
            UniswapError::InsufficientLiquidity => write!(f, "output exceeds the virtual reserves"),
            UniswapError::InvalidFee(fee) => write!(f, "fee {fee} is not a valid fee"),
            UniswapError::InvalidTickRange { lower, upper } => write!(f, "tick range [{lower}, {upper}] is invalid"),
            UniswapError::InvalidArgument(what) => write!(f, "{what}"),
        }
    }
}

impl std::error::Error for UniswapError {}

pub type Result<T> = std::result::Result<T, UniswapError>;
