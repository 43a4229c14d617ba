//! Uniswap's published test vectors (v3-core TickMath, SqrtPriceMath, SwapMath, FullMath specs and
//! snapshots; v3-periphery LiquidityAmounts spec). Prices written `enc(a, b)` in the specs are
//! `floor(sqrt(a / b) * 2^96)`, given here as literals.

// The swap-step table reads best with one argument per column of the published vectors.
#![allow(clippy::too_many_arguments)]

use ordex_uniswap::*;
use rstest::rstest;

fn u(s: &str) -> U256 {
    U256::from_str_radix(s, 10).unwrap()
}

fn i(s: &str) -> I256 {
    I256::from_str_radix(s, 10).unwrap()
}

const ENC_1_1: &str = "79228162514264337593543950336";
const ENC_121_100: &str = "87150978765690771352898345369";
const ENC_101_100: &str = "79623317895830914510639640423";
const ENC_1000_100: &str = "250541448375047931186413801569";
const ENC_10000_100: &str = "792281625142643375935439503360";
const ENC_100_110: &str = "75541088972021052632782079082";
const ENC_110_100: &str = "83095197869223157896060286990";
const ENC_99_110: &str = "75162434512514379355924140470";
const ENC_111_100: &str = "83472048772503575395058907992";
const E18: u128 = 1_000_000_000_000_000_000;

#[rstest]
#[case(-887272, "4295128739")]
#[case(-887271, "4295343490")]
#[case(887271, "1461373636630004318706518188784493106690254656249")]
#[case(887272, "1461446703485210103287273052203988822378723970342")]
#[case(-50, "79030349367926598376800521322")]
#[case(-100, "78833030112140176575862854579")]
#[case(-250, "78244023372248365697264290337")]
#[case(-500, "77272108795590369356373805297")]
#[case(-1000, "75364347830767020784054125655")]
#[case(-2500, "69919044979842180277688105136")]
#[case(-3000, "68192822843687888778582228483")]
#[case(-4000, "64867181785621769311890333195")]
#[case(-5000, "61703726247759831737814779831")]
#[case(-50000, "6504256538020985011912221507")]
#[case(-150000, "43836292794701720435367485")]
#[case(-250000, "295440463448801648376846")]
#[case(-500000, "1101692437043807371")]
#[case(-738203, "7409801140451")]
#[case(50, "79426470787362580746886972461")]
#[case(100, "79625275426524748796330556128")]
#[case(250, "80224679980005306637834519095")]
#[case(500, "81233731461783161732293370115")]
#[case(1000, "83290069058676223003182343270")]
#[case(2500, "89776708723587163891445672585")]
#[case(3000, "92049301871182272007977902845")]
#[case(4000, "96768528593268422080558758223")]
#[case(5000, "101729702841318637793976746270")]
#[case(50000, "965075977353221155028623082916")]
#[case(150000, "143194173941309278083010301478497")]
#[case(250000, "21246587762933397357449903968194344")]
#[case(500000, "5697689776495288729098254600827762987878")]
#[case(738203, "847134979253254120489401328389043031315994541")]
fn sqrt_ratio_at_tick(#[case] tick: i32, #[case] expected: &str) {
    assert_eq!(get_sqrt_ratio_at_tick(tick).unwrap(), u(expected));
}

#[rstest]
#[case(MIN_TICK - 1)]
#[case(MAX_TICK + 1)]
#[case(i32::MIN)]
fn sqrt_ratio_at_tick_refuses_out_of_range(#[case] tick: i32) {
    assert_eq!(get_sqrt_ratio_at_tick(tick), Err(UniswapError::TickOutOfRange(tick)));
}

#[rstest]
#[case("4295128739", -887272)]
#[case("4295343490", -887271)]
#[case("1461373636630004318706518188784493106690254656249", 887271)]
#[case("1461446703485210103287273052203988822378723970341", 887271)]
#[case("79228162514264337593543", -276325)]
#[case("79228162514264337593543950", -138163)]
#[case("9903520314283042199192993792", -41591)]
#[case("28011385487393069959365969113", -20796)]
#[case("56022770974786139918731938227", -6932)]
#[case("79228162514264337593543950336", 0)]
#[case("112045541949572279837463876454", 6931)]
#[case("224091083899144559674927752909", 20795)]
#[case("633825300114114700748351602688", 41590)]
#[case("79228162514264337593543950336000", 138162)]
#[case("79228162514264337593543950336000000", 276324)]
fn tick_at_sqrt_ratio(#[case] ratio: &str, #[case] expected: i32) {
    assert_eq!(get_tick_at_sqrt_ratio(u(ratio)).unwrap(), expected);
}

#[rstest]
#[case("4295128738")]
#[case("1461446703485210103287273052203988822378723970342")]
#[case("0")]
fn tick_at_sqrt_ratio_refuses_out_of_range(#[case] ratio: &str) {
    assert_eq!(get_tick_at_sqrt_ratio(u(ratio)), Err(UniswapError::SqrtPriceOutOfRange));
}

fn q128() -> U256 {
    U256::ONE << 128
}

#[test]
fn full_math_vectors() {
    let q = q128();
    assert_eq!(mul_div(q, U256::from(5u8), U256::ZERO), Err(UniswapError::DivisionByZero));
    assert_eq!(mul_div(q, q, U256::ZERO), Err(UniswapError::DivisionByZero));
    assert_eq!(mul_div(q, q, U256::ONE), Err(UniswapError::Overflow));
    assert_eq!(mul_div(U256::MAX, U256::MAX, U256::MAX - 1), Err(UniswapError::Overflow));
    assert_eq!(mul_div(U256::MAX, U256::MAX, U256::MAX), Ok(U256::MAX));
    let half = U256::from(50u8) * q / 100;
    let one_and_half = U256::from(150u8) * q / 100;
    assert_eq!(mul_div(q, half, one_and_half), Ok(q / 3));
    assert_eq!(mul_div(q, U256::from(35u8) * q, U256::from(8u8) * q), Ok(U256::from(4375u16) * q / 1000));
    assert_eq!(mul_div(q, U256::from(1000u16) * q, U256::from(3000u16) * q), Ok(q / 3));

    assert_eq!(mul_div_rounding_up(q, U256::from(5u8), U256::ZERO), Err(UniswapError::DivisionByZero));
    assert_eq!(mul_div_rounding_up(q, q, U256::ONE), Err(UniswapError::Overflow));
    assert_eq!(mul_div_rounding_up(U256::MAX, U256::MAX, U256::MAX - 1), Err(UniswapError::Overflow));
    assert_eq!(
        mul_div_rounding_up(
            u("535006138814359"),
            u("432862656469423142931042426214547535783388063929571229938474969"),
            U256::from(2u8)
        ),
        Err(UniswapError::Overflow)
    );
    assert_eq!(
        mul_div_rounding_up(
            u("115792089237316195423570985008687907853269984659341747863450311749907997002549"),
            u("115792089237316195423570985008687907853269984659341747863450311749907997002550"),
            u("115792089237316195423570985008687907853269984653042931687443039491902864365164"),
        ),
        Err(UniswapError::Overflow)
    );
    assert_eq!(mul_div_rounding_up(U256::MAX, U256::MAX, U256::MAX), Ok(U256::MAX));
    assert_eq!(mul_div_rounding_up(q, half, one_and_half), Ok(q / 3 + 1));
    assert_eq!(mul_div_rounding_up(q, U256::from(35u8) * q, U256::from(8u8) * q), Ok(U256::from(4375u16) * q / 1000));
    assert_eq!(mul_div_rounding_up(q, U256::from(1000u16) * q, U256::from(3000u16) * q), Ok(q / 3 + 1));
}

#[test]
fn next_sqrt_price_from_input_vectors() {
    let tenth = U256::from(E18 / 10);
    assert_eq!(get_next_sqrt_price_from_input(U256::ZERO, 0, tenth, false), Err(UniswapError::ZeroPrice));
    assert_eq!(get_next_sqrt_price_from_input(U256::ONE, 0, tenth, true), Err(UniswapError::ZeroLiquidity));
    // Input that pushes the price past 160 bits.
    assert!(get_next_sqrt_price_from_input((U256::ONE << 160) - 1u128, 1024, U256::from(1024u16), false).is_err());
    // No input amount can push the price below 1.
    assert_eq!(get_next_sqrt_price_from_input(U256::ONE, 1, U256::ONE << 255, true), Ok(U256::ONE));
    assert_eq!(get_next_sqrt_price_from_input(u(ENC_1_1), E18 / 10, U256::ZERO, true), Ok(u(ENC_1_1)));
    assert_eq!(get_next_sqrt_price_from_input(u(ENC_1_1), E18 / 10, U256::ZERO, false), Ok(u(ENC_1_1)));
    let sqrt_p = (U256::ONE << 160) - 1u128;
    let max_no_overflow = U256::MAX - (U256::from(u128::MAX) << 96) / sqrt_p;
    assert_eq!(get_next_sqrt_price_from_input(sqrt_p, u128::MAX, max_no_overflow, true), Ok(U256::ONE));
    assert_eq!(get_next_sqrt_price_from_input(u(ENC_1_1), E18, tenth, false), Ok(u("87150978765690771352898345369")));
    assert_eq!(get_next_sqrt_price_from_input(u(ENC_1_1), E18, tenth, true), Ok(u("72025602285694852357767227579")));
    assert_eq!(
        get_next_sqrt_price_from_input(u(ENC_1_1), 10 * E18, U256::ONE << 100, true),
        Ok(u("624999999995069620"))
    );
    assert_eq!(get_next_sqrt_price_from_input(u(ENC_1_1), 1, U256::MAX / 2, true), Ok(U256::ONE));
}

#[test]
fn next_sqrt_price_from_output_vectors() {
    let tenth = U256::from(E18 / 10);
    let price = u("20282409603651670423947251286016");
    assert_eq!(get_next_sqrt_price_from_output(U256::ZERO, 0, tenth, false), Err(UniswapError::ZeroPrice));
    assert_eq!(get_next_sqrt_price_from_output(U256::ONE, 0, tenth, true), Err(UniswapError::ZeroLiquidity));
    for (amount, zero_for_one) in [(4u32, false), (5, false), (262145, true), (262144, true)] {
        assert_eq!(
            get_next_sqrt_price_from_output(price, 1024, U256::from(amount), zero_for_one),
            Err(UniswapError::InsufficientLiquidity)
        );
    }
    assert_eq!(
        get_next_sqrt_price_from_output(price, 1024, U256::from(262143u32), true),
        Ok(u("77371252455336267181195264"))
    );
    assert_eq!(get_next_sqrt_price_from_output(u(ENC_1_1), E18 / 10, U256::ZERO, true), Ok(u(ENC_1_1)));
    assert_eq!(get_next_sqrt_price_from_output(u(ENC_1_1), E18 / 10, U256::ZERO, false), Ok(u(ENC_1_1)));
    assert_eq!(get_next_sqrt_price_from_output(u(ENC_1_1), E18, tenth, false), Ok(u("88031291682515930659493278152")));
    assert_eq!(get_next_sqrt_price_from_output(u(ENC_1_1), E18, tenth, true), Ok(u("71305346262837903834189555302")));
    assert!(get_next_sqrt_price_from_output(u(ENC_1_1), 1, U256::MAX, true).is_err());
    assert!(get_next_sqrt_price_from_output(u(ENC_1_1), 1, U256::MAX, false).is_err());
}

#[test]
fn amount_delta_vectors() {
    let p1 = u(ENC_1_1);
    let p121 = u(ENC_121_100);
    assert_eq!(get_amount0_delta(p1, u(ENC_121_100), 0, true), Ok(U256::ZERO));
    assert_eq!(get_amount0_delta(p1, p1, 0, true), Ok(U256::ZERO));
    assert_eq!(get_amount0_delta(p1, p121, E18, true), Ok(u("90909090909090910")));
    assert_eq!(get_amount0_delta(p1, p121, E18, false), Ok(u("90909090909090909")));
    let (a, b) = (u("2787593149816327892691964784081045188247552"), u("22300745198530623141535718272648361505980416"));
    assert_eq!(get_amount0_delta(a, b, E18, true).unwrap(), get_amount0_delta(a, b, E18, false).unwrap() + 1);
    assert_eq!(get_amount1_delta(p1, u(ENC_121_100), 0, true), Ok(U256::ZERO));
    assert_eq!(get_amount1_delta(p1, p121, E18, true), Ok(u("100000000000000000")));
    assert_eq!(get_amount1_delta(p1, p121, E18, false), Ok(u("99999999999999999")));
    // Signed: added liquidity rounds up and is positive, removed rounds down and is negative.
    assert_eq!(get_amount0_delta_signed(p1, p121, E18 as i128), Ok(i("90909090909090910")));
    assert_eq!(get_amount0_delta_signed(p1, p121, -(E18 as i128)), Ok(i("-90909090909090909")));
    assert_eq!(get_amount1_delta_signed(p121, p1, E18 as i128), Ok(i("100000000000000000")));
    assert_eq!(get_amount1_delta_signed(p121, p1, -(E18 as i128)), Ok(i("-99999999999999999")));
}

#[test]
fn swap_computation_where_sqrt_p_times_sqrt_q_overflows() {
    let sqrt_p = u("1025574284609383690408304870162715216695788925244");
    let liquidity: u128 = 50015962439936049619261659728067971248;
    let sqrt_q = get_next_sqrt_price_from_input(sqrt_p, liquidity, U256::from(406u16), true).unwrap();
    assert_eq!(sqrt_q, u("1025574284609383582644711336373707553698163132913"));
    assert_eq!(get_amount0_delta(sqrt_q, sqrt_p, liquidity, true), Ok(U256::from(406u16)));
}

#[rstest]
// exact in, capped at the target, one for zero
#[case(ENC_1_1, ENC_101_100, 2 * E18, "1000000000000000000", 600, ENC_101_100, "9975124224178055", "9925619580021728", "5988667735148")]
// exact out, capped at the target, one for zero
#[case(ENC_1_1, ENC_101_100, 2 * E18, "-1000000000000000000", 600, ENC_101_100, "9975124224178055", "9925619580021728", "5988667735148")]
// exact in, fully spent, one for zero
#[case(ENC_1_1, ENC_1000_100, 2 * E18, "1000000000000000000", 600, "", "999400000000000000", "666399946655997866", "600000000000000")]
// exact out, fully received, one for zero
#[case(ENC_1_1, ENC_10000_100, 2 * E18, "-1000000000000000000", 600, "", "2000000000000000000", "1000000000000000000", "1200720432259356")]
// amount out capped at the desired amount out
#[case(
    "417332158212080721273783715441582",
    "1452870262520218020823638996",
    159344665391607089467575320103,
    "-1",
    1,
    "417332158212080721273783715441581",
    "1",
    "1",
    "1"
)]
// target price of 1 uses partial input amount
#[case(
    "2",
    "1",
    1,
    "3915081100057732413702495386755767",
    1,
    "1",
    "39614081257132168796771975168",
    "0",
    "39614120871253040049813"
)]
// entire input amount taken as fee
#[case("2413", "79887613182836312", 1985041575832132834610021537970, "10", 1872, "2413", "0", "0", "10")]
// intermediate insufficient liquidity, zero for one exact output
#[case(
    "20282409603651670423947251286016",
    "22310650564016837466341976414617",
    1024,
    "-4",
    3000,
    "22310650564016837466341976414617",
    "26215",
    "0",
    "79"
)]
// intermediate insufficient liquidity, one for zero exact output
#[case(
    "20282409603651670423947251286016",
    "18254168643286503381552526157414",
    1024,
    "-263000",
    3000,
    "18254168643286503381552526157414",
    "1",
    "26214",
    "1"
)]
fn swap_step(
    #[case] current: &str,
    #[case] target: &str,
    #[case] liquidity: u128,
    #[case] remaining: &str,
    #[case] fee: u32,
    #[case] next: &str,
    #[case] amount_in: &str,
    #[case] amount_out: &str,
    #[case] fee_amount: &str,
) {
    let step = compute_swap_step(u(current), u(target), liquidity, i(remaining), fee).unwrap();
    assert_eq!(step.amount_in, u(amount_in));
    assert_eq!(step.amount_out, u(amount_out));
    assert_eq!(step.fee_amount, u(fee_amount));
    if !next.is_empty() {
        assert_eq!(step.sqrt_price_next_x96, u(next));
    }
}

#[test]
fn swap_step_partial_fills_match_the_price_functions() {
    // exact in fully spent: the price is where the input less the fee takes it
    let step = compute_swap_step(u(ENC_1_1), u(ENC_1000_100), 2 * E18, i("1000000000000000000"), 600).unwrap();
    assert!(step.sqrt_price_next_x96 < u(ENC_1000_100));
    assert_eq!(
        step.sqrt_price_next_x96,
        get_next_sqrt_price_from_input(u(ENC_1_1), 2 * E18, U256::from(E18) - step.fee_amount, false).unwrap()
    );
    // exact out fully received: the price is where the whole output takes it
    let step = compute_swap_step(u(ENC_1_1), u(ENC_10000_100), 2 * E18, i("-1000000000000000000"), 600).unwrap();
    assert_eq!(
        step.sqrt_price_next_x96,
        get_next_sqrt_price_from_output(u(ENC_1_1), 2 * E18, U256::from(E18), false).unwrap()
    );
    assert_eq!(
        compute_swap_step(u(ENC_1_1), u(ENC_1_1), 1, I256::ONE, 1_000_000),
        Err(UniswapError::InvalidFee(1_000_000))
    );
}

#[rstest]
#[case(ENC_1_1, 2148, 99, 99)]
#[case(ENC_99_110, 1048, 99, 0)]
#[case(ENC_111_100, 2097, 0, 199)]
#[case(ENC_100_110, 1048, 99, 0)]
#[case(ENC_110_100, 2097, 0, 199)]
fn liquidity_amounts(#[case] price: &str, #[case] liquidity: u128, #[case] amount0: u32, #[case] amount1: u32) {
    let (a, b) = (u(ENC_100_110), u(ENC_110_100));
    let l = get_liquidity_for_amounts(u(price), a, b, U256::from(100u8), U256::from(200u8)).unwrap();
    assert_eq!(l, liquidity);
    assert_eq!(get_amounts_for_liquidity(u(price), a, b, liquidity), Ok((U256::from(amount0), U256::from(amount1))));
}

#[test]
fn fee_growth_inside_wraps() {
    let g = |x: u64| U256::from(x);
    // Price inside the range: global minus both outsides.
    assert_eq!(fee_growth_inside(-60, 60, 0, g(100), g(10), g(20)), Ok(g(70)));
    // Price below: above-range growth is global minus the upper outside; below is global - lower.
    assert_eq!(fee_growth_inside(-60, 60, -120, g(100), g(30), g(20)), Ok(g(10)));
    // Price at or above the upper tick.
    assert_eq!(fee_growth_inside(-60, 60, 60, g(100), g(30), g(80)), Ok(g(50)));
    // Uninitialised outside counters past the global: the result wraps around 2^256.
    assert_eq!(fee_growth_inside(-60, 60, 0, g(0), g(0), g(15)), Ok(U256::ZERO.wrapping_sub(g(15))));
    assert!(fee_growth_inside(60, -60, 0, g(0), g(0), g(0)).is_err());
    // Owed: (inside - last) * L / 2^128, the difference wrapping.
    assert_eq!(tokens_owed(Q128 * 3, Q128, 5), Ok(g(10)));
    assert_eq!(tokens_owed(Q128, U256::MAX - Q128 + 1, 7), Ok(g(14)));
}

#[test]
fn ladder_layout() {
    assert_eq!(tick_spacing_for_fee(100), Ok(1));
    assert_eq!(tick_spacing_for_fee(500), Ok(10));
    assert_eq!(tick_spacing_for_fee(3000), Ok(60));
    assert_eq!(tick_spacing_for_fee(10000), Ok(200));
    assert_eq!(tick_spacing_for_fee(2500), Err(UniswapError::InvalidFee(2500)));
    // tick 130 with spacing 60: slot [120, 180); 4 buckets widen it by 2 slots below.
    assert_eq!(centre_range(130, 60, 4), Ok((0, 240)));
    assert_eq!(centre_range(-1, 60, 1), Ok((-60, 0)));
    assert_eq!(centre_range(130, 60, 3), Ok((60, 240)));
    // Rungs: width 4 * 60, step 2 * 60.
    assert_eq!(rung_range(0, 240, 1, true, 60, 4, 2), Ok((120, 360)));
    assert_eq!(rung_range(0, 240, 2, true, 60, 4, 2), Ok((240, 480)));
    assert_eq!(rung_range(0, 240, 1, false, 60, 4, 2), Ok((-120, 120)));
    assert_eq!(rung_range(0, 240, 3, false, 60, 4, 2), Ok((-360, -120)));
    assert!(rung_range(0, 240, 10_000, true, 60, 4, 2).is_err());
    assert!(rung_range(0, 240, u32::MAX, false, 16384, u32::MAX, u32::MAX).is_err());
    assert!(centre_range(887_000, 200, 10).is_err());
}

#[test]
fn funding_curves() {
    let total = U256::from(1_000_000u32);
    let v = |xs: &[u32]| xs.iter().map(|&x| U256::from(x)).collect::<Vec<_>>();
    // LINEAR 3 bots: weights 3, 2, 1 of 6.
    assert_eq!(funding_weights(FundingCurve::Linear, 3), Ok(v(&[3, 2, 1])));
    assert_eq!(funding_amounts(FundingCurve::Linear, 3, total), Ok(v(&[500_000, 333_333, 166_666])));
    // DECAY 3 bots: 1, 0.4, 0.16 -> 25, 10, 4 of 39.
    assert_eq!(funding_weights(FundingCurve::Decay, 3), Ok(v(&[25, 10, 4])));
    assert_eq!(funding_amounts(FundingCurve::Decay, 3, total), Ok(v(&[641_025, 256_410, 102_564])));
    // GAUSSIAN: exp(-(i/1.5)^2/2) = 1, 0.800737403, 0.411112291, 0.135335283.
    assert_eq!(
        funding_weights(FundingCurve::Gaussian, 4),
        Ok(v(&[1_000_000_000, 800_737_403, 411_112_291, 135_335_283]))
    );
    let amounts = funding_amounts(FundingCurve::Gaussian, 4, total).unwrap();
    assert!(amounts.iter().copied().fold(U256::ZERO, |a, b| a + b) <= total);
    assert_eq!(amounts[0], U256::from(1_000_000u64 * 1_000_000_000 / 2_347_184_977));
    assert!(funding_weights(FundingCurve::Linear, 0).is_err());
    assert!(funding_weights(FundingCurve::Decay, 101).is_err());
    assert_eq!(funding_weights(FundingCurve::Decay, 100).unwrap()[99], U256::ONE << 99);
}
