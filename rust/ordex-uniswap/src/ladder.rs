//! Ladder layout for range droids: tick spacing per fee tier, the centre range and rungs around
//! it, and how a funding amount is split over the rungs.

use crate::error::{Result, UniswapError};
use crate::full_math::mul_div;
use crate::tick_math::{MAX_TICK, MIN_TICK};
use ethnum::U256;

/// The pool's tick spacing for each standard fee tier (in pips).
pub fn tick_spacing_for_fee(fee_pips: u32) -> Result<i32> {
    match fee_pips {
        100 => Ok(1),
        500 => Ok(10),
        3000 => Ok(60),
        10000 => Ok(200),
        other => Err(UniswapError::InvalidFee(other)),
    }
}

fn check_spacing(tick_spacing: i32) -> Result<()> {
    if tick_spacing <= 0 || tick_spacing > 16384 {
        return Err(UniswapError::InvalidArgument("tick spacing must be in 1..=16384"));
    }
    Ok(())
}

fn check_range(lower: i32, upper: i32, tick_spacing: i32) -> Result<(i32, i32)> {
    let aligned = lower.rem_euclid(tick_spacing) == 0 && upper.rem_euclid(tick_spacing) == 0;
    if lower >= upper || lower < MIN_TICK || upper > MAX_TICK || !aligned {
        return Err(UniswapError::InvalidTickRange { lower, upper });
    }
    Ok((lower, upper))
}

/// The centre position: `tick_buckets` spacings wide, on the spacing grid, holding `tick_current`
/// (the spacing slot holding the tick, widened by `tick_buckets / 2` slots below).
pub fn centre_range(tick_current: i32, tick_spacing: i32, tick_buckets: u32) -> Result<(i32, i32)> {
    check_spacing(tick_spacing)?;
    if tick_buckets == 0 || tick_buckets > 2 * MAX_TICK as u32 {
        return Err(UniswapError::InvalidArgument("tick_buckets must be positive"));
    }
    if !(MIN_TICK..=MAX_TICK).contains(&tick_current) {
        return Err(UniswapError::TickOutOfRange(tick_current));
    }
    let ts = i64::from(tick_spacing);
    let slot = i64::from(tick_current).div_euclid(ts) * ts;
    let lower = slot - i64::from(tick_buckets / 2) * ts;
    let upper = lower + i64::from(tick_buckets) * ts;
    check_range(narrow(lower)?, narrow(upper)?, tick_spacing)
}

fn narrow(t: impl Into<i128>) -> Result<i32> {
    let t: i128 = t.into();
    i32::try_from(t).map_err(|_| UniswapError::TickOutOfRange(if t < 0 { i32::MIN } else { i32::MAX }))
}

/// Rung `index` (1, 2, ...) above (`above`) or below the centre `[centre_lower, centre_upper]`.
///
/// Above: lower = `centre_lower + index * bucket_offset * spacing`, upper = lower + width.
/// Below: upper = `centre_upper - index * bucket_offset * spacing`, lower = upper - width;
/// width = `tick_buckets * spacing`.
pub fn rung_range(
    centre_lower: i32,
    centre_upper: i32,
    index: u32,
    above: bool,
    tick_spacing: i32,
    tick_buckets: u32,
    bucket_offset: u32,
) -> Result<(i32, i32)> {
    check_spacing(tick_spacing)?;
    check_range(centre_lower, centre_upper, tick_spacing)?;
    // i128: index * offset * spacing can pass 2^63 before the range check refuses it.
    let ts = i128::from(tick_spacing);
    let width = i128::from(tick_buckets) * ts;
    let step = i128::from(index) * i128::from(bucket_offset) * ts;
    let (lower, upper) = if above {
        let lower = i128::from(centre_lower) + step;
        (lower, lower + width)
    } else {
        let upper = i128::from(centre_upper) - step;
        (upper - width, upper)
    };
    check_range(narrow(lower)?, narrow(upper)?, tick_spacing)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundingCurve {
    /// w_i = max_bots - i
    Linear,
    /// w_i = 0.4^i, exactly (as 2^i * 5^(n-1-i))
    Decay,
    /// w_i = exp(-(i/1.5)^2 / 2), rounded to nine decimal places
    Gaussian,
}

impl FundingCurve {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "LINEAR" => Some(FundingCurve::Linear),
            "DECAY" => Some(FundingCurve::Decay),
            "GAUSSIAN" => Some(FundingCurve::Gaussian),
            _ => None,
        }
    }
}

/// The most rungs a ladder may have (the exact DECAY weights need 5^(n-1) to fit 256 bits).
pub const MAX_BOTS: u32 = 100;

/// Integer weights of rungs `0..max_bots` (0 is the centre), proportional to the curve.
pub fn funding_weights(curve: FundingCurve, max_bots: u32) -> Result<Vec<U256>> {
    if max_bots == 0 || max_bots > MAX_BOTS {
        return Err(UniswapError::InvalidArgument("max_bots must be in 1..=100"));
    }
    let n = max_bots;
    Ok((0..n)
        .map(|i| match curve {
            FundingCurve::Linear => U256::from(n - i),
            FundingCurve::Decay => (U256::ONE << i) * U256::from(5u8).pow(n - 1 - i),
            FundingCurve::Gaussian => {
                let x = f64::from(i) / 1.5;
                U256::from((((-x * x) / 2.0).exp() * 1e9).round() as u64)
            }
        })
        .collect())
}

/// `floor(w_i / sum(w) * total)` for each rung: the shares never add up to more than `total`.
pub fn funding_amounts(curve: FundingCurve, max_bots: u32, total: U256) -> Result<Vec<U256>> {
    let weights = funding_weights(curve, max_bots)?;
    let sum = weights.iter().try_fold(U256::ZERO, |acc, w| acc.checked_add(*w)).ok_or(UniswapError::Overflow)?;
    weights.iter().map(|w| mul_div(total, *w, sum)).collect()
}
