//! Ticks and sqrt prices: `sqrtPriceX96 = sqrt(1.0001^tick) * 2^96`, exactly as the pool rounds it.

use crate::error::{Result, UniswapError};
use ethnum::U256;

pub const MIN_TICK: i32 = -887_272;
pub const MAX_TICK: i32 = 887_272;
/// `get_sqrt_ratio_at_tick(MIN_TICK)`.
pub const MIN_SQRT_RATIO: U256 = U256::from_words(0, 4_295_128_739);
/// `get_sqrt_ratio_at_tick(MAX_TICK)` = 1461446703485210103287273052203988822378723970342.
pub const MAX_SQRT_RATIO: U256 = U256::from_words(0xfffd8963, 0xefd1fc6a506488495d951d5263988d26);

/// `2^128 / sqrt(1.0001)^(2^i)` in Q128, for bit `i` of |tick| (bit 0 handled separately).
const BIT_FACTORS: [u128; 19] = [
    0xfff97272373d413259a46990580e213a,
    0xfff2e50f5f656932ef12357cf3c7fdcc,
    0xffe5caca7e10e4e61c3624eaa0941cd0,
    0xffcb9843d60f6159c9db58835c926644,
    0xff973b41fa98c081472e6896dfb254c0,
    0xff2ea16466c96a3843ec78b326b52861,
    0xfe5dee046a99a2a811c461f1969c3053,
    0xfcbe86c7900a88aedcffc83b479aa3a4,
    0xf987a7253ac413176f2b074cf7815e54,
    0xf3392b0822b70005940c7a398e4b70f3,
    0xe7159475a2c29b7443b29c7fa6e889d9,
    0xd097f3bdfd2022b8845ad8f792aa5825,
    0xa9f746462d870fdf8a65dc1f90e061e5,
    0x70d869a156d2a1b890bb3df62baf32f7,
    0x31be135f97d08fd981231505542fcfa6,
    0x9aa508b5b7a84e1c677de54f3e99bc9,
    0x5d6af8dedb81196699c329225ee604,
    0x2216e584f5fa1ea926041bedfe98,
    0x48a170391f7dc42444e8fa2,
];
const BIT0_FACTOR: u128 = 0xfffcb933bd6fad37aa2d162d1a594001;

/// The sqrt price (Q64.96) at a tick, rounded up to the next Q96 unit as the pool does.
pub fn get_sqrt_ratio_at_tick(tick: i32) -> Result<U256> {
    if !(MIN_TICK..=MAX_TICK).contains(&tick) {
        return Err(UniswapError::TickOutOfRange(tick));
    }
    let abs = tick.unsigned_abs();
    // Q128 ratio of 1.0001^(-|tick|/2): a product of the per-bit factors.
    let mut ratio = if abs & 1 != 0 { U256::from(BIT0_FACTOR) } else { U256::ONE << 128 };
    for (i, &factor) in BIT_FACTORS.iter().enumerate() {
        if abs & (2 << i) != 0 {
            ratio = (ratio * U256::from(factor)) >> 128;
        }
    }
    if tick > 0 {
        ratio = U256::MAX / ratio;
    }
    // Q128 to Q96, rounding up so that the tick of the result is this tick.
    let low_bits = ratio & U256::from(u32::MAX);
    Ok((ratio >> 32) + if low_bits == U256::ZERO { U256::ZERO } else { U256::ONE })
}

/// The greatest tick whose sqrt price is at most `sqrt_price_x96`.
///
/// A floating-point logarithm gives a first guess within a tick or two; the exact answer is
/// then pinned by comparing against `get_sqrt_ratio_at_tick`, so the result is exact.
pub fn get_tick_at_sqrt_ratio(sqrt_price_x96: U256) -> Result<i32> {
    if sqrt_price_x96 < MIN_SQRT_RATIO || sqrt_price_x96 >= MAX_SQRT_RATIO {
        return Err(UniswapError::SqrtPriceOutOfRange);
    }
    // ln(sqrtP / 2^96) / ln(sqrt(1.0001))
    let guess = ((sqrt_price_x96.as_f64().ln() - 96.0 * std::f64::consts::LN_2) / (0.5 * 1.0001f64.ln())).floor();
    let mut tick = (guess as i32).clamp(MIN_TICK, MAX_TICK - 1);
    while tick > MIN_TICK && get_sqrt_ratio_at_tick(tick)? > sqrt_price_x96 {
        tick -= 1;
    }
    while tick < MAX_TICK && get_sqrt_ratio_at_tick(tick + 1)? <= sqrt_price_x96 {
        tick += 1;
    }
    Ok(tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_the_ratios_of_the_extreme_ticks() {
        assert_eq!(get_sqrt_ratio_at_tick(MIN_TICK).unwrap(), MIN_SQRT_RATIO);
        assert_eq!(get_sqrt_ratio_at_tick(MAX_TICK).unwrap(), MAX_SQRT_RATIO);
        assert_eq!(MAX_SQRT_RATIO.to_string(), "1461446703485210103287273052203988822378723970342");
    }
}
