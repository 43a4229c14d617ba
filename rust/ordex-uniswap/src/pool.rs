//! A Uniswap v3 pool in memory: initialised ticks, positions with fees owed, and swaps that cross
//! ticks exactly as `UniswapV3Pool.swap` does (including the stop at every 256-tick bitmap word,
//! which changes the rounding of a swap and so must be kept to agree with the chain).
//!
//! No oracle and no protocol fee: neither changes what a swap moves or what a position earns
//! when the protocol fee is off, as it is on fresh pools.

use crate::error::{Result, UniswapError};
use crate::fees::{fee_growth_inside, Q128};
use crate::full_math::mul_div;
use crate::sqrt_price_math::{get_amount0_delta_signed, get_amount1_delta_signed};
use crate::swap_math::{compute_swap_step, FEE_DENOMINATOR};
use crate::tick_math::{
    get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio, MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK,
};
use ethnum::{I256, U256};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickInfo {
    pub liquidity_gross: u128,
    pub liquidity_net: i128,
    pub fee_growth_outside0_x128: U256,
    pub fee_growth_outside1_x128: U256,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PositionInfo {
    pub liquidity: u128,
    pub fee_growth_inside0_last_x128: U256,
    pub fee_growth_inside1_last_x128: U256,
    /// Principal returned by burns plus fees, waiting for `collect` (the pool keeps 128 bits).
    pub tokens_owed0: u128,
    pub tokens_owed1: u128,
}

/// A position's key: owner (any caller-chosen number), lower tick, upper tick.
pub type PositionKey = (u32, i32, i32);

/// What a swap moved: positive is paid into the pool, negative paid out, as the pool returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SwapResult {
    pub amount0: I256,
    pub amount1: I256,
    /// Fees paid by the swapper, in the input token.
    pub fee_amount: U256,
    /// Initialised ticks crossed.
    pub crossed: u32,
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub fee_pips: u32,
    pub tick_spacing: i32,
    pub sqrt_price_x96: U256,
    pub tick: i32,
    pub liquidity: u128,
    pub fee_growth_global0_x128: U256,
    pub fee_growth_global1_x128: U256,
    pub max_liquidity_per_tick: u128,
    ticks: BTreeMap<i32, TickInfo>,
    positions: HashMap<PositionKey, PositionInfo>,
}

fn add_delta(x: u128, y: i128) -> Result<u128> {
    if y < 0 {
        x.checked_sub(y.unsigned_abs()).ok_or(UniswapError::InvalidArgument("liquidity would go below zero"))
    } else {
        x.checked_add(y as u128).ok_or(UniswapError::Overflow)
    }
}

fn to_i256(x: U256) -> Result<I256> {
    if x > I256::MAX.as_u256() {
        Err(UniswapError::Overflow)
    } else {
        Ok(x.as_i256())
    }
}

impl Pool {
    /// A pool initialised at `sqrt_price_x96`, with no liquidity.
    pub fn new(fee_pips: u32, tick_spacing: i32, sqrt_price_x96: U256) -> Result<Self> {
        if fee_pips >= FEE_DENOMINATOR {
            return Err(UniswapError::InvalidFee(fee_pips));
        }
        if !(1..=16384).contains(&tick_spacing) {
            return Err(UniswapError::InvalidArgument("tick spacing must be in 1..=16384"));
        }
        let tick = get_tick_at_sqrt_ratio(sqrt_price_x96)?;
        // Tick.tickSpacingToMaxLiquidityPerTick
        let min_tick = (MIN_TICK / tick_spacing) * tick_spacing;
        let max_tick = (MAX_TICK / tick_spacing) * tick_spacing;
        let num_ticks = ((max_tick - min_tick) / tick_spacing) as u128 + 1;
        Ok(Pool {
            fee_pips,
            tick_spacing,
            sqrt_price_x96,
            tick,
            liquidity: 0,
            fee_growth_global0_x128: U256::ZERO,
            fee_growth_global1_x128: U256::ZERO,
            max_liquidity_per_tick: u128::MAX / num_ticks,
            ticks: BTreeMap::new(),
            positions: HashMap::new(),
        })
    }

    pub fn tick_info(&self, tick: i32) -> Option<&TickInfo> {
        self.ticks.get(&tick)
    }

    pub fn initialized_ticks(&self) -> impl Iterator<Item = (&i32, &TickInfo)> {
        self.ticks.iter()
    }

    pub fn position(&self, key: PositionKey) -> Option<&PositionInfo> {
        self.positions.get(&key)
    }

    /// `TickBitmap.nextInitializedTickWithinOneWord`: the next initialised tick at or below
    /// (`lte`) or above the current one, but no further than the end of its 256-spacing word.
    pub fn next_initialized_tick_within_one_word(&self, tick: i32, lte: bool) -> (i32, bool) {
        let ts = self.tick_spacing;
        let compressed = tick.div_euclid(ts);
        if lte {
            let word_start = (compressed >> 8) << 8;
            match self.ticks.range(word_start * ts..=compressed * ts).next_back() {
                Some((&t, _)) => (t, true),
                None => (word_start * ts, false),
            }
        } else {
            let start = compressed + 1;
            let word_end = ((start >> 8) << 8) + 255;
            match self.ticks.range(start * ts..=word_end * ts).next() {
                Some((&t, _)) => (t, true),
                None => (word_end * ts, false),
            }
        }
    }

    fn check_ticks(&self, lower: i32, upper: i32) -> Result<()> {
        let ts = self.tick_spacing;
        if lower >= upper || lower < MIN_TICK || upper > MAX_TICK || lower % ts != 0 || upper % ts != 0 {
            return Err(UniswapError::InvalidTickRange { lower, upper });
        }
        Ok(())
    }

    /// `Tick.update`: returns whether the tick flipped between initialised and not.
    fn update_tick(&mut self, tick: i32, delta: i128, upper: bool) -> Result<bool> {
        let (current, fg0, fg1, max) =
            (self.tick, self.fee_growth_global0_x128, self.fee_growth_global1_x128, self.max_liquidity_per_tick);
        let info = self.ticks.entry(tick).or_default();
        let before = info.liquidity_gross;
        let after = add_delta(before, delta)?;
        if after > max {
            return Err(UniswapError::InvalidArgument("liquidity per tick above the pool's maximum"));
        }
        let flipped = (after == 0) != (before == 0);
        if before == 0 && tick <= current {
            // By convention all growth before initialisation happened below the tick.
            info.fee_growth_outside0_x128 = fg0;
            info.fee_growth_outside1_x128 = fg1;
        }
        info.liquidity_gross = after;
        info.liquidity_net =
            if upper { info.liquidity_net.checked_sub(delta) } else { info.liquidity_net.checked_add(delta) }
                .ok_or(UniswapError::Overflow)?;
        Ok(flipped)
    }

    /// The pool's fee growth inside a range right now: (token0, token1).
    pub fn fee_growth_inside(&self, lower: i32, upper: i32) -> Result<(U256, U256)> {
        let lo = self.ticks.get(&lower).copied().unwrap_or_default();
        let up = self.ticks.get(&upper).copied().unwrap_or_default();
        Ok((
            fee_growth_inside(
                lower,
                upper,
                self.tick,
                self.fee_growth_global0_x128,
                lo.fee_growth_outside0_x128,
                up.fee_growth_outside0_x128,
            )?,
            fee_growth_inside(
                lower,
                upper,
                self.tick,
                self.fee_growth_global1_x128,
                lo.fee_growth_outside1_x128,
                up.fee_growth_outside1_x128,
            )?,
        ))
    }

    /// Fees a position has earned and not yet had credited to `tokens_owed` (no state change).
    pub fn uncredited_fees(&self, key: PositionKey) -> Result<(U256, U256)> {
        let Some(p) = self.positions.get(&key) else { return Ok((U256::ZERO, U256::ZERO)) };
        let (in0, in1) = self.fee_growth_inside(key.1, key.2)?;
        let l = U256::from(p.liquidity);
        Ok((
            mul_div(in0.wrapping_sub(p.fee_growth_inside0_last_x128), l, Q128)?,
            mul_div(in1.wrapping_sub(p.fee_growth_inside1_last_x128), l, Q128)?,
        ))
    }

    /// `_modifyPosition`: the signed token amounts the change owes (+) or frees (-).
    fn modify_position(&mut self, key: PositionKey, delta: i128) -> Result<(I256, I256)> {
        let (owner, lower, upper) = key;
        self.check_ticks(lower, upper)?;
        if delta == 0 && self.positions.get(&key).is_none_or(|p| p.liquidity == 0) {
            return Err(UniswapError::InvalidArgument("position has no liquidity"));
        }
        let next = add_delta(self.positions.get(&key).map_or(0, |p| p.liquidity), delta)?;
        let (mut flipped_lower, mut flipped_upper) = (false, false);
        if delta != 0 {
            flipped_lower = self.update_tick(lower, delta, false)?;
            flipped_upper = self.update_tick(upper, delta, true)?;
        }
        let (in0, in1) = self.fee_growth_inside(lower, upper)?;
        let p = self.positions.entry((owner, lower, upper)).or_default();
        let l = U256::from(p.liquidity);
        // The pool truncates the owed fees to 128 bits; so do we.
        let owed0 = mul_div(in0.wrapping_sub(p.fee_growth_inside0_last_x128), l, Q128)?.as_u128();
        let owed1 = mul_div(in1.wrapping_sub(p.fee_growth_inside1_last_x128), l, Q128)?.as_u128();
        p.liquidity = next;
        p.fee_growth_inside0_last_x128 = in0;
        p.fee_growth_inside1_last_x128 = in1;
        p.tokens_owed0 = p.tokens_owed0.wrapping_add(owed0);
        p.tokens_owed1 = p.tokens_owed1.wrapping_add(owed1);
        if delta < 0 {
            if flipped_lower {
                self.ticks.remove(&lower);
            }
            if flipped_upper {
                self.ticks.remove(&upper);
            }
        }
        let sa = get_sqrt_ratio_at_tick(lower)?;
        let sb = get_sqrt_ratio_at_tick(upper)?;
        if delta == 0 {
            return Ok((I256::ZERO, I256::ZERO));
        }
        Ok(if self.tick < lower {
            (get_amount0_delta_signed(sa, sb, delta)?, I256::ZERO)
        } else if self.tick < upper {
            self.liquidity = add_delta(self.liquidity, delta)?;
            (
                get_amount0_delta_signed(self.sqrt_price_x96, sb, delta)?,
                get_amount1_delta_signed(sa, self.sqrt_price_x96, delta)?,
            )
        } else {
            (I256::ZERO, get_amount1_delta_signed(sa, sb, delta)?)
        })
    }

    /// Adds `liquidity` to a position: the token amounts the pool is owed (rounded up).
    pub fn mint(&mut self, key: PositionKey, liquidity: u128) -> Result<(U256, U256)> {
        if liquidity == 0 || liquidity > i128::MAX as u128 {
            return Err(UniswapError::InvalidArgument("mint liquidity must be in 1..2**127"));
        }
        let (a0, a1) = self.modify_position(key, liquidity as i128)?;
        Ok((a0.as_u256(), a1.as_u256()))
    }

    /// Removes `liquidity` from a position (0 only credits its fees): the principal freed
    /// (rounded down), credited to the position's `tokens_owed` with its fees.
    pub fn burn(&mut self, key: PositionKey, liquidity: u128) -> Result<(U256, U256)> {
        if liquidity > i128::MAX as u128 {
            return Err(UniswapError::Overflow);
        }
        let (a0, a1) = self.modify_position(key, -(liquidity as i128))?;
        let (a0, a1) = (a0.unsigned_abs(), a1.unsigned_abs());
        let p = self.positions.get_mut(&key).ok_or(UniswapError::InvalidArgument("no such position"))?;
        p.tokens_owed0 = p.tokens_owed0.wrapping_add(a0.as_u128());
        p.tokens_owed1 = p.tokens_owed1.wrapping_add(a1.as_u128());
        Ok((a0, a1))
    }

    /// Pays out up to the requested amounts of what a position is owed; a position with nothing
    /// left (no liquidity, nothing owed) is forgotten.
    pub fn collect(&mut self, key: PositionKey, max0: u128, max1: u128) -> (u128, u128) {
        let Some(p) = self.positions.get_mut(&key) else { return (0, 0) };
        let a0 = p.tokens_owed0.min(max0);
        let a1 = p.tokens_owed1.min(max1);
        p.tokens_owed0 -= a0;
        p.tokens_owed1 -= a1;
        if p.liquidity == 0 && p.tokens_owed0 == 0 && p.tokens_owed1 == 0 {
            self.positions.remove(&key);
        }
        (a0, a1)
    }

    /// `UniswapV3Pool.swap`: `amount_specified` > 0 is an exact input, < 0 an exact output;
    /// the price stops at `sqrt_price_limit_x96` at the latest.
    pub fn swap(
        &mut self,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit_x96: U256,
    ) -> Result<SwapResult> {
        if amount_specified == I256::ZERO {
            return Err(UniswapError::InvalidArgument("amount specified must not be zero"));
        }
        let limit_ok = if zero_for_one {
            sqrt_price_limit_x96 < self.sqrt_price_x96 && sqrt_price_limit_x96 > MIN_SQRT_RATIO
        } else {
            sqrt_price_limit_x96 > self.sqrt_price_x96 && sqrt_price_limit_x96 < MAX_SQRT_RATIO
        };
        if !limit_ok {
            return Err(UniswapError::InvalidArgument("sqrt price limit is on the wrong side (SPL)"));
        }
        let exact_input = amount_specified > I256::ZERO;
        let mut remaining = amount_specified;
        let mut calculated = I256::ZERO;
        let mut sqrt_price = self.sqrt_price_x96;
        let mut tick = self.tick;
        let mut liquidity = self.liquidity;
        let mut fee_growth = if zero_for_one { self.fee_growth_global0_x128 } else { self.fee_growth_global1_x128 };
        let mut fees = U256::ZERO;
        let mut crossed = 0u32;
        while remaining != I256::ZERO && sqrt_price != sqrt_price_limit_x96 {
            let start = sqrt_price;
            let (next, initialized) = self.next_initialized_tick_within_one_word(tick, zero_for_one);
            let next = next.clamp(MIN_TICK, MAX_TICK);
            let sqrt_next = get_sqrt_ratio_at_tick(next)?;
            let target = if (zero_for_one && sqrt_next < sqrt_price_limit_x96)
                || (!zero_for_one && sqrt_next > sqrt_price_limit_x96)
            {
                sqrt_price_limit_x96
            } else {
                sqrt_next
            };
            let step = compute_swap_step(sqrt_price, target, liquidity, remaining, self.fee_pips)?;
            sqrt_price = step.sqrt_price_next_x96;
            let paid = to_i256(step.amount_in + step.fee_amount)?;
            let out = to_i256(step.amount_out)?;
            if exact_input {
                remaining -= paid;
                calculated -= out;
            } else {
                remaining += out;
                calculated += paid;
            }
            fees += step.fee_amount;
            if liquidity > 0 {
                fee_growth = fee_growth.wrapping_add(mul_div(step.fee_amount, Q128, U256::from(liquidity))?);
            }
            if sqrt_price == sqrt_next {
                if initialized {
                    let (g0, g1) = if zero_for_one {
                        (fee_growth, self.fee_growth_global1_x128)
                    } else {
                        (self.fee_growth_global0_x128, fee_growth)
                    };
                    let info = self.ticks.get_mut(&next).ok_or(UniswapError::InvalidArgument("tick vanished"))?;
                    info.fee_growth_outside0_x128 = g0.wrapping_sub(info.fee_growth_outside0_x128);
                    info.fee_growth_outside1_x128 = g1.wrapping_sub(info.fee_growth_outside1_x128);
                    let net = if zero_for_one { -info.liquidity_net } else { info.liquidity_net };
                    liquidity = add_delta(liquidity, net)?;
                    crossed += 1;
                }
                tick = if zero_for_one { next - 1 } else { next };
            } else if sqrt_price != start {
                tick = get_tick_at_sqrt_ratio(sqrt_price)?;
            }
        }
        self.sqrt_price_x96 = sqrt_price;
        self.tick = tick;
        self.liquidity = liquidity;
        if zero_for_one {
            self.fee_growth_global0_x128 = fee_growth;
        } else {
            self.fee_growth_global1_x128 = fee_growth;
        }
        let specified_used = amount_specified - remaining;
        let (amount0, amount1) =
            if zero_for_one == exact_input { (specified_used, calculated) } else { (calculated, specified_used) };
        Ok(SwapResult { amount0, amount1, fee_amount: fees, crossed })
    }

    /// The price limit a swap uses when it has none: one past the extreme ratios.
    pub fn no_limit(zero_for_one: bool) -> U256 {
        if zero_for_one {
            MIN_SQRT_RATIO + U256::ONE
        } else {
            MAX_SQRT_RATIO - U256::ONE
        }
    }
}
