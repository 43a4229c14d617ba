//! Margin arithmetic against hand-worked examples (BTC-PERP: tick 0.1, lot 0.001, USDC 6 decimals,
//! IM 5%, MM 0.5%, max leverage 20, taker 0.05%, funding cap 0.375%).

use ordex_engine::margin::*;
use ordex_engine::*;
use rstest::rstest;

fn btc_perp() -> MarketConfig {
    let mut c = MarketConfig::builder("BTC-PERP", MarketKind::Perp, "BTC", "USDC")
        .with_tick_size("0.1")
        .unwrap()
        .with_lot_size("0.001")
        .unwrap();
    c.initial_margin = Rate::parse("0.05").unwrap();
    c.maintenance_margin = Rate::parse("0.005").unwrap();
    c.maker_fee = Rate::parse("0.0002").unwrap();
    c.taker_fee = Rate::parse("0.0005").unwrap();
    c.funding_rate_cap = Rate::parse("0.00375").unwrap();
    c.validate().unwrap();
    c
}

/// USDC string -> atoms.
fn usdc(s: &str) -> i128 {
    btc_perp().quote_atoms(s).unwrap()
}

fn px(s: &str) -> Price {
    btc_perp().price_ticks(s).unwrap()
}

fn lots(s: &str) -> Qty {
    btc_perp().qty_lots(s).unwrap()
}

#[test]
fn notional_of_the_contract_example() {
    let c = btc_perp();
    assert_eq!(c.atoms_per_tick_lot(), 100);
    assert_eq!(notional(&c, px("65000"), lots("1.25")), usdc("81250"));
}

#[rstest]
#[case::leverage_10(10, "8125")]
#[case::leverage_20_floor_is_market_rate(20, "4062.5")]
#[case::leverage_1(1, "81250")]
#[case::leverage_3_rate_rounds_up_to_the_rate_grid(3, "27083.333875")] // 81250 * 0.33333334
fn initial_margin_by_leverage(#[case] leverage: u32, #[case] want: &str) {
    let c = btc_perp();
    assert_eq!(initial_margin(&c, lots("1.25"), px("65000"), leverage).unwrap(), usdc(want));
}

#[test]
fn leverage_outside_the_cap_is_refused() {
    let c = btc_perp();
    assert_eq!(initial_margin(&c, 1, 1, 21), Err(MarginError::InvalidLeverage));
    assert_eq!(initial_margin(&c, 1, 1, 0), Err(MarginError::InvalidLeverage));
}

#[test]
fn maintenance_margin_and_unrealized_pnl() {
    let c = btc_perp();
    assert_eq!(maintenance_margin(&c, lots("1.25"), px("65000")), usdc("406.25"));
    let cost = usdc("81250");
    assert_eq!(unrealized_pnl(&c, lots("1.25"), cost, px("66000")), usdc("1250"));
    assert_eq!(unrealized_pnl(&c, -lots("1.25"), cost, px("66000")), usdc("-1250"));
}

#[test]
fn fills_increase_reduce_close_and_flip() {
    let c = btc_perp();
    let p = Position::default();
    let a = apply_fill(&c, p, Side::Buy, px("60000"), lots("1"));
    let b = apply_fill(&c, a.position, Side::Buy, px("62000"), lots("1"));
    assert_eq!(b.position, Position { size: lots("2"), cost: usdc("122000") });
    let r = apply_fill(&c, b.position, Side::Sell, px("63000"), lots("0.5"));
    assert_eq!((r.realized_pnl, r.closed), (usdc("1000"), lots("0.5")));
    assert_eq!(r.position, Position { size: lots("1.5"), cost: usdc("91500") });
    let flip = apply_fill(&c, r.position, Side::Sell, px("59000"), lots("2"));
    assert_eq!(flip.realized_pnl, usdc("-3000"));
    assert_eq!(flip.position, Position { size: -lots("0.5"), cost: usdc("29500") });
    let close = apply_fill(&c, flip.position, Side::Buy, px("58000"), lots("0.5"));
    assert_eq!(close.realized_pnl, usdc("500"));
    assert_eq!(close.position, Position::default());
}

#[test]
fn realized_pnl_is_exact_over_a_position_life() {
    // Three partial closes of an odd cost: the floor of each partial close is recovered by the last.
    let c = btc_perp();
    let mut pos = apply_fill(&c, Position::default(), Side::Buy, px("100.1"), 3).position;
    let mut total = 0;
    for _ in 0..3 {
        let r = apply_fill(&c, pos, Side::Sell, px("100.1"), 1);
        total += r.realized_pnl;
        pos = r.position;
    }
    assert_eq!(pos, Position::default());
    assert_eq!(total, 0);
}

#[rstest]
#[case::long_pays("2", "60000", "0.0001", "-12")]
#[case::short_receives("-2", "60000", "0.0001", "12")]
#[case::negative_rate_short_pays("-2", "60000", "-0.0001", "-12")]
#[case::rate_capped("2", "60000", "0.01", "-450")]
#[case::flat("0", "60000", "0.0001", "0")]
fn funding(#[case] size: &str, #[case] mark: &str, #[case] rate: &str, #[case] want: &str) {
    let c = btc_perp();
    let s = if let Some(abs) = size.strip_prefix('-') {
        -lots(abs)
    } else if size == "0" {
        0
    } else {
        lots(size)
    };
    assert_eq!(funding_payment(&c, s, px(mark), Rate::parse(rate).unwrap()), usdc(want));
}

#[test]
fn funding_rounds_against_the_account() {
    // 0.001 BTC at 60000.1 = 60.0001 USDC; at 3e-8 that is 1.800003 atoms: the payer pays 2, the
    // receiver gets 1.
    let c = btc_perp();
    let r = Rate(3);
    assert_eq!(funding_payment(&c, 1, px("60000.1"), r), -2);
    assert_eq!(funding_payment(&c, -1, px("60000.1"), r), 1);
}

#[test]
fn fee_rounding() {
    assert_eq!(fee(33_300, Rate(50_000)), 17); // 16.65 up
    assert_eq!(fee(33_300, Rate(-20_000)), -6); // rebate 6.66 toward zero
    assert_eq!(fee(-33_300, Rate(50_000)), 17); // sign of the notional does not matter
    assert_eq!(fee(100_000_000, Rate(1)), 1);
    assert_eq!(fee(99_999_999, Rate(1)), 1);
    assert_eq!(fee(0, Rate(1)), 0);
}

#[test]
fn isolated_liquidation_prices() {
    let c = btc_perp();
    let cost = usdc("60000");
    let margin = usdc("6000");
    // Long: (60000 - 6000) / (1 - 0.005) = 54271.3567..., rounded up to the tick.
    assert_eq!(liquidation_price(&c, lots("1"), cost, margin), Some(px("54271.4")));
    // Short: (60000 + 6000) / (1 + 0.005) = 65671.641..., rounded down.
    assert_eq!(liquidation_price(&c, -lots("1"), cost, margin), Some(px("65671.6")));
    // Fully backed long cannot be liquidated.
    assert_eq!(liquidation_price(&c, lots("1"), cost, cost), None);
    assert_eq!(liquidation_price(&c, 0, 0, margin), None);
}

#[test]
fn cross_liquidation_uses_free_collateral() {
    let c = btc_perp();
    let direct = liquidation_price(&c, lots("1"), usdc("60000"), usdc("5000"));
    let cross = liquidation_price_cross(&c, lots("1"), usdc("60000"), usdc("6000"), usdc("-500"), usdc("500"));
    assert_eq!(direct, cross);
}

#[test]
fn worst_case_order_margin() {
    let c = btc_perp();
    assert_eq!(worst_case_size(lots("1"), 0, lots("1")), lots("1"));
    assert_eq!(worst_case_size(lots("1"), lots("2"), lots("4")), lots("3"));
    // A reducing sell adds nothing; a buy adds its own IM.
    assert_eq!(open_orders_margin(&c, lots("1"), 0, lots("1"), px("65000"), 10).unwrap(), 0);
    assert_eq!(open_orders_margin(&c, lots("1"), lots("1"), 0, px("65000"), 10).unwrap(), usdc("6500"));
}

#[test]
fn risk_check_accepts_exactly_what_is_affordable() {
    let c = btc_perp();
    let flat = [Exposure {
        market: &c,
        position: Position::default(),
        mark: px("65000"),
        open_buy: 0,
        open_sell: 0,
        leverage: 10,
    }];
    let order = |qty| OrderIntent { market_index: 0, side: Side::Buy, qty, price: px("65000") };
    // 1 BTC at 10x: 6500 margin + 32.5 taker fee.
    let ok = risk_check(usdc("10000"), &flat, order(lots("1"))).unwrap();
    assert_eq!(ok, RiskOutcome { required: usdc("6532.5"), available: usdc("10000") });
    assert_eq!(
        risk_check(usdc("10000"), &flat, order(lots("2"))),
        Err(MarginError::InsufficientMargin { required: usdc("13065"), available: usdc("10000") })
    );
    // Exactly enough passes; one atom less fails.
    assert!(risk_check(usdc("6532.5"), &flat, order(lots("1"))).is_ok());
    assert!(risk_check(usdc("6532.5") - 1, &flat, order(lots("1"))).is_err());
}

#[test]
fn risk_check_on_a_reducing_order_needs_only_the_fee() {
    let c = btc_perp();
    let long = [Exposure {
        market: &c,
        position: Position { size: lots("1"), cost: usdc("65000") },
        mark: px("65000"),
        open_buy: 0,
        open_sell: 0,
        leverage: 10,
    }];
    let sell = OrderIntent { market_index: 0, side: Side::Sell, qty: lots("1"), price: px("65000") };
    let out = risk_check(usdc("10000"), &long, sell).unwrap();
    assert_eq!(out.required, usdc("32.5"));
    let m = account_margin(usdc("10000"), &long).unwrap();
    assert_eq!((m.equity, m.initial_margin, m.available), (usdc("10000"), usdc("6500"), usdc("3500")));
}

#[test]
fn spot_holds() {
    let c = MarketConfig::builder("BTC-USDC", MarketKind::Spot, "BTC", "USDC")
        .with_tick_size("0.01")
        .unwrap()
        .with_lot_size("0.0001")
        .unwrap();
    let p = c.price_ticks("65000").unwrap();
    let q = c.qty_lots("0.5").unwrap();
    assert_eq!(spot_hold(&c, Side::Buy, p, q), c.quote_atoms("32516.25").unwrap());
    assert_eq!(spot_hold(&c, Side::Sell, p, q), i128::from(q));
    assert_eq!(initial_margin_rate(&c, 1), Err(MarginError::WrongMarketKind));
}
