//! The pool simulator against a step-by-step swap over the swap-step math, token conservation
//! over random swaps, and the LP backtest's controller over a price path up then down.

use ordex_uniswap::lp_backtest::Direction;
use ordex_uniswap::*;
use proptest::prelude::*;
use rstest::rstest;

fn pool_with(positions: &[(i32, i32, u128)], tick: i32) -> Pool {
    let mut pool = Pool::new(3000, 60, get_sqrt_ratio_at_tick(tick).unwrap() + U256::from(12_345u32)).unwrap();
    for &(lower, upper, liquidity) in positions {
        pool.mint((0, lower, upper), liquidity).unwrap();
    }
    pool
}

/// A swap by hand: the initialised ticks (and the bitmap word edge at tick 0, compressed 0) are
/// the only stops; each stretch is one `compute_swap_step`.
fn reference_swap(
    positions: &[(i32, i32, u128)],
    start: U256,
    zero_for_one: bool,
    amount: I256,
) -> (I256, I256, U256, u128) {
    let mut stops: Vec<i32> = positions.iter().flat_map(|p| [p.0, p.1]).collect();
    stops.push(0);
    stops.push(255 * 60);
    stops.sort_unstable();
    stops.dedup();
    let net = |t: i32| -> i128 {
        positions
            .iter()
            .map(|p| {
                if p.0 == t {
                    p.2 as i128
                } else if p.1 == t {
                    -(p.2 as i128)
                } else {
                    0
                }
            })
            .sum()
    };
    let mut price = start;
    let mut liquidity: u128 = positions
        .iter()
        .filter(|p| get_sqrt_ratio_at_tick(p.0).unwrap() <= start && start < get_sqrt_ratio_at_tick(p.1).unwrap())
        .map(|p| p.2)
        .sum();
    let mut remaining = amount;
    let (mut used_in, mut used_out) = (U256::ZERO, U256::ZERO);
    let order: Vec<i32> = if zero_for_one {
        stops.iter().rev().copied().filter(|&t| get_sqrt_ratio_at_tick(t).unwrap() < price).collect()
    } else {
        stops.iter().copied().filter(|&t| get_sqrt_ratio_at_tick(t).unwrap() > price).collect()
    };
    for t in order {
        if remaining == I256::ZERO {
            break;
        }
        let target = get_sqrt_ratio_at_tick(t).unwrap();
        let step = compute_swap_step(price, target, liquidity, remaining, 3000).unwrap();
        used_in += step.amount_in + step.fee_amount;
        used_out += step.amount_out;
        if amount > I256::ZERO {
            remaining -= (step.amount_in + step.fee_amount).as_i256();
        } else {
            remaining += step.amount_out.as_i256();
        }
        price = step.sqrt_price_next_x96;
        if price == target {
            let n = if zero_for_one { -net(t) } else { net(t) };
            liquidity = (liquidity as i128 + n) as u128;
        }
    }
    let (a_in, a_out) = (used_in.as_i256(), -used_out.as_i256());
    let (amount0, amount1) = if zero_for_one { (a_in, a_out) } else { (a_out, a_in) };
    (amount0, amount1, price, liquidity)
}

const POSITIONS: [(i32, i32, u128); 4] = [
    (1200, 9000, 3_000_000_000_000_000_000),
    (3000, 7200, 5_000_000_000_000_000_000),
    (4800, 12000, 2_000_000_000_000_000_000),
    (6600, 6900, 9_000_000_000_000_000_000),
];

#[rstest]
#[case::down_exact_in(true, 1_000_000_000_000_000_000i128)]
#[case::down_exact_out(true, -1_500_000_000_000_000_000i128)]
#[case::up_exact_in(false, 1_000_000_000_000_000_000i128)]
#[case::up_exact_out(false, -500_000_000_000_000_000i128)]
#[case::small(true, 1_000i128)]
fn a_pool_swap_crossing_ticks_is_the_swap_steps_one_after_another(#[case] zero_for_one: bool, #[case] amount: i128) {
    let mut pool = pool_with(&POSITIONS, 6000);
    let start = pool.sqrt_price_x96;
    let r = pool.swap(zero_for_one, I256::from(amount), Pool::no_limit(zero_for_one)).unwrap();
    let (a0, a1, price, liquidity) = reference_swap(&POSITIONS, start, zero_for_one, I256::from(amount));
    assert_eq!((r.amount0, r.amount1), (a0, a1));
    assert_eq!(pool.sqrt_price_x96, price);
    assert_eq!(pool.liquidity, liquidity);
    let t = get_tick_at_sqrt_ratio(price).unwrap();
    assert!(pool.tick == t || pool.tick == t - 1, "tick {} for price tick {t}", pool.tick);
    if amount.unsigned_abs() > 1_000_000 {
        assert!(r.crossed >= 1, "the swap should cross ticks, crossed {}", r.crossed);
    }
}

#[test]
fn crossing_a_tick_flips_its_fee_growth_outside() {
    let mut pool = pool_with(&POSITIONS, 6000);
    // Down to exactly tick 4800: crossing it is the swap's last step, so no fee comes after.
    let limit = get_sqrt_ratio_at_tick(4800).unwrap();
    pool.swap(true, I256::from(10i128.pow(24)), limit).unwrap();
    let g0 = pool.fee_growth_global0_x128;
    assert!(g0 > U256::ZERO);
    assert_eq!(pool.tick, 4799);
    // 4800 was initialised below the price (outside = global then, 0) and crossed once: global.
    assert_eq!(pool.tick_info(4800).unwrap().fee_growth_outside0_x128, g0);
    // 9000 lies above and was never crossed: still 0.
    assert_eq!(pool.tick_info(9000).unwrap().fee_growth_outside0_x128, U256::ZERO);
}

#[test]
fn the_swap_stops_at_a_bitmap_word_edge() {
    // One position across tick 0: a swap down through 0 takes a step ending at the word edge.
    let mut pool = Pool::new(3000, 60, get_sqrt_ratio_at_tick(600).unwrap()).unwrap();
    pool.mint((0, -1200, 1200), 10u128.pow(21)).unwrap();
    assert_eq!(pool.next_initialized_tick_within_one_word(600, true), (0, false));
    assert_eq!(pool.next_initialized_tick_within_one_word(-1, true), (-1200, true));
    assert_eq!(pool.next_initialized_tick_within_one_word(-1300, false), (-1200, true));
    assert_eq!(pool.next_initialized_tick_within_one_word(1200, false), (255 * 60, false));
}

#[derive(Default)]
struct Ledger {
    balance0: I256,
    balance1: I256,
}

fn swaps() -> impl Strategy<Value = Vec<(bool, i128)>> {
    prop::collection::vec((any::<bool>(), prop_oneof![1i128..10i128.pow(21), -(10i128.pow(20))..-1i128]), 1..25)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Tokens in = tokens out + fees: after every position is burned and collected the pool holds
    /// only rounding dust, never less than nothing; and the fees collected are the swaps' fees
    /// less at most that dust.
    #[test]
    fn tokens_in_equal_tokens_out_plus_fees(swaps in swaps(), shift in -3000i32..3000) {
        let tick = 6000 + shift / 60 * 60;
        let mut pool = pool_with(&[], tick);
        let mut ledger = Ledger::default();
        let (mut minted0, mut minted1) = (U256::ZERO, U256::ZERO);
        for (i, &(lower, upper, liquidity)) in POSITIONS.iter().enumerate() {
            let (a0, a1) = pool.mint((i as u32, lower, upper), liquidity).unwrap();
            minted0 += a0;
            minted1 += a1;
        }
        ledger.balance0 += minted0.as_i256();
        ledger.balance1 += minted1.as_i256();
        let (mut fees0, mut fees1) = (U256::ZERO, U256::ZERO);
        for (zero_for_one, amount) in swaps {
            // At the extreme price a swap further that way is refused, as on chain (SPL).
            let Ok(r) = pool.swap(zero_for_one, I256::from(amount), Pool::no_limit(zero_for_one)) else { continue };
            ledger.balance0 += r.amount0;
            ledger.balance1 += r.amount1;
            prop_assert!(ledger.balance0 >= I256::ZERO && ledger.balance1 >= I256::ZERO);
            if zero_for_one { fees0 += r.fee_amount } else { fees1 += r.fee_amount }
        }
        let (mut principal0, mut principal1, mut got0, mut got1) = (U256::ZERO, U256::ZERO, U256::ZERO, U256::ZERO);
        for (i, &(lower, upper, liquidity)) in POSITIONS.iter().enumerate() {
            let (p0, p1) = pool.burn((i as u32, lower, upper), liquidity).unwrap();
            principal0 += p0;
            principal1 += p1;
            let (c0, c1) = pool.collect((i as u32, lower, upper), u128::MAX, u128::MAX);
            got0 += U256::from(c0);
            got1 += U256::from(c1);
        }
        prop_assert_eq!(pool.liquidity, 0);
        prop_assert_eq!(pool.initialized_ticks().count(), 0);
        let dust0 = ledger.balance0 - got0.as_i256();
        let dust1 = ledger.balance1 - got1.as_i256();
        prop_assert!(dust0 >= I256::ZERO && dust1 >= I256::ZERO, "paid out more than it took: {dust0} {dust1}");
        prop_assert!(dust0 <= I256::from(200) && dust1 <= I256::from(200), "dust {dust0} {dust1}");
        let earned0 = got0 - principal0;
        let earned1 = got1 - principal1;
        prop_assert!(earned0 <= fees0 && fees0 - earned0 <= U256::from(200u32));
        prop_assert!(earned1 <= fees1 && fees1 - earned1 <= U256::from(200u32));
    }
}

fn backtest_config() -> BacktestConfig {
    BacktestConfig {
        tick_buckets: 10,
        bucket_offset: 10,
        max_bots: 3,
        funding: U256::from(10u128.pow(18)),
        funding_curve: FundingCurve::Linear,
        trigger_type: TriggerType::Price,
        ema_length: 10,
        falling_ppb: 30_000_000,
        rising_ppb: 50_000_000,
        derivative_ppb: 1_000_000,
        margin_ppb: 0,
        min_sqrt_price_x96: None,
        max_sqrt_price_x96: None,
        gas: GasUnits::default(),
        gas_price_wei: 10_000_000_000,
        max_gas_price_wei: None,
        gas_budget_wei: None,
        start_amount0: U256::from(10u128.pow(18)),
        start_amount1: U256::from(10u128.pow(18)),
        cycle_every: 1,
        snapshot_every: 10,
    }
}

fn up_then_down() -> Vec<Event> {
    let up = (1..=30).map(|i| i * 20); // 20 .. 600
    let down = (1..=20).map(|i| 600 - i * 20); // 580 .. 200
    up.chain(down).map(|t| Event::PriceTo(get_sqrt_ratio_at_tick(t).unwrap())).collect()
}

fn background_pool() -> Pool {
    let mut pool = Pool::new(500, 10, get_sqrt_ratio_at_tick(0).unwrap()).unwrap();
    pool.mint((0, -20_000, 20_000), 10u128.pow(22)).unwrap();
    pool
}

#[test]
fn up_then_down_rebalances_once_each_way_in_the_right_direction() {
    let cfg = backtest_config();
    let mut pool = background_pool();
    let r = run_backtest(&cfg, &mut pool, &up_then_down()).unwrap();
    assert_eq!(r.counts.initial_builds, 1);
    assert_eq!(r.counts.rebalances_rising, 1);
    assert_eq!(r.counts.rebalances_falling, 1);
    let kinds: Vec<(u8, Direction)> = r.rebalances.iter().map(|b| (b.reason, b.direction)).collect();
    assert_eq!(kinds, vec![(0, Direction::Out), (2, Direction::Up), (1, Direction::Down)]);
    // Built out around tick 0; up from the tick's spacing; down ending just above it.
    assert_eq!(r.rebalances[0].centre, (-50, 50));
    let up = &r.rebalances[1];
    assert_eq!(up.centre.0 % 10, 0);
    assert_eq!(up.centre.1 - up.centre.0, 100);
    let down = &r.rebalances[2];
    assert_eq!(down.centre.1 - down.centre.0, 100);
    assert!(down.centre.0 < up.centre.0);
    // Gas: 2 approvals, then per close 3 transactions and per mint 1.
    let g = cfg.gas;
    let units = 2 * g.approve
        + u64::from(r.counts.mints) * g.mint
        + u64::from(r.counts.closes) * (g.decrease + g.collect + g.burn);
    assert_eq!(r.final_snapshot.gas_wei, u128::from(units) * cfg.gas_price_wei);
    assert!(r.final_snapshot.fees0 > U256::ZERO && r.final_snapshot.fees1 > U256::ZERO);
    assert!(r.snapshots.len() >= 5);
}

#[test]
fn the_gas_budget_and_the_price_band_hold_the_droid_back() {
    let mut cfg = backtest_config();
    cfg.gas_budget_wei = Some(0);
    let r = run_backtest(&cfg, &mut background_pool(), &up_then_down()).unwrap();
    assert_eq!((r.counts.mints, r.counts.transactions, r.final_snapshot.gas_wei), (0, 0, 0));
    assert!(r.counts.blocked_gas > 0);

    let mut cfg = backtest_config();
    cfg.min_sqrt_price_x96 = Some(get_sqrt_ratio_at_tick(1000).unwrap());
    let r = run_backtest(&cfg, &mut background_pool(), &up_then_down()).unwrap();
    assert_eq!(r.counts.mints, 0);
    assert_eq!(r.counts.blocked_band, 51);
    // Nothing done: the AUM is the hold.
    assert_eq!(r.final_snapshot.aum_token1, r.final_snapshot.hodl_token1);
}

#[test]
fn ema_trigger_waits_for_its_warm_up() {
    let mut cfg = backtest_config();
    cfg.trigger_type = TriggerType::Ema;
    cfg.ema_length = 5;
    let r = run_backtest(&cfg, &mut background_pool(), &up_then_down()).unwrap();
    // Cycles 1..4 warm up; the ladder is built at the fifth (after 4 events).
    assert_eq!(r.rebalances[0].index, 4);
}

#[test]
fn funding_is_never_exceeded() {
    let cfg = backtest_config();
    let r = run_backtest(&cfg, &mut background_pool(), &up_then_down()[..1]).unwrap();
    let first = &r.snapshots[0];
    let sp = first.sqrt_price_x96;
    let in_positions = mul_div(mul_div(first.positions0, sp, Q96).unwrap(), sp, Q96).unwrap() + first.positions1;
    assert!(in_positions <= cfg.funding);
    assert!(in_positions > cfg.funding - cfg.funding / U256::from(100u32));
}

#[test]
fn a_swap_past_the_end_of_the_price_range_is_refused_and_counted() {
    // No liquidity at all: the first swap runs the price to the limit, the second one is refused.
    let mut pool = Pool::new(500, 10, get_sqrt_ratio_at_tick(0).unwrap()).unwrap();
    let mut cfg = backtest_config();
    cfg.funding = U256::ZERO;
    let swap = Event::Swap { amount: I256::from(1000), zero_for_one: true };
    let r = run_backtest(&cfg, &mut pool, &[swap, swap]).unwrap();
    assert_eq!((r.counts.swaps, r.counts.swaps_refused), (1, 1));
    assert_eq!(pool.sqrt_price_x96, MIN_SQRT_RATIO + U256::ONE);
}
