#![allow(dead_code)]
//! Shared helpers for the engine's integration tests.

use ordex_engine::*;

/// A perpetual market on a unit grid: tick 1, lot 1, quote with 2 decimals (100 atoms per
/// tick-lot), 5% band, maker 0.02%, taker 0.05%.
pub fn perp() -> Engine {
    let mut cfg = MarketConfig::builder("TEST-PERP", MarketKind::Perp, "TEST", "USD");
    cfg.tick_size = decimal::Unit::new(1, 0);
    cfg.lot_size = decimal::Unit::new(1, 0);
    cfg.quote_decimals = 2;
    Engine::new(cfg).unwrap()
}

pub fn spot() -> Engine {
    let mut cfg = MarketConfig::builder("TEST-USD", MarketKind::Spot, "TEST", "USD");
    cfg.tick_size = decimal::Unit::new(1, 0);
    cfg.lot_size = decimal::Unit::new(1, 0);
    cfg.quote_decimals = 2;
    Engine::new(cfg).unwrap()
}

pub fn lim(id: u64, account: u64, side: Side, price: i64, qty: i64) -> NewOrder {
    NewOrder::limit(id, account, side, price, qty)
}

pub fn buy(id: u64, account: u64, price: i64, qty: i64) -> NewOrder {
    lim(id, account, Side::Buy, price, qty)
}

pub fn sell(id: u64, account: u64, price: i64, qty: i64) -> NewOrder {
    lim(id, account, Side::Sell, price, qty)
}

pub fn run(e: &mut Engine, cmd: Command) -> Vec<Event> {
    let mut out = Vec::new();
    e.process(&cmd, &mut out);
    e.check_invariants().unwrap();
    out
}

pub fn place(e: &mut Engine, o: NewOrder) -> Vec<Event> {
    run(e, Command::Place(o))
}

/// `(taker, maker, price, qty)` of every trade.
pub fn trades(evs: &[Event]) -> Vec<(u64, u64, i64, i64)> {
    evs.iter()
        .filter_map(|e| match *e {
            Event::Trade { taker_order_id, maker_order_id, price, qty, .. } => {
                Some((taker_order_id, maker_order_id, price, qty))
            }
            _ => None,
        })
        .collect()
}

pub fn rejection(evs: &[Event]) -> Option<RejectReason> {
    evs.iter().find_map(|e| match *e {
        Event::Rejected { reason, .. } => Some(reason),
        _ => None,
    })
}

/// `(order, remaining, reason)` of every cancellation.
pub fn cancels(evs: &[Event]) -> Vec<(u64, i64, CancelReason)> {
    evs.iter()
        .filter_map(|e| match *e {
            Event::Cancelled { order_id, remaining, reason, .. } => Some((order_id, remaining, reason)),
            _ => None,
        })
        .collect()
}

pub fn kinds(evs: &[Event]) -> Vec<&'static str> {
    evs.iter().map(|e| e.kind()).collect()
}

/// Order ids resting at a level, front of the queue first.
pub fn queue(e: &Engine, side: Side, price: i64) -> Vec<u64> {
    e.level_orders(side, price).iter().map(|o| o.order_id).collect()
}
