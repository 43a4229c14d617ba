//! An LP backtest: swaps (or a price path) replayed through an in-memory [`Pool`] while a droid's
//! ladder controller acts on it, as the live controller does, with gas charged per transaction.
//!
//! The controller's rules (the same as the live droid's):
//! - the trigger is the spot price (`PRICE`) or an EMA of it (`EMA`, a = 2/(length+1), seeded with
//!   the first price, nothing done before `length` samples);
//! - with no positions it builds the ladder "out" around the price; otherwise it rebalances when the
//!   trigger falls below the centre's mid price x (1 - falling) or rises above mid x (1 + rising),
//!   building up when the EMA's relative slope is above `derivativeThreshold`, down below its
//!   negative, out otherwise;
//! - the centre holds the tick: built out the tick sits in the middle spacing, built up the range
//!   starts at the tick's spacing, built down it ends just above it; rung k sits `distance(k)` steps
//!   of `bucketOffset` spacings away (up: k, down: -k, out: +1, -1, +2, -2, ...);
//! - a held position with a target's exact range stays; otherwise a target (nearest the price first)
//!   replaces the farthest held position only when closer by more than `ladderPercMargin` ranges;
//! - rungs are funded along the funding curve, never past `funding` in all (kept positions count),
//!   from the wallet only (no swaps), and no action outside the price band, above the gas price
//!   cap or once the gas budget is spent.
//!
//! Money is integers: amounts in raw token units, prices as sqrtPriceX96 or Q96 prices, ratios in
//! parts per billion, gas in wei. Values "in token1" are `amount0 x price + amount1`.

use crate::error::{Result, UniswapError};
use crate::full_math::mul_div;
use crate::ladder::{funding_amounts, FundingCurve};
use crate::liquidity_amounts::{get_amounts_for_liquidity, get_liquidity_for_amounts};
use crate::pool::{Pool, PositionKey};
use crate::sqrt_price_math::Q96;
use crate::tick_math::{get_sqrt_ratio_at_tick, MAX_TICK};
use ethnum::{I256, U256};

/// Ratios are fixed point with this denominator (parts per billion).
pub const PPB: u64 = 1_000_000_000;
/// The pool key owner of the droid's positions (others' liquidity uses owner 0).
pub const DROID: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerType {
    Price,
    Ema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Out,
}

/// Gas units charged per transaction kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasUnits {
    pub mint: u64,
    pub decrease: u64,
    pub collect: u64,
    pub burn: u64,
    pub approve: u64,
}

impl Default for GasUnits {
    fn default() -> Self {
        GasUnits { mint: 350_000, decrease: 160_000, collect: 110_000, burn: 60_000, approve: 46_000 }
    }
}

#[derive(Debug, Clone)]
pub struct BacktestConfig {
    pub tick_buckets: u32,
    pub bucket_offset: u32,
    pub max_bots: u32,
    /// Total funding, in raw token1 units.
    pub funding: U256,
    pub funding_curve: FundingCurve,
    pub trigger_type: TriggerType,
    pub ema_length: u32,
    pub falling_ppb: u64,
    pub rising_ppb: u64,
    pub derivative_ppb: u64,
    pub margin_ppb: u64,
    pub min_sqrt_price_x96: Option<U256>,
    pub max_sqrt_price_x96: Option<U256>,
    pub gas: GasUnits,
    pub gas_price_wei: u128,
    pub max_gas_price_wei: Option<u128>,
    pub gas_budget_wei: Option<u128>,
    /// The wallet's starting tokens (the "hold" the impermanent loss compares against).
    pub start_amount0: U256,
    pub start_amount1: U256,
    /// The controller runs before the first swap and after every `cycle_every` swaps.
    pub cycle_every: u32,
    /// A snapshot after every `snapshot_every` swaps, and after the last.
    pub snapshot_every: u32,
}

/// One event of the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A swap: `amount` > 0 exact input, < 0 exact output, as `UniswapV3Pool.swap` takes it.
    Swap { amount: I256, zero_for_one: bool },
    /// Swap whatever it takes to bring the price to this sqrtPriceX96 (a candle's close).
    PriceTo(U256),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Events replayed so far.
    pub index: u64,
    pub sqrt_price_x96: U256,
    pub tick: i32,
    /// Positions + uncollected fees + wallet, in token1.
    pub aum_token1: U256,
    /// The starting amounts held, at this price, in token1.
    pub hodl_token1: U256,
    pub positions0: U256,
    pub positions1: U256,
    pub wallet0: U256,
    pub wallet1: U256,
    /// Fees earned so far (collected and uncollected).
    pub fees0: U256,
    pub fees1: U256,
    pub gas_wei: u128,
}

impl Snapshot {
    /// `hodl - aum` in token1 (positive is a loss against holding), fees included in the AUM as
    /// the live droid's history does.
    pub fn impermanent_loss_token1(&self) -> I256 {
        self.hodl_token1.as_i256() - self.aum_token1.as_i256()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebalance {
    /// The event index after which the controller acted (0: before the first).
    pub index: u64,
    /// 0 initial, 1 falling, 2 rising.
    pub reason: u8,
    pub direction: Direction,
    pub centre: (i32, i32),
    pub closed: u32,
    pub minted: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub swaps: u64,
    /// Swaps the pool refused because the price already sat at their limit (they revert on chain).
    pub swaps_refused: u64,
    pub ticks_crossed: u64,
    pub cycles: u64,
    pub rebalances_falling: u32,
    pub rebalances_rising: u32,
    pub initial_builds: u32,
    pub mints: u32,
    pub closes: u32,
    pub transactions: u32,
    pub blocked_band: u64,
    pub blocked_gas: u64,
}

#[derive(Debug, Clone)]
pub struct BacktestResult {
    pub snapshots: Vec<Snapshot>,
    pub rebalances: Vec<Rebalance>,
    pub counts: Counts,
    pub final_snapshot: Snapshot,
    pub pool_fees0: U256,
    pub pool_fees1: U256,
}

struct Held {
    lower: i32,
    upper: i32,
    liquidity: u128,
}

struct Rung {
    index: u32,
    lower: i32,
    upper: i32,
    funding: U256,
}

/// Price in Q96 (token1 per token0, raw units) of a sqrt price.
fn price_x96(sqrt_price_x96: U256) -> Result<U256> {
    mul_div(sqrt_price_x96, sqrt_price_x96, Q96)
}

/// `amount0 x price + amount1`.
fn value_in_token1(sqrt_price_x96: U256, amount0: U256, amount1: U256) -> Result<U256> {
    let v0 = mul_div(mul_div(amount0, sqrt_price_x96, Q96)?, sqrt_price_x96, Q96)?;
    v0.checked_add(amount1).ok_or(UniswapError::Overflow)
}

/// The centre for a build direction (see the module documentation).
pub fn centre_for(tick: i32, spacing: i32, tick_buckets: u32, direction: Direction) -> (i64, i64) {
    let ts = i64::from(spacing);
    let width = i64::from(tick_buckets) * ts;
    let base = i64::from(tick).div_euclid(ts) * ts;
    let lower = match direction {
        Direction::Up => base,
        Direction::Down => base + ts - width,
        Direction::Out => base - i64::from(tick_buckets / 2) * ts,
    };
    (lower, lower + width)
}

/// Signed rung steps from the centre (+ above).
pub fn rung_distance(index: u32, direction: Direction) -> i64 {
    let i = i64::from(index);
    match (index, direction) {
        (0, _) => 0,
        (_, Direction::Up) => i,
        (_, Direction::Down) => -i,
        (_, Direction::Out) => {
            let steps = (i + 1) / 2;
            if index % 2 == 1 {
                steps
            } else {
                -steps
            }
        }
    }
}

/// The target ladder: `(lower, upper)` of rungs `0..max_bots` around `tick`, clamped to the
/// usable ticks of the spacing.
pub fn ladder_layout(
    tick: i32,
    spacing: i32,
    tick_buckets: u32,
    bucket_offset: u32,
    max_bots: u32,
    direction: Direction,
) -> Vec<(i32, i32)> {
    let (cl, cu) = centre_for(tick, spacing, tick_buckets, direction);
    let ts = i64::from(spacing);
    let width = i64::from(tick_buckets) * ts;
    let step = i64::from(bucket_offset) * ts;
    let edge = i64::from(MAX_TICK / spacing) * ts;
    (0..max_bots)
        .map(|index| {
            let d = rung_distance(index, direction);
            let (lower, upper) = if d >= 0 {
                let lower = cl + d * step;
                (lower, lower + width)
            } else {
                let upper = cu + d * step;
                (upper - width, upper)
            };
            // Clamped into [-edge, edge]; the i64 values then fit an i32.
            (lower.clamp(-edge, edge) as i32, upper.clamp(-edge, edge) as i32)
        })
        .collect()
}

/// Twice the distance of a range's middle from the tick (in ticks).
fn distance2(lower: i32, upper: i32, tick: i32) -> i64 {
    (i64::from(lower) + i64::from(upper) - 2 * i64::from(tick)).abs()
}

/// Plan of a rebalance: indexes into `held` to close, indexes into `target` to mint.
fn plan_rebalance(
    held: &[Held],
    target: &[Rung],
    tick: i32,
    width: i64,
    max_bots: u32,
    margin_ppb: u64,
) -> (Vec<usize>, Vec<usize>, usize) {
    let mut remaining: Vec<usize> = (0..held.len()).collect();
    let mut open: Vec<usize> = Vec::new();
    let mut kept = 0usize;
    for (ti, rung) in target.iter().enumerate() {
        if let Some(pos) = remaining.iter().position(|&h| (held[h].lower, held[h].upper) == (rung.lower, rung.upper)) {
            remaining.remove(pos);
            kept += 1;
        } else {
            open.push(ti);
        }
    }
    open.sort_by_key(|&t| distance2(target[t].lower, target[t].upper, tick));
    remaining.sort_by_key(|&h| std::cmp::Reverse(distance2(held[h].lower, held[h].upper, tick)));
    let mut close = Vec::new();
    let mut mint = Vec::new();
    let mut slots = i64::from(max_bots) - kept as i64 - remaining.len() as i64;
    // old - new > margin (in ranges) <=> (old2 - new2) * PPB > margin * 2 * width
    let bar = i128::from(margin_ppb) * 2 * i128::from(width);
    for t in open {
        let new2 = distance2(target[t].lower, target[t].upper, tick);
        if slots > 0 {
            mint.push(t);
            slots -= 1;
            continue;
        }
        let Some(&old) = remaining.first() else { break };
        let old2 = distance2(held[old].lower, held[old].upper, tick);
        if i128::from(old2 - new2) * i128::from(PPB) > bar {
            remaining.remove(0);
            close.push(old);
            mint.push(t);
        }
    }
    (close, mint, kept)
}

struct Droid<'a> {
    cfg: &'a BacktestConfig,
    held: Vec<Held>,
    centre: Option<(i32, i32)>,
    wallet0: U256,
    wallet1: U256,
    collected_fees0: U256,
    collected_fees1: U256,
    gas_wei: u128,
    approved: bool,
    ema: Option<U256>,
    previous_ema: Option<U256>,
    samples: u64,
    gas_blocked: bool,
    counts: Counts,
    rebalances: Vec<Rebalance>,
}

/// Why an action stopped.
enum Stop {
    Gas,
    Math(UniswapError),
}

impl From<UniswapError> for Stop {
    fn from(e: UniswapError) -> Self {
        Stop::Math(e)
    }
}

impl Droid<'_> {
    fn update_trigger(&mut self, price: U256) -> Result<()> {
        let len = U256::from(self.cfg.ema_length);
        self.previous_ema = self.ema;
        self.ema = Some(match self.ema {
            None => price,
            // a*P + (1-a)*EMA with a = 2/(len+1)
            Some(ema) => (price * U256::from(2u8) + ema * (len - U256::ONE)) / (len + U256::ONE),
        });
        self.samples += 1;
        Ok(())
    }

    /// The EMA's relative slope against the derivative threshold.
    fn direction(&self) -> Direction {
        let (Some(ema), Some(prev)) = (self.ema, self.previous_ema) else { return Direction::Out };
        if prev == U256::ZERO {
            return Direction::Out;
        }
        let thr = prev * U256::from(self.cfg.derivative_ppb);
        if ema > prev && (ema - prev) * U256::from(PPB) > thr {
            Direction::Up
        } else if prev > ema && (prev - ema) * U256::from(PPB) > thr {
            Direction::Down
        } else {
            Direction::Out
        }
    }

    fn charge(&mut self, units: u64) -> std::result::Result<(), Stop> {
        if self.cfg.max_gas_price_wei.is_some_and(|cap| self.cfg.gas_price_wei > cap) {
            return Err(Stop::Gas);
        }
        if self.cfg.gas_budget_wei.is_some_and(|budget| self.gas_wei >= budget) {
            self.gas_blocked = true;
            return Err(Stop::Gas);
        }
        self.gas_wei = self.gas_wei.saturating_add(u128::from(units).saturating_mul(self.cfg.gas_price_wei));
        self.counts.transactions += 1;
        Ok(())
    }

    fn key(h: &Held) -> PositionKey {
        (DROID, h.lower, h.upper)
    }

    /// decrease, collect, burn.
    fn close(&mut self, pool: &mut Pool, index: usize) -> std::result::Result<(), Stop> {
        let key = Self::key(&self.held[index]);
        let liquidity = self.held[index].liquidity;
        let (mut p0, mut p1) = (U256::ZERO, U256::ZERO);
        if liquidity > 0 {
            self.charge(self.cfg.gas.decrease)?;
            (p0, p1) = pool.burn(key, liquidity)?;
            self.held[index].liquidity = 0;
        }
        self.charge(self.cfg.gas.collect)?;
        let (c0, c1) = pool.collect(key, u128::MAX, u128::MAX);
        let (c0, c1) = (U256::from(c0), U256::from(c1));
        self.wallet0 += c0;
        self.wallet1 += c1;
        self.collected_fees0 += c0.saturating_sub(p0);
        self.collected_fees1 += c1.saturating_sub(p1);
        self.charge(self.cfg.gas.burn)?;
        self.held.remove(index);
        self.counts.closes += 1;
        Ok(())
    }

    /// Mints a rung worth `funding` token1 (less when the wallet holds less); the value used.
    fn mint(&mut self, pool: &mut Pool, lower: i32, upper: i32, funding: U256) -> std::result::Result<U256, Stop> {
        let sp = pool.sqrt_price_x96;
        let sa = get_sqrt_ratio_at_tick(lower)?;
        let sb = get_sqrt_ratio_at_tick(upper)?;
        // Value per unit of liquidity, x Q96: (sb - p) * p / sb + (p - sa), p clamped to the range.
        let p = sp.clamp(sa, sb);
        let per_l = mul_div(sb - p, p, sb)? + (p - sa);
        if per_l == U256::ZERO {
            return Ok(U256::ZERO);
        }
        let mut liquidity = mul_div(funding, Q96, per_l)?.min(U256::from(i128::MAX as u128));
        let (a0, a1) = get_amounts_for_liquidity(sp, sa, sb, liquidity.as_u128())?;
        if a0 > self.wallet0 || a1 > self.wallet1 {
            // Scale down to what the wallet holds (no swap is made for the ladder).
            if a0 > self.wallet0 {
                liquidity = liquidity.min(mul_div(liquidity, self.wallet0, a0)?);
            }
            if a1 > self.wallet1 {
                liquidity = liquidity.min(mul_div(liquidity, self.wallet1, a1)?);
            }
        }
        let (a0, a1) = get_amounts_for_liquidity(sp, sa, sb, liquidity.as_u128())?;
        let expected = get_liquidity_for_amounts(sp, sa, sb, a0, a1)?;
        if expected == 0 {
            return Ok(U256::ZERO);
        }
        self.charge(self.cfg.gas.mint)?;
        let key = (DROID, lower, upper);
        let (m0, m1) = pool.mint(key, expected)?;
        if m0 > self.wallet0 || m1 > self.wallet1 {
            // The chain would revert: undo and stop this rung.
            pool.burn(key, expected)?;
            pool.collect(key, u128::MAX, u128::MAX);
            return Ok(U256::ZERO);
        }
        self.wallet0 -= m0;
        self.wallet1 -= m1;
        self.held.push(Held { lower, upper, liquidity: expected });
        self.counts.mints += 1;
        value_in_token1(sp, m0, m1).map_err(Stop::Math)
    }

    /// One controller cycle after `index` events.
    fn cycle(&mut self, pool: &mut Pool, index: u64) -> Result<()> {
        self.counts.cycles += 1;
        let spot = price_x96(pool.sqrt_price_x96)?;
        self.update_trigger(spot)?;
        if self.gas_blocked {
            self.counts.blocked_gas += 1;
            return Ok(());
        }
        let sp = pool.sqrt_price_x96;
        if self.cfg.min_sqrt_price_x96.is_some_and(|m| sp < m) || self.cfg.max_sqrt_price_x96.is_some_and(|m| sp > m) {
            self.counts.blocked_band += 1;
            return Ok(());
        }
        let watched = match self.cfg.trigger_type {
            TriggerType::Price => spot,
            TriggerType::Ema if self.samples >= u64::from(self.cfg.ema_length) => self.ema.unwrap_or(spot),
            TriggerType::Ema => return Ok(()),
        };
        let (reason, direction) = match self.centre {
            Some((cl, cu)) if !self.held.is_empty() => {
                let mid = mul_div(get_sqrt_ratio_at_tick(cl)?, get_sqrt_ratio_at_tick(cu)?, Q96)?;
                let ppb = U256::from(PPB);
                if watched * ppb < mid * U256::from(PPB - self.cfg.falling_ppb.min(PPB)) {
                    (1u8, self.direction())
                } else if watched * ppb > mid * (ppb + U256::from(self.cfg.rising_ppb)) {
                    (2u8, self.direction())
                } else {
                    return Ok(());
                }
            }
            _ => (0u8, Direction::Out),
        };
        // The gas checks before anything is decided, as the live droid's.
        if self.cfg.max_gas_price_wei.is_some_and(|cap| self.cfg.gas_price_wei > cap)
            || self.cfg.gas_budget_wei.is_some_and(|budget| self.gas_wei >= budget)
        {
            self.gas_blocked = self.cfg.gas_budget_wei.is_some_and(|budget| self.gas_wei >= budget);
            self.counts.blocked_gas += 1;
            return Ok(());
        }
        match self.rebalance(pool, index, reason, direction) {
            Ok(()) => Ok(()),
            Err(Stop::Gas) => {
                self.counts.blocked_gas += 1;
                Ok(())
            }
            Err(Stop::Math(e)) => Err(e),
        }
    }

    fn rebalance(
        &mut self,
        pool: &mut Pool,
        index: u64,
        reason: u8,
        direction: Direction,
    ) -> std::result::Result<(), Stop> {
        let cfg = self.cfg;
        let spacing = pool.tick_spacing;
        let tick = pool.tick;
        let layout = ladder_layout(tick, spacing, cfg.tick_buckets, cfg.bucket_offset, cfg.max_bots, direction);
        let funding = funding_amounts(cfg.funding_curve, cfg.max_bots, cfg.funding)?;
        let target: Vec<Rung> = layout
            .iter()
            .zip(funding)
            .enumerate()
            .map(|(i, (&(lower, upper), funding))| Rung { index: i as u32, lower, upper, funding })
            .collect();
        let centre = (target[0].lower, target[0].upper);
        self.centre = Some(centre);
        match reason {
            0 => self.counts.initial_builds += 1,
            1 => self.counts.rebalances_falling += 1,
            _ => self.counts.rebalances_rising += 1,
        }
        let mut record = Rebalance { index, reason, direction, centre, closed: 0, minted: 0 };
        let result = self.carry_out(pool, &target, &mut record);
        self.rebalances.push(record);
        result
    }

    fn carry_out(&mut self, pool: &mut Pool, target: &[Rung], record: &mut Rebalance) -> std::result::Result<(), Stop> {
        let cfg = self.cfg;
        if !self.approved {
            self.charge(cfg.gas.approve)?;
            self.charge(cfg.gas.approve)?;
            self.approved = true;
        }
        let width = i64::from(cfg.tick_buckets) * i64::from(pool.tick_spacing);
        let (close, mint, _) = plan_rebalance(&self.held, target, pool.tick, width, cfg.max_bots, cfg.margin_ppb);
        // Close from the highest index down so earlier indexes stay valid.
        let mut close = close;
        close.sort_unstable_by(|a, b| b.cmp(a));
        for h in close {
            self.close(pool, h)?;
            record.closed += 1;
        }
        let sp = pool.sqrt_price_x96;
        let mut spent = U256::ZERO;
        for h in &self.held {
            let (a0, a1) = get_amounts_for_liquidity(
                sp,
                get_sqrt_ratio_at_tick(h.lower)?,
                get_sqrt_ratio_at_tick(h.upper)?,
                h.liquidity,
            )?;
            spent += value_in_token1(sp, a0, a1)?;
        }
        let mut budget = cfg.funding.saturating_sub(spent);
        let mut mint = mint;
        mint.sort_unstable_by_key(|&t| target[t].index);
        for t in mint {
            let funding = target[t].funding.min(budget);
            if funding == U256::ZERO {
                break;
            }
            let used = self.mint(pool, target[t].lower, target[t].upper, funding)?;
            if used > U256::ZERO {
                record.minted += 1;
            }
            budget = budget.saturating_sub(used);
        }
        Ok(())
    }

    fn snapshot(&self, pool: &Pool, index: u64) -> Result<Snapshot> {
        let sp = pool.sqrt_price_x96;
        let (mut pos0, mut pos1, mut fee0, mut fee1) = (U256::ZERO, U256::ZERO, U256::ZERO, U256::ZERO);
        for h in &self.held {
            let key = Self::key(h);
            let (a0, a1) = get_amounts_for_liquidity(
                sp,
                get_sqrt_ratio_at_tick(h.lower)?,
                get_sqrt_ratio_at_tick(h.upper)?,
                h.liquidity,
            )?;
            let (u0, u1) = pool.uncredited_fees(key)?;
            let (o0, o1) = pool.position(key).map_or((0, 0), |p| (p.tokens_owed0, p.tokens_owed1));
            pos0 += a0;
            pos1 += a1;
            fee0 += u0 + U256::from(o0);
            fee1 += u1 + U256::from(o1);
        }
        let total0 = pos0 + fee0 + self.wallet0;
        let total1 = pos1 + fee1 + self.wallet1;
        Ok(Snapshot {
            index,
            sqrt_price_x96: sp,
            tick: pool.tick,
            aum_token1: value_in_token1(sp, total0, total1)?,
            hodl_token1: value_in_token1(sp, self.cfg.start_amount0, self.cfg.start_amount1)?,
            positions0: pos0,
            positions1: pos1,
            wallet0: self.wallet0,
            wallet1: self.wallet1,
            fees0: self.collected_fees0 + fee0,
            fees1: self.collected_fees1 + fee1,
            gas_wei: self.gas_wei,
        })
    }
}

fn check_config(cfg: &BacktestConfig) -> Result<()> {
    if cfg.tick_buckets == 0 || cfg.bucket_offset == 0 {
        return Err(UniswapError::InvalidArgument("tick_buckets and bucket_offset must be positive"));
    }
    if cfg.ema_length == 0 || cfg.cycle_every == 0 || cfg.snapshot_every == 0 {
        return Err(UniswapError::InvalidArgument("ema_length, cycle_every and snapshot_every must be positive"));
    }
    if cfg.falling_ppb > PPB {
        return Err(UniswapError::InvalidArgument("the falling trigger must be in [0, 1]"));
    }
    funding_amounts(cfg.funding_curve, cfg.max_bots, U256::ZERO).map(|_| ())
}

/// Replays `events` through `pool` with the droid of `cfg` acting on it.
pub fn run_backtest(cfg: &BacktestConfig, pool: &mut Pool, events: &[Event]) -> Result<BacktestResult> {
    check_config(cfg)?;
    let mut droid = Droid {
        cfg,
        held: Vec::new(),
        centre: None,
        wallet0: cfg.start_amount0,
        wallet1: cfg.start_amount1,
        collected_fees0: U256::ZERO,
        collected_fees1: U256::ZERO,
        gas_wei: 0,
        approved: false,
        ema: None,
        previous_ema: None,
        samples: 0,
        gas_blocked: false,
        counts: Counts::default(),
        rebalances: Vec::new(),
    };
    let (mut pool_fees0, mut pool_fees1) = (U256::ZERO, U256::ZERO);
    let mut snapshots = Vec::with_capacity(events.len() / cfg.snapshot_every as usize + 2);
    droid.cycle(pool, 0)?;
    snapshots.push(droid.snapshot(pool, 0)?);
    let big = I256::from(i128::MAX);
    for (i, event) in events.iter().enumerate() {
        let (zero_for_one, amount, limit) = match *event {
            Event::Swap { amount, zero_for_one } => (zero_for_one, amount, Pool::no_limit(zero_for_one)),
            Event::PriceTo(target) => {
                if target == pool.sqrt_price_x96 {
                    (false, I256::ZERO, U256::ZERO)
                } else {
                    let zero_for_one = target < pool.sqrt_price_x96;
                    (zero_for_one, big, target)
                }
            }
        };
        let at_limit = if zero_for_one { pool.sqrt_price_x96 <= limit } else { pool.sqrt_price_x96 >= limit };
        if amount != I256::ZERO && at_limit {
            droid.counts.swaps_refused += 1;
        } else if amount != I256::ZERO {
            let r = pool.swap(zero_for_one, amount, limit)?;
            if zero_for_one {
                pool_fees0 += r.fee_amount;
            } else {
                pool_fees1 += r.fee_amount;
            }
            droid.counts.swaps += 1;
            droid.counts.ticks_crossed += u64::from(r.crossed);
        }
        let n = i as u64 + 1;
        if n % u64::from(cfg.cycle_every) == 0 {
            droid.cycle(pool, n)?;
        }
        if n % u64::from(cfg.snapshot_every) == 0 {
            snapshots.push(droid.snapshot(pool, n)?);
        }
    }
    let n = events.len() as u64;
    let final_snapshot = droid.snapshot(pool, n)?;
    if snapshots.last().is_none_or(|s| s.index != n) {
        snapshots.push(final_snapshot);
    }
    Ok(BacktestResult {
        snapshots,
        rebalances: droid.rebalances,
        counts: droid.counts,
        final_snapshot,
        pool_fees0,
        pool_fees1,
    })
}
