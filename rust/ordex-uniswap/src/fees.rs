//! Fee growth inside a position's range and the fees a position is owed.
//!
//! Fee growth counters are Q128 "fees per unit of liquidity" that only ever grow and are allowed
//! to wrap around 2^256: every difference here is a wrapping subtraction, as in the pool.

use crate::error::{Result, UniswapError};
use crate::full_math::mul_div;
use crate::tick_math::{MAX_TICK, MIN_TICK};
use ethnum::U256;

pub const Q128: U256 = U256::from_words(1, 0);

/// Fee growth of one token inside `[tick_lower, tick_upper)`, from the pool's global counter and
/// the two ticks' `feeGrowthOutside` counters.
pub fn fee_growth_inside(
    tick_lower: i32,
    tick_upper: i32,
    tick_current: i32,
    fee_growth_global_x128: U256,
    lower_outside_x128: U256,
    upper_outside_x128: U256,
) -> Result<U256> {
    if tick_lower >= tick_upper || tick_lower < MIN_TICK || tick_upper > MAX_TICK {
        return Err(UniswapError::InvalidTickRange { lower: tick_lower, upper: tick_upper });
    }
    let below = if tick_current >= tick_lower {
        lower_outside_x128
    } else {
        fee_growth_global_x128.wrapping_sub(lower_outside_x128)
    };
    let above = if tick_current < tick_upper {
        upper_outside_x128
    } else {
        fee_growth_global_x128.wrapping_sub(upper_outside_x128)
    };
    Ok(fee_growth_global_x128.wrapping_sub(below).wrapping_sub(above))
}

/// Fees earned by `liquidity` since the position last recorded `fee_growth_inside_last_x128`.
///
/// The pool stores this in 128 bits and lets it wrap; the full value is returned here.
pub fn tokens_owed(fee_growth_inside_x128: U256, fee_growth_inside_last_x128: U256, liquidity: u128) -> Result<U256> {
    let delta = fee_growth_inside_x128.wrapping_sub(fee_growth_inside_last_x128);
    mul_div(delta, U256::from(liquidity), Q128)
}
