//! Exact integer Uniswap v3 pool arithmetic.
//!
//! The same rounding as the pool contracts (the Uniswap v3 core and periphery libraries, GPL-2.0-or-later,
//! whose published behaviour and test vectors this crate reproduces): sqrt prices are Q64.96 in
//! 160 bits, liquidity is 128 bits, token amounts and fee growth counters 256 bits (`ethnum`).
//! Every function returns a [`UniswapError`] instead of panicking on bad input.

pub mod error;
pub mod fees;
pub mod full_math;
pub mod ladder;
pub mod liquidity_amounts;
pub mod lp_backtest;
pub mod pool;
pub mod sqrt_price_math;
pub mod swap_math;
pub mod tick_math;

pub use error::{Result, UniswapError};
pub use ethnum::{I256, U256};
pub use fees::{fee_growth_inside, tokens_owed, Q128};
pub use full_math::{div_rounding_up, mul_div, mul_div_rounding_up};
pub use ladder::{centre_range, funding_amounts, funding_weights, rung_range, tick_spacing_for_fee, FundingCurve};
pub use liquidity_amounts::{
    get_amount0_for_liquidity, get_amount1_for_liquidity, get_amounts_for_liquidity, get_liquidity_for_amount0,
    get_liquidity_for_amount1, get_liquidity_for_amounts,
};
pub use lp_backtest::{
    run_backtest, BacktestConfig, BacktestResult, Direction, Event, GasUnits, Snapshot, TriggerType,
};
pub use pool::{Pool, PositionInfo, PositionKey, SwapResult, TickInfo};
pub use sqrt_price_math::{
    get_amount0_delta, get_amount0_delta_signed, get_amount1_delta, get_amount1_delta_signed,
    get_next_sqrt_price_from_amount0_rounding_up, get_next_sqrt_price_from_amount1_rounding_down,
    get_next_sqrt_price_from_input, get_next_sqrt_price_from_output, MAX_U160, Q96,
};
pub use swap_math::{compute_swap_step, SwapStep, FEE_DENOMINATOR};
pub use tick_math::{
    get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio, MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK,
};
