//! Liquidity for token amounts over a price range and back, as the periphery's position manager
//! computes them (liquidity rounds down, amounts round down).

use crate::error::{Result, UniswapError};
use crate::full_math::mul_div;
use crate::sqrt_price_math::{MAX_U160, Q96};
use ethnum::U256;

fn to_u128(x: U256) -> Result<u128> {
    if x > U256::from(u128::MAX) {
        Err(UniswapError::Overflow)
    } else {
        Ok(x.as_u128())
    }
}

fn ordered(a: U256, b: U256) -> Result<(U256, U256)> {
    if a > MAX_U160 || b > MAX_U160 {
        return Err(UniswapError::SqrtPriceOutOfRange);
    }
    Ok(if a > b { (b, a) } else { (a, b) })
}

/// Liquidity that `amount0` of token0 buys over `[sqrt_a, sqrt_b]`.
pub fn get_liquidity_for_amount0(sqrt_a: U256, sqrt_b: U256, amount0: U256) -> Result<u128> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    let intermediate = mul_div(a, b, Q96)?;
    to_u128(mul_div(amount0, intermediate, b - a)?)
}

/// Liquidity that `amount1` of token1 buys over `[sqrt_a, sqrt_b]`.
pub fn get_liquidity_for_amount1(sqrt_a: U256, sqrt_b: U256, amount1: U256) -> Result<u128> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    to_u128(mul_div(amount1, Q96, b - a)?)
}

/// The most liquidity that both amounts can pay for at the current price.
pub fn get_liquidity_for_amounts(
    sqrt_price_x96: U256,
    sqrt_a: U256,
    sqrt_b: U256,
    amount0: U256,
    amount1: U256,
) -> Result<u128> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    if sqrt_price_x96 > MAX_U160 {
        return Err(UniswapError::SqrtPriceOutOfRange);
    }
    if sqrt_price_x96 <= a {
        get_liquidity_for_amount0(a, b, amount0)
    } else if sqrt_price_x96 < b {
        let l0 = get_liquidity_for_amount0(sqrt_price_x96, b, amount0)?;
        let l1 = get_liquidity_for_amount1(a, sqrt_price_x96, amount1)?;
        Ok(l0.min(l1))
    } else {
        get_liquidity_for_amount1(a, b, amount1)
    }
}

/// Token0 held by `liquidity` over `[sqrt_a, sqrt_b]` when the price is at or below the range.
pub fn get_amount0_for_liquidity(sqrt_a: U256, sqrt_b: U256, liquidity: u128) -> Result<U256> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    if a == U256::ZERO {
        return Err(UniswapError::ZeroPrice);
    }
    Ok(mul_div(U256::from(liquidity) << 96, b - a, b)? / a)
}

/// Token1 held by `liquidity` over `[sqrt_a, sqrt_b]` when the price is at or above the range.
pub fn get_amount1_for_liquidity(sqrt_a: U256, sqrt_b: U256, liquidity: u128) -> Result<U256> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    mul_div(U256::from(liquidity), b - a, Q96)
}

/// Both token amounts held by `liquidity` over `[sqrt_a, sqrt_b]` at the current price.
pub fn get_amounts_for_liquidity(
    sqrt_price_x96: U256,
    sqrt_a: U256,
    sqrt_b: U256,
    liquidity: u128,
) -> Result<(U256, U256)> {
    let (a, b) = ordered(sqrt_a, sqrt_b)?;
    if sqrt_price_x96 > MAX_U160 {
        return Err(UniswapError::SqrtPriceOutOfRange);
    }
    if sqrt_price_x96 <= a {
        Ok((get_amount0_for_liquidity(a, b, liquidity)?, U256::ZERO))
    } else if sqrt_price_x96 < b {
        Ok((
            get_amount0_for_liquidity(sqrt_price_x96, b, liquidity)?,
            get_amount1_for_liquidity(a, sqrt_price_x96, liquidity)?,
        ))
    } else {
        Ok((U256::ZERO, get_amount1_for_liquidity(a, b, liquidity)?))
    }
}
