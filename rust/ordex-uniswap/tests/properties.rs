//! Invariants over random inputs: round trips, monotonicity, rounding directions, and that
//! liquidity bought with some amounts never needs more than those amounts.

use ordex_uniswap::*;
use proptest::prelude::*;

fn u256() -> impl Strategy<Value = U256> {
    (any::<u128>(), any::<u128>(), 0u32..256).prop_map(|(hi, lo, shift)| U256::from_words(hi, lo) >> shift)
}

fn sqrt_price() -> impl Strategy<Value = U256> {
    (any::<u128>(), any::<u32>(), 0u32..160).prop_map(|(lo, hi, shift)| {
        let raw = U256::from_words(u128::from(hi), lo) >> shift;
        raw.clamp(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1u128)
    })
}

/// The 512-bit product as (high, low) halves, from 128-bit partial products.
fn wide_mul(a: U256, b: U256) -> (U256, U256) {
    let (ah, al) = a.into_words();
    let (bh, bl) = b.into_words();
    let ll = U256::from(al) * U256::from(bl);
    let lh = U256::from(al) * U256::from(bh);
    let hl = U256::from(ah) * U256::from(bl);
    let hh = U256::from(ah) * U256::from(bh);
    let (mid, mid_carry) = lh.overflowing_add(hl);
    let (lo, c1) = ll.overflowing_add(mid << 128);
    let hi = hh
        + (mid >> 128)
        + if mid_carry { U256::ONE << 128 } else { U256::ZERO }
        + if c1 { U256::ONE } else { U256::ZERO };
    (hi, lo)
}

/// Bit-by-bit long division: slow, obviously right.
fn reference_mul_div(a: U256, b: U256, d: U256) -> Option<(U256, bool)> {
    if d == U256::ZERO {
        return None;
    }
    let (hi, lo) = wide_mul(a, b);
    if hi >= d {
        return None;
    }
    let mut r = U256::ZERO;
    let mut q = U256::ZERO;
    for bit in (0..512).rev() {
        let next = if bit >= 256 { (hi >> (bit - 256)) & U256::ONE } else { (lo >> bit) & U256::ONE };
        let carry = r >> 255u32 == U256::ONE;
        r = (r << 1) | next;
        q <<= 1;
        if carry || r >= d {
            r = r.wrapping_sub(d);
            q |= U256::ONE;
        }
    }
    Some((q, r != U256::ZERO))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mul_div_matches_long_division(a in u256(), b in u256(), d in u256()) {
        match reference_mul_div(a, b, d) {
            None => {
                prop_assert!(mul_div(a, b, d).is_err());
                prop_assert!(mul_div_rounding_up(a, b, d).is_err());
            }
            Some((q, rem)) => {
                prop_assert_eq!(mul_div(a, b, d), Ok(q));
                let up = mul_div_rounding_up(a, b, d);
                if rem {
                    prop_assert_eq!(up, q.checked_add(U256::ONE).ok_or(UniswapError::Overflow));
                } else {
                    prop_assert_eq!(up, Ok(q));
                }
            }
        }
    }

    #[test]
    fn mul_div_wide_products_with_divisors_of_every_width(
        a_hi in any::<u128>(), a_lo in any::<u128>(), b in any::<u64>(),
        d_hi in any::<u128>(), d_lo in any::<u128>(), d_shift in 0u32..192,
    ) {
        // a * b spills past 256 bits into a high half below 2^64; divisors from 65 to 256 bits
        // exercise every limb count of the long division.
        let a = U256::from_words(a_hi, a_lo);
        let d = (U256::from_words(d_hi, d_lo) >> d_shift) | (U256::ONE << 64u32);
        let b = U256::from(b);
        match reference_mul_div(a, b, d) {
            None => prop_assert!(mul_div(a, b, d).is_err()),
            Some((q, _)) => prop_assert_eq!(mul_div(a, b, d), Ok(q)),
        }
    }

    #[test]
    fn tick_round_trips_through_its_sqrt_price(tick in MIN_TICK..MAX_TICK) {
        let p = get_sqrt_ratio_at_tick(tick).unwrap();
        prop_assert_eq!(get_tick_at_sqrt_ratio(p), Ok(tick));
        if tick > MIN_TICK {
            prop_assert_eq!(get_tick_at_sqrt_ratio(p - 1u128), Ok(tick - 1));
        }
    }

    #[test]
    fn sqrt_price_is_strictly_increasing(a in MIN_TICK..=MAX_TICK, b in MIN_TICK..=MAX_TICK) {
        let (pa, pb) = (get_sqrt_ratio_at_tick(a).unwrap(), get_sqrt_ratio_at_tick(b).unwrap());
        prop_assert_eq!(a.cmp(&b), pa.cmp(&pb));
    }

    #[test]
    fn tick_of_a_price_brackets_it(p in sqrt_price()) {
        let t = get_tick_at_sqrt_ratio(p).unwrap();
        prop_assert!(get_sqrt_ratio_at_tick(t).unwrap() <= p);
        prop_assert!(p < get_sqrt_ratio_at_tick(t + 1).unwrap());
    }

    #[test]
    fn amounts_round_up_by_at_most_one(a in sqrt_price(), b in sqrt_price(), l in any::<u128>()) {
        let (d0, u0) = (get_amount0_delta(a, b, l, false).unwrap(), get_amount0_delta(a, b, l, true).unwrap());
        prop_assert!(u0 == d0 || u0 == d0 + 1u128);
        let (d1, u1) = (get_amount1_delta(a, b, l, false).unwrap(), get_amount1_delta(a, b, l, true).unwrap());
        prop_assert!(u1 == d1 || u1 == d1 + 1u128);
        prop_assert_eq!(get_amount0_delta(b, a, l, true).unwrap(), u0);
    }

    #[test]
    fn liquidity_for_amounts_never_needs_more(
        p in sqrt_price(), a in sqrt_price(), b in sqrt_price(),
        amount0 in any::<u128>(), amount1 in any::<u128>(),
    ) {
        prop_assume!(a != b);
        let (x0, x1) = (U256::from(amount0 >> 8), U256::from(amount1 >> 8));
        if let Ok(l) = get_liquidity_for_amounts(p, a, b, x0, x1) {
            let (n0, n1) = get_amounts_for_liquidity(p, a, b, l).unwrap();
            prop_assert!(n0 <= x0 && n1 <= x1);
            // What the pool charges on mint rounds up, and that too stays within the amounts
            // (up to the single unit of rounding).
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let price = p.clamp(lo, hi);
            let owed0 = get_amount0_delta(price, hi, l, true).unwrap();
            let owed1 = get_amount1_delta(lo, price, l, true).unwrap();
            prop_assert!(owed0 <= x0 + 1u128 && owed1 <= x1 + 1u128);
        }
    }

    #[test]
    fn input_moves_the_price_no_further_than_it_pays_for(
        p in sqrt_price(), l in 1u128.., amount in any::<u128>(), zero_for_one in any::<bool>(),
    ) {
        if let Ok(q) = get_next_sqrt_price_from_input(p, l, U256::from(amount), zero_for_one) {
            if zero_for_one {
                prop_assert!(q <= p);
                prop_assert!(get_amount0_delta(q, p, l, true).unwrap() <= U256::from(amount));
            } else {
                prop_assert!(q >= p);
                prop_assert!(get_amount1_delta(p, q, l, true).unwrap() <= U256::from(amount));
            }
        }
    }

    #[test]
    fn swap_step_respects_amounts_and_target(
        current in sqrt_price(), target in sqrt_price(), l in any::<u128>(),
        remaining in any::<i128>(), fee in 0u32..1_000_000,
    ) {
        let step = compute_swap_step(current, target, l, I256::from(remaining), fee).unwrap();
        let zero_for_one = current >= target;
        if zero_for_one {
            prop_assert!(step.sqrt_price_next_x96 <= current && step.sqrt_price_next_x96 >= target);
        } else {
            prop_assert!(step.sqrt_price_next_x96 >= current && step.sqrt_price_next_x96 <= target);
        }
        let abs = U256::from(remaining.unsigned_abs());
        if remaining >= 0 {
            prop_assert!(step.amount_in + step.fee_amount <= abs);
        } else {
            prop_assert!(step.amount_out <= abs);
        }
    }

    #[test]
    fn funding_never_exceeds_the_total(n in 1u32..=100, total in any::<u128>(), curve in 0u8..3) {
        let curve = [FundingCurve::Linear, FundingCurve::Decay, FundingCurve::Gaussian][curve as usize];
        let amounts = funding_amounts(curve, n, U256::from(total)).unwrap();
        prop_assert_eq!(amounts.len(), n as usize);
        prop_assert!(amounts.iter().fold(U256::ZERO, |a, b| a + b) <= U256::from(total));
        prop_assert!(amounts.windows(2).all(|w| w[0] >= w[1]));
    }
}

fn any_u256() -> impl Strategy<Value = U256> {
    prop_oneof![u256(), Just(U256::ZERO), Just(U256::MAX), Just(MAX_SQRT_RATIO), Just(MAX_U160), Just(MAX_U160 + 1u128)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// Any input at all gives a value or an error, never a panic.
    #[test]
    fn nothing_panics(
        a in any_u256(), b in any_u256(), c in any_u256(), l in any::<u128>(), sl in any::<i128>(),
        t1 in any::<i32>(), t2 in any::<i32>(), t3 in any::<i32>(), fee in any::<u32>(),
        small in any::<u32>(), flag in any::<bool>(), rem in any::<i128>(), wide in any::<bool>(),
    ) {
        let rem = if wide { I256::from(rem) << 100u32 } else { I256::from(rem) };
        let _ = get_sqrt_ratio_at_tick(t1);
        let _ = get_tick_at_sqrt_ratio(a);
        let _ = mul_div(a, b, c);
        let _ = mul_div_rounding_up(a, b, c);
        let _ = get_next_sqrt_price_from_input(a, l, b, flag);
        let _ = get_next_sqrt_price_from_output(a, l, b, flag);
        let _ = get_amount0_delta(a, b, l, flag);
        let _ = get_amount1_delta(a, b, l, flag);
        let _ = get_amount0_delta_signed(a, b, sl);
        let _ = get_amount1_delta_signed(a, b, sl);
        let _ = get_liquidity_for_amounts(a, b, c, a, b);
        let _ = get_amounts_for_liquidity(a, b, c, l);
        let _ = compute_swap_step(a, b, l, rem, fee);
        let _ = fee_growth_inside(t1, t2, t3, a, b, c);
        let _ = tokens_owed(a, b, l);
        let _ = tick_spacing_for_fee(fee);
        let _ = centre_range(t1, t2, small);
        let _ = rung_range(t1, t2, small, flag, t3, fee, small);
        let _ = funding_amounts(FundingCurve::Decay, small % 128, a);
    }
}
