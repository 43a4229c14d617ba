//! One step of a swap inside a single initialised-tick range.

use crate::error::{Result, UniswapError};
use crate::full_math::{mul_div, mul_div_rounding_up};
use crate::sqrt_price_math::{
    get_amount0_delta, get_amount1_delta, get_next_sqrt_price_from_input, get_next_sqrt_price_from_output,
};
use ethnum::{I256, U256};

/// Fees are in hundredths of a basis point ("pips"): 3000 is 0.3%.
pub const FEE_DENOMINATOR: u32 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapStep {
    pub sqrt_price_next_x96: U256,
    pub amount_in: U256,
    pub amount_out: U256,
    pub fee_amount: U256,
}

/// Swaps from `sqrt_price_current_x96` toward `sqrt_price_target_x96` (the direction follows from
/// which is higher) with `liquidity`. `amount_remaining` positive is an exact input still to spend
/// (fee included), negative an exact output still to receive. `amount_in` excludes the fee.
pub fn compute_swap_step(
    sqrt_price_current_x96: U256,
    sqrt_price_target_x96: U256,
    liquidity: u128,
    amount_remaining: I256,
    fee_pips: u32,
) -> Result<SwapStep> {
    if fee_pips >= FEE_DENOMINATOR {
        return Err(UniswapError::InvalidFee(fee_pips));
    }
    let current = sqrt_price_current_x96;
    let target = sqrt_price_target_x96;
    let zero_for_one = current >= target;
    let exact_in = amount_remaining >= I256::ZERO;
    let remaining = amount_remaining.unsigned_abs();
    let fee = U256::from(fee_pips);
    let one = U256::from(FEE_DENOMINATOR);

    let mut amount_in = U256::ZERO;
    let mut amount_out = U256::ZERO;
    let next = if exact_in {
        let remaining_less_fee = mul_div(remaining, one - fee, one)?;
        amount_in = if zero_for_one {
            get_amount0_delta(target, current, liquidity, true)?
        } else {
            get_amount1_delta(current, target, liquidity, true)?
        };
        if remaining_less_fee >= amount_in {
            target
        } else {
            get_next_sqrt_price_from_input(current, liquidity, remaining_less_fee, zero_for_one)?
        }
    } else {
        amount_out = if zero_for_one {
            get_amount1_delta(target, current, liquidity, false)?
        } else {
            get_amount0_delta(current, target, liquidity, false)?
        };
        if remaining >= amount_out {
            target
        } else {
            get_next_sqrt_price_from_output(current, liquidity, remaining, zero_for_one)?
        }
    };
    let reached_target = next == target;
    // At the target, the amount computed for the whole range above is already exact.
    let keep_in = reached_target && exact_in;
    let keep_out = reached_target && !exact_in;
    if zero_for_one {
        if !keep_in {
            amount_in = get_amount0_delta(next, current, liquidity, true)?;
        }
        if !keep_out {
            amount_out = get_amount1_delta(next, current, liquidity, false)?;
        }
    } else {
        if !keep_in {
            amount_in = get_amount1_delta(current, next, liquidity, true)?;
        }
        if !keep_out {
            amount_out = get_amount0_delta(current, next, liquidity, false)?;
        }
    }
    // Rounding in the price can promise a hair more output than was asked for.
    if !exact_in && amount_out > remaining {
        amount_out = remaining;
    }
    let fee_amount = if exact_in && !reached_target {
        // The price stopped short of the target: whatever is left of the input is the fee.
        remaining.checked_sub(amount_in).ok_or(UniswapError::Overflow)?
    } else {
        mul_div_rounding_up(amount_in, fee, one - fee)?
    };
    Ok(SwapStep { sqrt_price_next_x96: next, amount_in, amount_out, fee_amount })
}
