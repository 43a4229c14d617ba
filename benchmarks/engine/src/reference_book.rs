//! A plain price-time book that the generators keep in step with the stream they write.
//!
//! It follows ordex's rules (FIFO per level, IOC remainders cancelled, self-trades allowed, an
//! amend that keeps its price and does not grow keeps its place, any other amend moves to the back
//! and may trade). Knowing the book lets a generator cancel and modify only live orders, hold the
//! book at a target size, and keep every crossing order within what rests inside its limit price
//! (see `cap_crossing_qty`). It is deliberately simple and independent of every engine under test.

use crate::workload::Side;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// A resting order as the reference book sees it.
#[derive(Clone, Copy, Debug)]
pub struct RestingOrder {
    pub account: u64,
    pub side: Side,
    pub price: i64,
    pub qty: i64,
    /// Tag of the queue entry that is this order's place; older entries for the same id are stale.
    tag: u64,
    /// Position in `ReferenceBook::live`, for O(1) random picks and removals.
    live_pos: usize,
}

#[derive(Default)]
struct Level {
    qty: i64,
    orders: usize,
    /// `(order id, tag)`; entries whose tag no longer matches the order are skipped lazily.
    queue: VecDeque<(u64, u64)>,
}

#[derive(Default)]
pub struct ReferenceBook {
    bids: BTreeMap<i64, Level>,
    asks: BTreeMap<i64, Level>,
    orders: HashMap<u64, RestingOrder>,
    live: Vec<u64>,
    next_tag: u64,
}

impl ReferenceBook {
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn get(&self, id: u64) -> Option<&RestingOrder> {
        self.orders.get(&id)
    }

    /// The live order at `index % len`, for uniform random picks.
    pub fn live_at(&self, index: u64) -> Option<u64> {
        if self.live.is_empty() {
            return None;
        }
        Some(self.live[(index % self.live.len() as u64) as usize])
    }

    pub fn best(&self, side: Side) -> Option<i64> {
        match side {
            Side::Buy => self.bids.keys().next_back().copied(),
            Side::Sell => self.asks.keys().next().copied(),
        }
    }

    /// `price`, moved back to one tick short of the opposite best if it would cross.
    pub fn passive_clamp(&self, side: Side, price: i64) -> i64 {
        match (side, self.best(side.opposite())) {
            (Side::Buy, Some(ask)) => price.min(ask - 1),
            (Side::Sell, Some(bid)) => price.max(bid + 1),
            (_, None) => price,
        }
    }

    fn crosses(side: Side, limit: i64, level_price: i64) -> bool {
        match side {
            Side::Buy => level_price <= limit,
            Side::Sell => level_price >= limit,
        }
    }

    /// Opposite-side quantity within `limit`, and whether more rests beyond it.
    fn opposite_liquidity(&self, side: Side, limit: i64) -> (i64, bool) {
        let (levels, worst): (Box<dyn Iterator<Item = (&i64, &Level)>>, _) = match side {
            Side::Buy => (Box::new(self.asks.iter()), self.asks.keys().next_back()),
            Side::Sell => (Box::new(self.bids.iter().rev()), self.bids.keys().next()),
        };
        let within = levels.take_while(|(&p, _)| Self::crosses(side, limit, p)).map(|(_, l)| l.qty).sum();
        let beyond = worst.is_some_and(|&p| !Self::crosses(side, limit, p));
        (within, beyond)
    }

    /// The quantity to send for a crossing order so that it never needs liquidity beyond its
    /// limit while more rests there. matchcore 0.4 fills a crossing limit order at any price once
    /// it starts matching; an order that fits inside its limit trades identically everywhere.
    pub fn cap_crossing_qty(&self, side: Side, limit: i64, qty: i64) -> i64 {
        let opposite_best = self.best(side.opposite());
        if !opposite_best.is_some_and(|p| Self::crosses(side, limit, p)) {
            return qty;
        }
        let (within, beyond) = self.opposite_liquidity(side, limit);
        if qty > within && beyond {
            within
        } else {
            qty
        }
    }

    /// Matches a new order and rests the remainder unless it is IOC.
    pub fn place(&mut self, id: u64, account: u64, side: Side, price: i64, qty: i64, ioc: bool) {
        let left = self.take_liquidity(side, price, qty);
        if left > 0 && !ioc {
            self.rest(id, account, side, price, left);
        }
    }

    pub fn cancel(&mut self, id: u64) -> Option<RestingOrder> {
        let order = self.orders.remove(&id)?;
        self.unlink_live(order.live_pos);
        let levels = self.levels_mut(order.side);
        let level = levels.get_mut(&order.price).expect("resting order has a level");
        level.qty -= order.qty;
        level.orders -= 1;
        if level.orders == 0 {
            levels.remove(&order.price);
        }
        Some(order)
    }

    /// ordex amend rules: same price and no larger keeps priority, anything else re-enters.
    pub fn modify(&mut self, id: u64, new_price: i64, new_qty: i64) {
        let Some(&order) = self.orders.get(&id) else { return };
        if new_price == order.price && new_qty <= order.qty {
            let level = self.levels_mut(order.side).get_mut(&order.price).expect("level");
            level.qty -= order.qty - new_qty;
            self.orders.get_mut(&id).expect("order").qty = new_qty;
            return;
        }
        self.cancel(id);
        self.place(id, order.account, order.side, new_price, new_qty, false);
    }

    fn levels_mut(&mut self, side: Side) -> &mut BTreeMap<i64, Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn rest(&mut self, id: u64, account: u64, side: Side, price: i64, qty: i64) {
        self.next_tag += 1;
        let tag = self.next_tag;
        self.orders.insert(id, RestingOrder { account, side, price, qty, tag, live_pos: self.live.len() });
        self.live.push(id);
        let levels = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = levels.entry(price).or_default();
        level.qty += qty;
        level.orders += 1;
        level.queue.push_back((id, tag));
        // Cancels leave stale entries behind; compact once they dominate the queue.
        if level.queue.len() > 2 * level.orders + 64 {
            let orders = &self.orders;
            level.queue.retain(|&(i, t)| orders.get(&i).is_some_and(|o| o.tag == t));
        }
    }

    fn unlink_live(&mut self, pos: usize) {
        self.live.swap_remove(pos);
        if let Some(&moved) = self.live.get(pos) {
            self.orders.get_mut(&moved).expect("live order").live_pos = pos;
        }
    }

    /// Fills against the opposite side up to `limit`; returns the unfilled quantity.
    fn take_liquidity(&mut self, side: Side, limit: i64, mut qty: i64) -> i64 {
        while qty > 0 {
            let Some(price) = self.best(side.opposite()) else { break };
            if !Self::crosses(side, limit, price) {
                break;
            }
            let levels = match side {
                Side::Buy => &mut self.asks,
                Side::Sell => &mut self.bids,
            };
            let level = levels.get_mut(&price).expect("best level");
            while qty > 0 {
                let Some(&(maker, tag)) = level.queue.front() else { break };
                let Some(order) = self.orders.get_mut(&maker).filter(|o| o.tag == tag) else {
                    level.queue.pop_front();
                    continue;
                };
                let fill = qty.min(order.qty);
                qty -= fill;
                order.qty -= fill;
                level.qty -= fill;
                if order.qty == 0 {
                    let pos = order.live_pos;
                    self.orders.remove(&maker);
                    level.queue.pop_front();
                    level.orders -= 1;
                    self.live.swap_remove(pos);
                    if let Some(&moved) = self.live.get(pos) {
                        self.orders.get_mut(&moved).expect("live order").live_pos = pos;
                    }
                }
            }
            if level.orders == 0 {
                levels.remove(&price);
            }
        }
        qty
    }
}
