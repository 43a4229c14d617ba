//! Hand-worked cases for the perpetual-only commands: liquidation, auto-deleveraging, funding.
//!
//! Market of `common::perp`: tick 1, lot 1, 100 quote atoms per tick-lot, taker 0.05%, maker
//! 0.02%, funding rate cap 0.375%.

mod common;

use common::*;
use ordex_engine::*;
use rstest::rstest;

fn liquidate(e: &mut Engine, order_id: u64, account: u64, side: Side, qty: i64, price: i64) -> Vec<Event> {
    run(e, Command::Liquidate { order_id, account, side, qty, price })
}

fn deleverage(e: &mut Engine, account: u64, counterparty: u64, side: Side, qty: i64, price: i64) -> Vec<Event> {
    run(e, Command::Deleverage { account, counterparty, side, qty, price })
}

fn funding(e: &mut Engine, interval: u64, rate: i64, mark: i64) -> Vec<Event> {
    run(e, Command::Funding { interval, rate: Rate(rate), mark })
}

fn command_rejection(evs: &[Event]) -> Option<RejectReason> {
    evs.iter().find_map(|e| match *e {
        Event::CommandRejected { reason, .. } => Some(reason),
        _ => None,
    })
}

/// Account 1 long 5 (bought from account 9 at 100), with a resting bid 20 @ 90 and a stop 21;
/// other accounts bid 2 @ 99 (order 30) and 2 @ 97 (order 31).
fn long_with_bids() -> Engine {
    let mut e = perp();
    place(&mut e, sell(10, 9, 100, 5));
    place(&mut e, buy(11, 1, 100, 5));
    place(&mut e, buy(20, 1, 90, 3));
    let stop = NewOrder {
        order_type: OrderType::StopLoss,
        time_in_force: TimeInForce::Ioc,
        price: None,
        trigger_price: Some(80),
        ..sell(21, 1, 0, 5)
    };
    assert_eq!(kinds(&place(&mut e, stop)), ["accepted"]);
    place(&mut e, buy(30, 2, 99, 2));
    place(&mut e, buy(31, 3, 97, 2));
    assert_eq!(e.position(1), 5);
    e
}

#[rstest]
// Stops at 98: the 99 bid fills, the 97 bid is beyond the price, 3 lots are cancelled.
#[case::partial_then_cancelled(5, 98, 5, &[(40, 30, 99, 2)], Some(3), 3)]
// 10 lots asked, the position is 5: clamped; both bids fill, 1 lot left over.
#[case::clamped_to_the_position(10, 95, 5, &[(40, 30, 99, 2), (40, 31, 97, 2)], Some(1), 1)]
// Fully filled: no remainder cancellation.
#[case::filled(3, 90, 3, &[(40, 30, 99, 2), (40, 31, 97, 1)], None, 2)]
// Nothing to trade against at that price: the whole quantity is cancelled.
#[case::no_bids_in_reach(4, 100, 4, &[], Some(4), 5)]
fn liquidation_cancels_then_trades_ioc(
    #[case] qty: i64,
    #[case] price: i64,
    #[case] clamped: i64,
    #[case] want_trades: &[(u64, u64, i64, i64)],
    #[case] remainder: Option<i64>,
    #[case] position_after: i128,
) {
    let mut e = long_with_bids();
    let evs = liquidate(&mut e, 40, 1, Side::Sell, qty, price);
    // The account's own orders go first, resting then untriggered, then the liquidation starts.
    assert_eq!(cancels(&evs)[..2], [(20, 3, CancelReason::Liquidation), (21, 5, CancelReason::Liquidation)]);
    assert_eq!(kinds(&evs)[..3], ["cancelled", "cancelled", "liquidation"]);
    assert!(matches!(
        evs[2],
        Event::Liquidation { order_id: 40, account: 1, side: Side::Sell, qty, price: p, .. } if qty == clamped && p == price
    ));
    assert_eq!(trades(&evs), want_trades);
    let rest: Vec<_> = cancels(&evs).into_iter().filter(|c| c.0 == 40).collect();
    assert_eq!(rest, remainder.map(|r| (40, r, CancelReason::IocRemainder)).into_iter().collect::<Vec<_>>());
    assert!(!kinds(&evs).contains(&"accepted"));
    assert_eq!(e.position(1), position_after);
    assert_eq!((e.order(20), e.order(21), e.order(40)), (None, None, None));
    let net: i128 = [1, 2, 3, 9].iter().map(|&a| e.position(a)).sum();
    assert_eq!(net, 0);
}

#[test]
fn liquidation_trades_pay_the_usual_taker_fee() {
    let mut e = long_with_bids();
    let evs = liquidate(&mut e, 40, 1, Side::Sell, 2, 99);
    // 99 * 2 * 100 = 19800 atoms: taker 0.05% = 9.9 -> 10, maker 0.02% = 3.96 -> 4.
    assert!(evs.iter().any(|e| matches!(e, Event::Trade { taker_order_id: 40, taker_fee: 10, maker_fee: 4, .. })));
}

#[rstest]
#[case::wrong_side(41, Side::Buy, 5, 98, RejectReason::NoPosition)]
#[case::zero_qty(41, Side::Sell, 0, 98, RejectReason::InvalidQuantity)]
#[case::zero_price(41, Side::Sell, 5, 0, RejectReason::InvalidPrice)]
#[case::price_too_large(41, Side::Sell, 5, MAX_TICKS + 1, RejectReason::InvalidPrice)]
#[case::resting_id(30, Side::Sell, 5, 98, RejectReason::DuplicateOrderId)]
#[case::untriggered_id(21, Side::Sell, 5, 98, RejectReason::DuplicateOrderId)]
fn liquidation_rejections_change_nothing(
    #[case] order_id: u64,
    #[case] side: Side,
    #[case] qty: i64,
    #[case] price: i64,
    #[case] reason: RejectReason,
) {
    let mut e = long_with_bids();
    let before = e.state_hash();
    let evs = liquidate(&mut e, order_id, 1, side, qty, price);
    assert_eq!(kinds(&evs), ["rejected"]);
    assert_eq!(rejection(&evs), Some(reason));
    // Only the sequence number moved: the orders are still there.
    assert!(e.order(20).is_some() && e.order(21).is_some());
    assert_eq!(e.position(1), 5);
    assert_ne!(e.state_hash(), before);
}

#[test]
fn a_flat_account_cannot_be_liquidated() {
    let mut e = long_with_bids();
    assert_eq!(rejection(&liquidate(&mut e, 40, 2, Side::Sell, 1, 90)), Some(RejectReason::NoPosition));
    assert_eq!(e.order(30).map(|o| o.remaining), Some(2));
}

#[test]
fn perp_commands_are_rejected_on_spot_markets() {
    let mut e = spot();
    assert_eq!(rejection(&liquidate(&mut e, 1, 1, Side::Sell, 1, 100)), Some(RejectReason::PerpOnly));
    assert_eq!(command_rejection(&deleverage(&mut e, 1, 2, Side::Sell, 1, 100)), Some(RejectReason::PerpOnly));
    assert_eq!(command_rejection(&funding(&mut e, 1, 10_000, 100)), Some(RejectReason::PerpOnly));
    assert_eq!(e.last_funding_interval(), None);
}

/// Account 1 long 5 against account 2 short 5; account 3 long 2 against account 4 short 2.
fn four_positions() -> Engine {
    let mut e = perp();
    place(&mut e, sell(1, 2, 100, 5));
    place(&mut e, buy(2, 1, 100, 5));
    place(&mut e, sell(3, 4, 100, 2));
    place(&mut e, buy(4, 3, 100, 2));
    e
}

#[rstest]
#[case::partial(1, 2, Side::Sell, 3, 3, [2, -2, 2, -2])]
#[case::clamped_to_the_account(1, 2, Side::Sell, 9, 5, [0, 0, 2, -2])]
#[case::clamped_to_the_counterparty(1, 4, Side::Sell, 9, 2, [3, -5, 2, 0])]
#[case::short_closed_by_a_buy(2, 3, Side::Buy, 9, 2, [5, -3, 0, -2])]
fn deleverage_clamps_to_both_positions(
    #[case] account: u64,
    #[case] counterparty: u64,
    #[case] side: Side,
    #[case] qty: i64,
    #[case] done: i64,
    #[case] after: [i128; 4],
) {
    let mut e = four_positions();
    let book = (e.best_bid(), e.best_ask(), e.last_price());
    let evs = deleverage(&mut e, account, counterparty, side, qty, 95);
    assert_eq!(kinds(&evs), ["adl"]);
    assert!(matches!(
        evs[0],
        Event::Adl { account: a, counterparty: c, side: s, qty: q, price: 95, .. }
            if a == account && c == counterparty && s == side && q == done
    ));
    assert_eq!([1, 2, 3, 4].map(|a| e.position(a)), after);
    // Off the book: no level, no last price moved.
    assert_eq!((e.best_bid(), e.best_ask(), e.last_price()), book);
}

#[rstest]
#[case::counterparty_on_the_same_side(1, 3, Side::Sell, 1, 95, RejectReason::NoPosition)]
#[case::account_would_increase(1, 2, Side::Buy, 1, 95, RejectReason::NoPosition)]
#[case::flat_account(5, 2, Side::Sell, 1, 95, RejectReason::NoPosition)]
#[case::itself(1, 1, Side::Sell, 1, 95, RejectReason::InvalidCounterparty)]
#[case::zero_qty(1, 2, Side::Sell, 0, 95, RejectReason::InvalidQuantity)]
#[case::zero_price(1, 2, Side::Sell, 1, 0, RejectReason::InvalidPrice)]
fn deleverage_that_cannot_be_done_is_a_command_rejection(
    #[case] account: u64,
    #[case] counterparty: u64,
    #[case] side: Side,
    #[case] qty: i64,
    #[case] price: i64,
    #[case] reason: RejectReason,
) {
    let mut e = four_positions();
    let evs = deleverage(&mut e, account, counterparty, side, qty, price);
    assert_eq!(kinds(&evs), ["command_rejected"]);
    assert_eq!(command_rejection(&evs), Some(reason));
    assert_eq!([1, 2, 3, 4].map(|a| e.position(a)), [5, -5, 2, -2]);
}

#[test]
fn deleverage_shrinks_reduce_only_orders_to_the_new_position() {
    let mut e = four_positions();
    let ro = NewOrder { reduce_only: true, ..sell(9, 1, 120, 5) };
    place(&mut e, ro);
    let evs = deleverage(&mut e, 1, 2, Side::Sell, 3, 95);
    assert_eq!(kinds(&evs), ["adl", "amended", "book_delta"]);
    assert_eq!(e.order(9).map(|o| o.remaining), Some(2));
}

/// Account 1 long 3, account 2 short 2, account 3 short 1.
fn funding_book() -> Engine {
    let mut e = perp();
    place(&mut e, sell(1, 2, 100, 2));
    place(&mut e, sell(2, 3, 100, 1));
    place(&mut e, buy(3, 1, 100, 3));
    e
}

#[rstest]
// At mark 333: |3| = 99900 atoms, |2| = 66600, |1| = 33300.
// +0.01%: the long pays 9.99 -> 10 (away from zero), shorts get 6.66 -> 6 and 3.33 -> 3.
#[case::longs_pay(10_000, 10_000, [-10, 6, 3], 1)]
// -0.01%: the long gets 9.99 -> 9, shorts pay 6.66 -> 7 and 3.33 -> 4.
#[case::shorts_pay(-10_000, -10_000, [9, -7, -4], 2)]
// 1% is over the 0.375% cap: 374.625 -> 375 paid, 249.75 -> 249 and 124.875 -> 124 received.
#[case::capped(1_000_000, 375_000, [-375, 249, 124], 2)]
#[case::capped_negative(-1_000_000, -375_000, [374, -250, -125], 1)]
#[case::zero_rate(0, 0, [0, 0, 0], 0)]
fn funding_pays_every_position_and_sums_to_zero(
    #[case] rate: i64,
    #[case] applied: i64,
    #[case] want: [i128; 3],
    #[case] want_house: i128,
) {
    let mut e = funding_book();
    let evs = funding(&mut e, 1_000, rate, 333);
    assert_eq!(kinds(&evs), ["funding"]);
    let Event::Funding { interval, rate: r, mark, ref payments, house, .. } = evs[0] else {
        panic!("not a funding event: {:?}", evs[0]);
    };
    assert_eq!((interval, r, mark), (1_000, Rate(applied), 333));
    assert_eq!(payments, &[(1, want[0]), (2, want[1]), (3, want[2])]);
    assert_eq!(house, want_house);
    assert_eq!(payments.iter().map(|p| p.1).sum::<i128>() + house, 0);
    // The same numbers as the margin function the risk checks use.
    for &(account, paid) in payments {
        let size = e.position(account) as i64;
        assert_eq!(paid, margin::funding_payment(e.config(), size, 333, Rate(rate)));
    }
    assert_eq!(e.last_funding_interval(), Some(1_000));
}

#[test]
fn funding_of_an_interval_already_settled_does_nothing() {
    let mut e = funding_book();
    assert_eq!(kinds(&funding(&mut e, 1_000, 10_000, 333)), ["funding"]);
    let hash = e.state_hash();
    assert!(funding(&mut e, 1_000, 10_000, 333).is_empty());
    assert!(funding(&mut e, 999, 50_000, 400).is_empty());
    assert_eq!(e.state_hash(), hash);
    assert_eq!(kinds(&funding(&mut e, 1_001, 10_000, 333)), ["funding"]);
    assert_eq!(e.last_funding_interval(), Some(1_001));
}

#[test]
fn funding_without_positions_still_records_the_interval() {
    let mut e = perp();
    let evs = funding(&mut e, 5, 10_000, 100);
    assert!(matches!(&evs[..], [Event::Funding { payments, house: 0, .. }] if payments.is_empty()));
    assert!(funding(&mut e, 5, 10_000, 100).is_empty());
}

#[rstest]
#[case::zero_mark(0)]
#[case::negative_mark(-1)]
#[case::huge_mark(MAX_TICKS + 1)]
fn funding_with_a_bad_mark_is_rejected_and_settles_nothing(#[case] mark: i64) {
    let mut e = funding_book();
    assert_eq!(command_rejection(&funding(&mut e, 1_000, 10_000, mark)), Some(RejectReason::InvalidPrice));
    assert_eq!(e.last_funding_interval(), None);
}

#[test]
fn snapshots_keep_the_last_funding_interval() {
    let mut e = funding_book();
    funding(&mut e, 1_000, 10_000, 333);
    let mut restored = Engine::restore(&e.snapshot()).unwrap();
    assert_eq!(restored.last_funding_interval(), Some(1_000));
    assert_eq!(restored.state_hash(), e.state_hash());
    assert!(funding(&mut restored, 1_000, 10_000, 333).is_empty());
    // The interval is part of the state: two books alike but for it hash differently.
    let mut other = funding_book();
    funding(&mut other, 2_000, 10_000, 333);
    assert_ne!(other.state_hash(), e.state_hash());
}

#[test]
fn extreme_values_never_panic() {
    let mut e = perp();
    place(&mut e, sell(1, 1, MAX_TICKS, MAX_LOTS));
    place(&mut e, buy(2, 2, MAX_TICKS, MAX_LOTS));
    place(&mut e, sell(3, 3, MAX_TICKS, MAX_LOTS));
    place(&mut e, buy(4, 4, MAX_TICKS, MAX_LOTS));
    let evs = funding(&mut e, u64::MAX, i64::MAX, MAX_TICKS);
    let Event::Funding { ref payments, house, rate, .. } = evs[0] else { panic!("{evs:?}") };
    assert_eq!(rate, e.config().funding_rate_cap);
    assert_eq!(payments.iter().map(|p| p.1).sum::<i128>() + house, 0);
    assert!(funding(&mut e, u64::MAX, i64::MIN, MAX_TICKS).is_empty());
    assert_eq!(kinds(&deleverage(&mut e, 2, 1, Side::Sell, MAX_LOTS, MAX_TICKS)), ["adl"]);
    let evs = liquidate(&mut e, 9, 4, Side::Sell, MAX_LOTS, 1);
    assert!(kinds(&evs).contains(&"liquidation"));
    assert_eq!(
        rejection(&liquidate(&mut e, 10, 3, Side::Buy, i64::MAX, i64::MAX)),
        Some(RejectReason::InvalidQuantity)
    );
    assert_eq!(
        command_rejection(&deleverage(&mut e, 3, 4, Side::Buy, i64::MIN, 1)),
        Some(RejectReason::InvalidQuantity)
    );
}
