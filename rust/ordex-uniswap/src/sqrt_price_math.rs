//! Price movement for given token amounts and token amounts between two prices, with the pool's
//! rounding: amounts owed to the pool round up, amounts paid by it round down.

use crate::error::{Result, UniswapError};
use crate::full_math::{div_rounding_up, mul_div, mul_div_rounding_up};
use ethnum::{I256, U256};

pub const Q96: U256 = U256::from_words(0, 1 << 96);
/// The largest value a uint160 holds: sqrt prices live in 160 bits.
pub const MAX_U160: U256 = U256::from_words(u32::MAX as u128, u128::MAX);

fn to_u160(x: U256) -> Result<U256> {
    if x > MAX_U160 {
        Err(UniswapError::Overflow)
    } else {
        Ok(x)
    }
}

fn check_price(sqrt_price_x96: U256) -> Result<()> {
    if sqrt_price_x96 > MAX_U160 {
        Err(UniswapError::SqrtPriceOutOfRange)
    } else {
        Ok(())
    }
}

/// The price after adding (or removing) `amount` of token0, rounded up so the price moves no
/// further than the amount pays for.
pub fn get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_price_x96: U256,
    liquidity: u128,
    amount: U256,
    add: bool,
) -> Result<U256> {
    check_price(sqrt_price_x96)?;
    if amount == U256::ZERO {
        return Ok(sqrt_price_x96);
    }
    if sqrt_price_x96 == U256::ZERO {
        return Err(UniswapError::ZeroPrice);
    }
    let numerator1: U256 = U256::from(liquidity) << 96;
    let product = amount.checked_mul(sqrt_price_x96);
    if add {
        if let Some(product) = product {
            if let Some(denominator) = numerator1.checked_add(product) {
                return mul_div_rounding_up(numerator1, sqrt_price_x96, denominator);
            }
        }
        // L / (L / sqrtP + amount): the same value without the 256-bit product.
        let denominator = (numerator1 / sqrt_price_x96).checked_add(amount).ok_or(UniswapError::Overflow)?;
        div_rounding_up(numerator1, denominator)
    } else {
        let product = product.ok_or(UniswapError::InsufficientLiquidity)?;
        if numerator1 <= product {
            return Err(UniswapError::InsufficientLiquidity);
        }
        to_u160(mul_div_rounding_up(numerator1, sqrt_price_x96, numerator1 - product)?)
    }
}

/// The price after adding (or removing) `amount` of token1, rounded down.
pub fn get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_price_x96: U256,
    liquidity: u128,
    amount: U256,
    add: bool,
) -> Result<U256> {
    check_price(sqrt_price_x96)?;
    if liquidity == 0 {
        return Err(UniswapError::ZeroLiquidity);
    }
    let l = U256::from(liquidity);
    if add {
        let quotient = if amount <= MAX_U160 { (amount << 96) / l } else { mul_div(amount, Q96, l)? };
        to_u160(sqrt_price_x96.checked_add(quotient).ok_or(UniswapError::Overflow)?)
    } else {
        let quotient =
            if amount <= MAX_U160 { div_rounding_up(amount << 96, l)? } else { mul_div_rounding_up(amount, Q96, l)? };
        if sqrt_price_x96 <= quotient {
            return Err(UniswapError::InsufficientLiquidity);
        }
        Ok(sqrt_price_x96 - quotient)
    }
}

fn check_price_and_liquidity(sqrt_price_x96: U256, liquidity: u128) -> Result<()> {
    if sqrt_price_x96 == U256::ZERO {
        return Err(UniswapError::ZeroPrice);
    }
    if liquidity == 0 {
        return Err(UniswapError::ZeroLiquidity);
    }
    check_price(sqrt_price_x96)
}

/// The price after swapping in `amount_in` (token0 when `zero_for_one`, else token1).
pub fn get_next_sqrt_price_from_input(
    sqrt_price_x96: U256,
    liquidity: u128,
    amount_in: U256,
    zero_for_one: bool,
) -> Result<U256> {
    check_price_and_liquidity(sqrt_price_x96, liquidity)?;
    if zero_for_one {
        get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_in, true)
    } else {
        get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_in, true)
    }
}

/// The price after swapping out `amount_out` (token1 when `zero_for_one`, else token0).
pub fn get_next_sqrt_price_from_output(
    sqrt_price_x96: U256,
    liquidity: u128,
    amount_out: U256,
    zero_for_one: bool,
) -> Result<U256> {
    check_price_and_liquidity(sqrt_price_x96, liquidity)?;
    if zero_for_one {
        get_next_sqrt_price_from_amount1_rounding_down(sqrt_price_x96, liquidity, amount_out, false)
    } else {
        get_next_sqrt_price_from_amount0_rounding_up(sqrt_price_x96, liquidity, amount_out, false)
    }
}

fn ordered(a: U256, b: U256) -> Result<(U256, U256)> {
    check_price(a)?;
    check_price(b)?;
    Ok(if a > b { (b, a) } else { (a, b) })
}

/// Token0 between two prices for `liquidity`: `L * (sqrtB - sqrtA) / (sqrtA * sqrtB)`.
pub fn get_amount0_delta(sqrt_a: U256, sqrt_b: U256, liquidity: u128, round_up: bool) -> Result<U256> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    if a == U256::ZERO {
        return Err(UniswapError::ZeroPrice);
    }
    let numerator1: U256 = U256::from(liquidity) << 96;
    let numerator2 = b - a;
    if round_up {
        div_rounding_up(mul_div_rounding_up(numerator1, numerator2, b)?, a)
    } else {
        Ok(mul_div(numerator1, numerator2, b)? / a)
    }
}

/// Token1 between two prices for `liquidity`: `L * (sqrtB - sqrtA)`.
pub fn get_amount1_delta(sqrt_a: U256, sqrt_b: U256, liquidity: u128, round_up: bool) -> Result<U256> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    if round_up {
        mul_div_rounding_up(U256::from(liquidity), b - a, Q96)
    } else {
        mul_div(U256::from(liquidity), b - a, Q96)
    }
}

fn to_i256(x: U256) -> Result<I256> {
    if x > I256::MAX.as_u256() {
        Err(UniswapError::Overflow)
    } else {
        Ok(x.as_i256())
    }
}

/// Signed token0 delta for a liquidity change: added liquidity is owed to the pool (rounded up,
/// positive), removed liquidity is paid out (rounded down, negative).
pub fn get_amount0_delta_signed(sqrt_a: U256, sqrt_b: U256, liquidity: i128) -> Result<I256> {
    if liquidity < 0 {
        Ok(-to_i256(get_amount0_delta(sqrt_a, sqrt_b, liquidity.unsigned_abs(), false)?)?)
    } else {
        to_i256(get_amount0_delta(sqrt_a, sqrt_b, liquidity as u128, true)?)
    }
}

/// Signed token1 delta for a liquidity change, rounded as [`get_amount0_delta_signed`].
pub fn get_amount1_delta_signed(sqrt_a: U256, sqrt_b: U256, liquidity: i128) -> Result<I256> {
    if liquidity < 0 {
        Ok(-to_i256(get_amount1_delta(sqrt_a, sqrt_b, liquidity.unsigned_abs(), false)?)?)
    } else {
        to_i256(get_amount1_delta(sqrt_a, sqrt_b, liquidity as u128, true)?)
    }
}
