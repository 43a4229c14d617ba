//! Table-driven scenarios for every order type, time in force, self-trade mode, trigger and amend
//! rule.

mod common;

use common::*;
use ordex_engine::*;
use rstest::rstest;

#[test]
fn resting_limit_is_accepted_and_published() {
    let mut e = perp();
    let evs = place(&mut e, buy(1, 7, 100, 5));
    assert_eq!(kinds(&evs), ["accepted", "book_delta"]);
    assert!(matches!(evs[1], Event::BookDelta { side: Side::Buy, price: 100, qty: 5, orders: 1, .. }));
    assert_eq!(e.best_bid(), Some(LevelView { price: 100, qty: 5, orders: 1 }));
    assert_eq!(evs.iter().map(|e| e.seq()).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn price_then_time_priority() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 101, 2));
    place(&mut e, sell(2, 2, 100, 2));
    place(&mut e, sell(3, 3, 100, 2));
    let evs = place(&mut e, buy(4, 4, 101, 5));
    assert_eq!(trades(&evs), [(4, 2, 100, 2), (4, 3, 100, 2), (4, 1, 101, 1)]);
    assert_eq!(queue(&e, Side::Sell, 101), [1]);
    assert_eq!(e.order(1).unwrap().remaining, 1);
    assert_eq!(e.order(1).unwrap().filled, 1);
    assert!(e.order(4).is_none());
}

#[test]
fn partial_fill_rests_the_remainder_at_its_limit() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 100, 3));
    let evs = place(&mut e, buy(2, 2, 102, 5));
    assert_eq!(trades(&evs), [(2, 1, 100, 3)]);
    assert_eq!(e.best_bid(), Some(LevelView { price: 102, qty: 2, orders: 1 }));
    assert_eq!(e.best_ask(), None);
    // Deltas: the ask level emptied, the bid level appeared.
    let deltas: Vec<_> = evs
        .iter()
        .filter_map(|e| match *e {
            Event::BookDelta { side, price, qty, .. } => Some((side, price, qty)),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, [(Side::Sell, 100, 0), (Side::Buy, 102, 2)]);
}

#[test]
fn fees_round_in_the_exchange_favour() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 333, 1));
    let evs = place(&mut e, buy(2, 2, 333, 1));
    // Notional 333 * 1 * 100 atoms = 33300 atoms; taker 0.05% = 16.65 -> 17; maker 0.02% = 6.66 -> 7.
    assert!(matches!(evs[1], Event::Trade { taker_fee: 17, maker_fee: 7, .. }));
}

#[test]
fn maker_rebate_rounds_toward_zero() {
    let mut cfg = perp().config().clone();
    cfg.maker_fee = Rate(-20_000);
    let mut e = Engine::new(cfg).unwrap();
    place(&mut e, sell(1, 1, 333, 1));
    let evs = place(&mut e, buy(2, 2, 333, 1));
    assert!(matches!(evs[1], Event::Trade { maker_fee: -6, .. }));
}

#[rstest]
#[case::market_within_band(&[(100, 2), (104, 2), (106, 2)], 10, &[(100, 2), (104, 2)], 6)]
#[case::market_exact_band_edge(&[(100, 1), (105, 1)], 5, &[(100, 1), (105, 1)], 3)]
#[case::market_fills_whole(&[(100, 5)], 3, &[(100, 3)], 0)]
fn market_orders_are_protected_by_the_band(
    #[case] asks: &[(i64, i64)],
    #[case] qty: i64,
    #[case] want: &[(i64, i64)],
    #[case] cancelled: i64,
) {
    let mut e = perp();
    for (i, &(p, q)) in asks.iter().enumerate() {
        place(&mut e, sell(i as u64 + 1, 1, p, q));
    }
    let evs = place(&mut e, NewOrder::market(99, 2, Side::Buy, qty));
    let got: Vec<_> = trades(&evs).iter().map(|t| (t.2, t.3)).collect();
    assert_eq!(got, want);
    let c = cancels(&evs);
    if cancelled > 0 {
        assert_eq!(c, [(99, cancelled, CancelReason::IocRemainder)]);
    } else {
        assert!(c.is_empty());
    }
}

#[test]
fn market_order_on_an_empty_side_is_cancelled() {
    let mut e = perp();
    place(&mut e, buy(1, 1, 100, 1));
    let evs = place(&mut e, NewOrder::market(2, 2, Side::Buy, 5));
    assert_eq!(kinds(&evs), ["accepted", "cancelled"]);
    assert_eq!(cancels(&evs), [(2, 5, CancelReason::NoLiquidity)]);
}

#[test]
fn market_order_own_protection_price_tightens_the_band() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 100, 1));
    place(&mut e, sell(2, 1, 102, 1));
    let mut m = NewOrder::market(3, 2, Side::Buy, 2);
    m.price = Some(101);
    let evs = place(&mut e, m);
    assert_eq!(trades(&evs), [(3, 1, 100, 1)]);
}

#[rstest]
#[case::ioc_remainder(TimeInForce::Ioc, 5, &[(9, 1, 100, 3)], Some((9, 2, CancelReason::IocRemainder)), false)]
#[case::fok_not_fillable(TimeInForce::Fok, 5, &[], Some((9, 5, CancelReason::FokNotFillable)), false)]
#[case::fok_fillable(TimeInForce::Fok, 3, &[(9, 1, 100, 3)], None, false)]
#[case::gtc_rests(TimeInForce::Gtc, 5, &[(9, 1, 100, 3)], None, true)]
fn time_in_force(
    #[case] tif: TimeInForce,
    #[case] qty: i64,
    #[case] want_trades: &[(u64, u64, i64, i64)],
    #[case] want_cancel: Option<(u64, i64, CancelReason)>,
    #[case] rests: bool,
) {
    let mut e = perp();
    place(&mut e, sell(1, 1, 100, 3));
    place(&mut e, sell(2, 1, 110, 3));
    let evs = place(&mut e, buy(9, 2, 100, qty).with_tif(tif));
    assert_eq!(trades(&evs), want_trades);
    assert_eq!(cancels(&evs), want_cancel.into_iter().collect::<Vec<_>>());
    assert_eq!(e.order(9).is_some(), rests);
}

#[test]
fn gtd_expires_when_time_passes_it() {
    let mut e = perp();
    let mut o = buy(1, 1, 100, 2).with_tif(TimeInForce::Gtd);
    o.expire_at = Some(1_000);
    place(&mut e, o);
    assert!(run(&mut e, Command::AdvanceTime { now: 999 }).is_empty());
    let evs = run(&mut e, Command::AdvanceTime { now: 1_000 });
    assert_eq!(kinds(&evs), ["expired", "book_delta"]);
    assert!(e.order(1).is_none());
    // Time never goes back.
    run(&mut e, Command::AdvanceTime { now: 10 });
    assert_eq!(e.now(), 1_000);
}

#[rstest]
#[case::qty_zero(buy(1, 1, 100, 0), RejectReason::InvalidQuantity)]
#[case::price_zero(buy(1, 1, 0, 1), RejectReason::InvalidPrice)]
#[case::price_too_large(buy(1, 1, MAX_TICKS + 1, 1), RejectReason::InvalidPrice)]
#[case::limit_without_price(NewOrder { price: None, ..buy(1, 1, 100, 1) }, RejectReason::MissingPrice)]
#[case::market_gtc(NewOrder::market(1, 1, Side::Buy, 1).with_tif(TimeInForce::Gtc), RejectReason::InvalidTimeInForce)]
#[case::gtd_without_expiry(buy(1, 1, 100, 1).with_tif(TimeInForce::Gtd), RejectReason::MissingExpireTime)]
#[case::expiry_without_gtd(NewOrder { expire_at: Some(5), ..buy(1, 1, 100, 1) }, RejectReason::InvalidTimeInForce)]
#[case::post_only_ioc(NewOrder { post_only: true, ..buy(1, 1, 100, 1).with_tif(TimeInForce::Ioc) }, RejectReason::PostOnlyNotAllowed)]
#[case::post_only_market(NewOrder { post_only: true, ..NewOrder::market(1, 1, Side::Buy, 1) }, RejectReason::PostOnlyNotAllowed)]
#[case::stop_without_trigger(NewOrder { order_type: OrderType::StopLossLimit, ..buy(1, 1, 100, 1) }, RejectReason::MissingTriggerPrice)]
#[case::limit_with_trigger(NewOrder { trigger_price: Some(5), ..buy(1, 1, 100, 1) }, RejectReason::UnexpectedTriggerPrice)]
#[case::reduce_only_flat(NewOrder { reduce_only: true, ..buy(1, 1, 100, 1) }, RejectReason::ReduceOnlyWouldIncrease)]
fn invalid_orders_are_rejected_and_change_nothing(#[case] order: NewOrder, #[case] reason: RejectReason) {
    let mut e = perp();
    let before = e.state_hash();
    let evs = place(&mut e, order);
    assert_eq!(kinds(&evs), ["rejected"]);
    assert_eq!(rejection(&evs), Some(reason));
    let after = e.clone();
    // Only the sequence number moved: replaying a no-op on a fresh engine gives the same book.
    assert_eq!(after.resting_orders(), 0);
    after.check_invariants().unwrap();
    assert_ne!(before, e.state_hash());
}

#[test]
fn expiry_in_the_past_is_rejected() {
    let mut e = perp();
    run(&mut e, Command::AdvanceTime { now: 50 });
    let o = NewOrder { expire_at: Some(50), ..buy(1, 1, 100, 1).with_tif(TimeInForce::Gtd) };
    assert_eq!(rejection(&place(&mut e, o)), Some(RejectReason::ExpireTimeInPast));
}

#[test]
fn minimum_quantity_and_spot_reduce_only() {
    let mut cfg = perp().config().clone();
    cfg.min_qty = 5;
    let mut e = Engine::new(cfg).unwrap();
    assert_eq!(rejection(&place(&mut e, buy(1, 1, 100, 4))), Some(RejectReason::BelowMinQuantity));
    let mut s = spot();
    let o = NewOrder { reduce_only: true, ..sell(1, 1, 100, 1) };
    assert_eq!(rejection(&place(&mut s, o)), Some(RejectReason::ReduceOnlyNotAllowed));
}

#[test]
fn post_only_never_takes() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 100, 1));
    let taking = NewOrder { post_only: true, ..buy(2, 2, 100, 1) };
    assert_eq!(rejection(&place(&mut e, taking)), Some(RejectReason::PostOnlyWouldTake));
    let resting = NewOrder { post_only: true, ..buy(3, 2, 99, 1) };
    assert_eq!(kinds(&place(&mut e, resting)), ["accepted", "book_delta"]);
    // Amending a post-only order across the spread is refused and leaves it in place.
    let evs = run(&mut e, Command::Amend { order_id: 3, account: 2, price: Some(100), qty: None });
    assert_eq!(rejection(&evs), Some(RejectReason::PostOnlyWouldTake));
    assert_eq!(e.order(3).unwrap().price, Some(99));
}

#[test]
fn duplicate_ids() {
    let mut e = perp();
    let cid = ClientOrderId::new("client-123").unwrap();
    place(&mut e, NewOrder { client_order_id: Some(cid), ..buy(1, 7, 90, 1) });
    let dup = NewOrder { client_order_id: Some(cid), ..buy(2, 7, 91, 1) };
    assert_eq!(rejection(&place(&mut e, dup)), Some(RejectReason::DuplicateClientOrderId));
    // Another account may use the same client id.
    assert_eq!(kinds(&place(&mut e, NewOrder { client_order_id: Some(cid), ..buy(3, 8, 91, 1) }))[0], "accepted");
    assert_eq!(rejection(&place(&mut e, buy(1, 9, 92, 1))), Some(RejectReason::DuplicateOrderId));
    assert_eq!(e.order_by_client_id(7, &cid), Some(1));
    // Once the order is final, the client id is free again.
    run(&mut e, Command::Cancel { order_id: 1, account: 7 });
    assert_eq!(e.order_by_client_id(7, &cid), None);
    assert_eq!(kinds(&place(&mut e, NewOrder { client_order_id: Some(cid), ..buy(4, 7, 90, 1) }))[0], "accepted");
}

#[rstest]
#[case::none(StpMode::None, &[(9, 1, 100, 2), (9, 2, 100, 2)], &[], Some(1))]
#[case::expire_taker(StpMode::ExpireTaker, &[], &[(9, 4, CancelReason::SelfTradeTaker)], None)]
#[case::expire_maker(StpMode::ExpireMaker, &[(9, 2, 100, 2)], &[(1, 2, CancelReason::SelfTradeMaker), (9, 2, CancelReason::IocRemainder)], None)]
#[case::expire_both(StpMode::ExpireBoth, &[], &[(1, 2, CancelReason::SelfTradeMaker), (9, 4, CancelReason::SelfTradeTaker)], None)]
fn self_trade_prevention(
    #[case] stp: StpMode,
    #[case] want_trades: &[(u64, u64, i64, i64)],
    #[case] want_cancels: &[(u64, i64, CancelReason)],
    #[case] _unused: Option<u8>,
) {
    let mut e = perp();
    place(&mut e, sell(1, 5, 100, 2)); // own order first in the queue
    place(&mut e, sell(2, 6, 100, 2));
    let taker = NewOrder { stp, ..buy(9, 5, 100, 4).with_tif(TimeInForce::Ioc) };
    let evs = place(&mut e, taker);
    assert_eq!(trades(&evs), want_trades);
    assert_eq!(cancels(&evs), want_cancels);
}

#[test]
fn fok_counts_only_liquidity_self_trade_prevention_leaves() {
    let mut e = perp();
    place(&mut e, sell(1, 5, 100, 2));
    place(&mut e, sell(2, 6, 100, 2));
    let fok = |stp| NewOrder { stp, ..buy(9, 5, 100, 3).with_tif(TimeInForce::Fok) };
    let evs = place(&mut e.clone(), fok(StpMode::ExpireMaker));
    assert_eq!(cancels(&evs).last(), Some(&(9, 3, CancelReason::FokNotFillable)));
    assert!(trades(&evs).is_empty());
    let evs = place(&mut e, fok(StpMode::None));
    assert_eq!(trades(&evs).len(), 2);
}

#[test]
fn cancel_rules() {
    let mut e = perp();
    place(&mut e, buy(1, 7, 100, 1));
    assert_eq!(rejection(&run(&mut e, Command::Cancel { order_id: 1, account: 8 })), Some(RejectReason::OrderNotFound));
    let evs = run(&mut e, Command::Cancel { order_id: 1, account: 7 });
    assert_eq!(cancels(&evs), [(1, 1, CancelReason::User)]);
    assert_eq!(rejection(&run(&mut e, Command::Cancel { order_id: 1, account: 7 })), Some(RejectReason::OrderNotFound));
}

#[test]
fn cancel_all_takes_book_orders_then_conditionals() {
    let mut e = perp();
    place(&mut e, buy(1, 7, 100, 1));
    place(&mut e, sell(2, 7, 110, 1));
    place(&mut e, buy(3, 8, 99, 1));
    let stop = NewOrder {
        order_type: OrderType::StopLoss,
        trigger_price: Some(90),
        price: None,
        ..sell(4, 7, 0, 1).with_tif(TimeInForce::Ioc)
    };
    place(&mut e, stop);
    let evs = run(&mut e, Command::CancelAll { account: 7 });
    let ids: Vec<u64> = cancels(&evs).iter().map(|c| c.0).collect();
    assert_eq!(ids, [1, 2, 4]);
    assert_eq!(e.resting_orders(), 1);
    assert_eq!(e.untriggered_orders(), 0);
}

#[test]
fn amend_down_keeps_priority() {
    let mut e = perp();
    place(&mut e, buy(1, 1, 100, 5));
    place(&mut e, buy(2, 2, 100, 5));
    let evs = run(&mut e, Command::Amend { order_id: 1, account: 1, price: None, qty: Some(3) });
    assert!(matches!(evs[0], Event::Amended { qty: 3, priority_kept: true, .. }));
    assert_eq!(queue(&e, Side::Buy, 100), [1, 2]);
    assert_eq!(e.best_bid().unwrap().qty, 8);
}

#[rstest]
#[case::qty_up(None, Some(6), 100)]
#[case::new_price(Some(101), None, 101)]
#[case::new_price_back(Some(101), Some(2), 101)]
fn amend_that_loses_priority(#[case] price: Option<i64>, #[case] qty: Option<i64>, #[case] level: i64) {
    let mut e = perp();
    place(&mut e, buy(1, 1, 100, 5));
    place(&mut e, buy(2, 2, 100, 5));
    place(&mut e, buy(3, 3, 101, 5));
    let evs = run(&mut e, Command::Amend { order_id: 1, account: 1, price, qty });
    assert!(matches!(evs[0], Event::Amended { priority_kept: false, .. }));
    assert_eq!(*queue(&e, Side::Buy, level).last().unwrap(), 1);
}

#[test]
fn amend_across_the_spread_trades() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 105, 2));
    place(&mut e, buy(2, 2, 100, 5));
    let evs = run(&mut e, Command::Amend { order_id: 2, account: 2, price: Some(105), qty: None });
    assert_eq!(trades(&evs), [(2, 1, 105, 2)]);
    let o = e.order(2).unwrap();
    assert_eq!((o.price, o.remaining, o.filled), (Some(105), 3, 2));
    assert_eq!(
        rejection(&run(&mut e, Command::Amend { order_id: 2, account: 9, price: Some(1), qty: None })),
        Some(RejectReason::OrderNotFound)
    );
}

fn stop(
    id: u64,
    account: u64,
    order_type: OrderType,
    side: Side,
    trigger: i64,
    price: Option<i64>,
    qty: i64,
) -> NewOrder {
    let tif = if order_type.has_limit_price() { TimeInForce::Gtc } else { TimeInForce::Ioc };
    NewOrder { order_type, trigger_price: Some(trigger), price, ..lim(id, account, side, 0, qty).with_tif(tif) }
}

#[rstest]
#[case::sell_stop_loss_on_fall(OrderType::StopLoss, Side::Sell, 95, 94, true)]
#[case::sell_stop_loss_not_on_rise(OrderType::StopLoss, Side::Sell, 95, 96, false)]
#[case::buy_stop_loss_on_rise(OrderType::StopLoss, Side::Buy, 105, 105, true)]
#[case::sell_take_profit_on_rise(OrderType::TakeProfit, Side::Sell, 105, 106, true)]
#[case::buy_take_profit_on_fall(OrderType::TakeProfit, Side::Buy, 95, 95, true)]
#[case::buy_take_profit_not_on_rise(OrderType::TakeProfit, Side::Buy, 95, 99, false)]
fn conditional_orders_trigger_on_the_last_trade(
    #[case] order_type: OrderType,
    #[case] side: Side,
    #[case] trigger: i64,
    #[case] trade_at: i64,
    #[case] fires: bool,
) {
    let mut e = perp();
    // Establish a last price of 100, then deep liquidity on both sides for the released order.
    place(&mut e, sell(1, 1, 100, 1));
    place(&mut e, buy(2, 2, 100, 1));
    assert_eq!(e.last_price(), Some(100));
    assert_eq!(kinds(&place(&mut e, stop(10, 9, order_type, side, trigger, None, 1))), ["accepted"]);
    // Liquidity for the trade that moves the last price, away from it for the released order.
    place(&mut e, sell(3, 3, trade_at, 1));
    let evs = place(&mut e, buy(4, 4, trade_at, 1));
    assert_eq!(trades(&evs)[0].2, trade_at);
    let triggered = evs.iter().any(|e| matches!(e, Event::Triggered { order_id: 10, .. }));
    assert_eq!(triggered, fires);
    assert_eq!(e.order(10).is_none(), fires);
}

#[test]
fn would_trigger_immediately_is_rejected() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 100, 1));
    place(&mut e, buy(2, 2, 100, 1));
    let evs = place(&mut e, stop(3, 3, OrderType::StopLoss, Side::Sell, 101, None, 1));
    assert_eq!(rejection(&evs), Some(RejectReason::WouldTriggerImmediately));
}

#[test]
fn triggered_orders_release_in_arrival_order_and_cascade() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 100, 1));
    place(&mut e, buy(2, 2, 100, 1));
    // Two sell stops at different triggers, the later-placed one with the higher trigger.
    place(&mut e, stop(10, 9, OrderType::StopLossLimit, Side::Sell, 95, Some(90), 1));
    place(&mut e, stop(11, 9, OrderType::StopLossLimit, Side::Sell, 97, Some(90), 1));
    // A third one that only the released orders' own trades reach (cascade).
    place(&mut e, stop(12, 9, OrderType::StopLoss, Side::Sell, 92, None, 1));
    for (id, p) in [(20, 96), (21, 93), (22, 91), (23, 90)] {
        place(&mut e, buy(id, 5, p, 1));
    }
    // A trade at 96 fires 11 (97); 11 sells into 93, which fires 10 (95); 10 sells into 91,
    // which fires 12 (92); 12 sells into 90 as a market order. All within one command.
    let evs = place(&mut e, sell(30, 6, 96, 1));
    let fired: Vec<u64> = evs
        .iter()
        .filter_map(|e| match *e {
            Event::Triggered { order_id, .. } => Some(order_id),
            _ => None,
        })
        .collect();
    assert_eq!(fired, [11, 10, 12]);
    assert_eq!(trades(&evs), [(30, 20, 96, 1), (11, 21, 93, 1), (10, 22, 91, 1), (12, 23, 90, 1)]);
    assert_eq!(e.untriggered_orders(), 0);
}

#[test]
fn simultaneous_triggers_fire_in_arrival_order() {
    let mut e = perp();
    place(&mut e, sell(1, 1, 100, 1));
    place(&mut e, buy(2, 2, 100, 1));
    place(&mut e, stop(10, 9, OrderType::StopLossLimit, Side::Sell, 95, Some(80), 1));
    place(&mut e, stop(11, 9, OrderType::TakeProfitLimit, Side::Buy, 96, Some(120), 1));
    place(&mut e, stop(12, 9, OrderType::StopLossLimit, Side::Sell, 97, Some(80), 1));
    place(&mut e, buy(3, 3, 94, 1));
    let evs = place(&mut e, sell(4, 4, 94, 1));
    let fired: Vec<u64> = evs
        .iter()
        .filter_map(|e| match *e {
            Event::Triggered { order_id, .. } => Some(order_id),
            _ => None,
        })
        .collect();
    assert_eq!(fired, [10, 11, 12]);
}

#[test]
fn mark_price_triggers_only_mark_orders() {
    let mut e = perp();
    place(&mut e, buy(1, 1, 90, 5));
    let mut by_mark = stop(10, 9, OrderType::StopLoss, Side::Sell, 95, None, 1);
    by_mark.trigger_by = TriggerBy::MarkPrice;
    place(&mut e, by_mark);
    place(&mut e, stop(11, 9, OrderType::StopLoss, Side::Sell, 85, None, 1));
    let evs = run(&mut e, Command::SetMarkPrice { price: 94 });
    assert_eq!(trades(&evs), [(10, 1, 90, 1)]);
    assert!(e.order(11).is_some());
    assert_eq!(e.mark_price(), Some(94));
}

#[test]
fn reduce_only_is_clipped_shrunk_and_cancelled_with_the_position() {
    let mut e = perp();
    // Account 1 goes long 5.
    place(&mut e, sell(1, 2, 100, 5));
    place(&mut e, buy(2, 1, 100, 5));
    assert_eq!(e.position(1), 5);
    assert_eq!(e.position(2), -5);
    // Reduce-only sell of 8 is clipped to 5 and rests.
    let evs = place(&mut e, NewOrder { reduce_only: true, ..sell(3, 1, 110, 8) });
    assert!(evs.iter().any(|e| matches!(e, Event::Amended { order_id: 3, qty: 5, .. })));
    assert_eq!(e.order(3).unwrap().remaining, 5);
    // A second reduce-only order of 2 rests too; together they exceed nothing yet? 5 + 2 > 5:
    // the newest is shrunk to what is left of the position (0), so it is cancelled.
    let evs = place(&mut e, NewOrder { reduce_only: true, ..sell(4, 1, 111, 2) });
    assert_eq!(cancels(&evs), [(4, 2, CancelReason::ReduceOnly)]);
    // The position shrinks by 2 (account 1 sells 2 to someone): order 3 shrinks to 3.
    place(&mut e, buy(5, 3, 99, 2));
    let evs = place(&mut e, sell(6, 1, 99, 2));
    assert!(evs.iter().any(|e| matches!(e, Event::Amended { order_id: 3, qty: 3, .. })));
    assert_eq!(e.order(3).unwrap().remaining, 3);
    // The position closes elsewhere: the reduce-only order is cancelled.
    place(&mut e, buy(7, 3, 98, 3));
    let evs = place(&mut e, sell(8, 1, 98, 3));
    assert!(cancels(&evs).contains(&(3, 3, CancelReason::ReduceOnly)));
    assert_eq!(e.position(1), 0);
}

#[test]
fn reduce_only_taker_never_flips_the_position() {
    let mut e = perp();
    place(&mut e, sell(1, 2, 100, 3));
    place(&mut e, buy(2, 1, 100, 3));
    place(&mut e, buy(3, 4, 100, 10));
    let evs = place(&mut e, NewOrder { reduce_only: true, ..sell(4, 1, 100, 10).with_tif(TimeInForce::Ioc) });
    assert_eq!(trades(&evs), [(4, 3, 100, 3)]);
    assert_eq!(e.position(1), 0);
}

#[test]
fn queries() {
    let mut e = perp();
    for (i, p) in [100, 100, 99, 98, 97].iter().enumerate() {
        place(&mut e, buy(i as u64 + 1, 1, *p, 1));
    }
    place(&mut e, sell(10, 2, 101, 4));
    let (bids, asks) = e.depth(2);
    assert_eq!(bids, [LevelView { price: 100, qty: 2, orders: 2 }, LevelView { price: 99, qty: 1, orders: 1 }]);
    assert_eq!(asks, [LevelView { price: 101, qty: 4, orders: 1 }]);
    assert_eq!(queue(&e, Side::Buy, 100), [1, 2]);
    let o = e.order(10).unwrap();
    assert_eq!((o.side, o.status, o.remaining), (Side::Sell, OrderStatus::Open, 4));
}

#[test]
fn snapshot_round_trip_is_exact() {
    let mut e = perp();
    place(&mut e, buy(1, 1, 100, 3));
    place(&mut e, NewOrder { client_order_id: ClientOrderId::new("x"), ..sell(2, 2, 105, 3) });
    place(&mut e, stop(3, 1, OrderType::TakeProfitLimit, Side::Buy, 90, Some(91), 1));
    let restored = Engine::restore(&e.snapshot()).unwrap();
    assert_eq!(restored.state_hash(), e.state_hash());
    assert_eq!(restored.order(2), e.order(2));
    assert_eq!(restored.order(3), e.order(3));
    assert!(Engine::restore(b"garbage").is_err());
    assert!(Engine::restore(&[]).is_err());
}

#[test]
fn fees_of_an_eighteen_decimal_quote_are_exact() {
    // 300000 quote at 18 decimals is 3e23 atoms: beyond i64, and the fee must not be clamped.
    let mut cfg = MarketConfig::builder("X-WETH", MarketKind::Spot, "X", "WETH")
        .with_tick_size("0.0001")
        .unwrap()
        .with_lot_size("0.000001")
        .unwrap();
    cfg.quote_decimals = 18;
    let mut e = Engine::new(cfg.clone()).unwrap();
    let (p, q) = (cfg.price_ticks("3000").unwrap(), cfg.qty_lots("100").unwrap());
    place(&mut e, sell(1, 1, p, q));
    let evs = place(&mut e, buy(2, 2, p, q));
    let fee = evs.iter().find_map(|e| match *e {
        Event::Trade { taker_fee, .. } => Some(taker_fee),
        _ => None,
    });
    assert_eq!(fee, Some(cfg.quote_atoms("150").unwrap()));
}

#[test]
fn level_totals_and_positions_do_not_overflow() {
    let mut e = perp();
    let n = 9_300; // 9300 * 10^15 > i64::MAX
    let mut out = Vec::new();
    for i in 0..n {
        e.process(&Command::Place(sell(i + 1, 1, 100, MAX_LOTS)), &mut out);
    }
    let total = i128::from(MAX_LOTS) * i128::from(n as i64);
    assert_eq!(e.best_ask().unwrap().qty, total);
    for i in 0..n {
        e.process(&Command::Place(buy(100_000 + i, 2, 100, MAX_LOTS)), &mut out);
    }
    e.check_invariants().unwrap();
    assert_eq!(e.position(2), total);
    assert_eq!(e.position(1), -total);
    // A reduce-only sell is clipped to one order's maximum, never wrapped.
    let evs = place(&mut e, NewOrder { reduce_only: true, ..sell(500_000, 2, 200, MAX_LOTS) });
    assert_eq!(kinds(&evs)[0], "accepted");
}
