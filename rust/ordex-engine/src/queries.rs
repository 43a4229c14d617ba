//! Read-only queries: top of book, depth, L3 levels, single orders, positions.

use crate::book::{FLAG_POST_ONLY, FLAG_REDUCE_ONLY};
use crate::engine::Engine;
use crate::types::*;

impl Engine {
    // ----- queries ---------------------------------------------------------------------------

    pub fn best_bid(&self) -> Option<LevelView> {
        self.book.best(Side::Buy).map(|l| LevelView { price: l.price, qty: l.qty, orders: l.count })
    }

    pub fn best_ask(&self) -> Option<LevelView> {
        self.book.best(Side::Sell).map(|l| LevelView { price: l.price, qty: l.qty, orders: l.count })
    }

    /// Top `n` levels of each side, best first: `(bids, asks)`.
    pub fn depth(&self, n: usize) -> (Vec<LevelView>, Vec<LevelView>) {
        let take = |side: Side| {
            self.book
                .iter_best_first(side)
                .take(n)
                .map(|l| LevelView { price: l.price, qty: l.qty, orders: l.count })
                .collect()
        };
        (take(Side::Buy), take(Side::Sell))
    }

    /// Orders at one level, front of the queue first (L3).
    pub fn level_orders(&self, side: Side, price: Price) -> Vec<OrderView> {
        self.book.level_slots(side, price).into_iter().map(|s| self.view_of_slot(s)).collect()
    }

    /// A live order (resting or untriggered); `None` once final.
    pub fn order(&self, order_id: OrderId) -> Option<OrderView> {
        if let Some(slot) = self.book.get(order_id) {
            return Some(self.view_of_slot(slot));
        }
        self.stops.get(order_id).map(|s| {
            let o = s.order;
            OrderView {
                order_id,
                account: o.account,
                side: o.side,
                order_type: o.order_type,
                time_in_force: o.time_in_force,
                price: o.price,
                trigger_price: o.trigger_price,
                remaining: o.qty,
                filled: 0,
                status: OrderStatus::Untriggered,
                reduce_only: o.reduce_only,
                post_only: o.post_only,
                expire_at: o.expire_at,
                client_order_id: o.client_order_id,
            }
        })
    }

    fn view_of_slot(&self, slot: u32) -> OrderView {
        let n = &self.book.nodes[slot as usize];
        OrderView {
            order_id: n.id,
            account: n.account,
            side: n.side,
            order_type: n.order_type,
            time_in_force: n.tif,
            price: Some(n.price),
            trigger_price: None,
            remaining: n.qty,
            filled: n.filled,
            status: OrderStatus::Open,
            reduce_only: n.has(FLAG_REDUCE_ONLY),
            post_only: n.has(FLAG_POST_ONLY),
            expire_at: (n.expire_at != 0).then_some(n.expire_at),
            client_order_id: self.client_id_of.get(&n.id).copied(),
        }
    }

    /// Ids of an account's live orders: resting in book priority, then untriggered by arrival.
    pub fn orders_of(&self, account: AccountId) -> Vec<OrderId> {
        let resting = self.book.all_slots_in_priority().into_iter().map(|s| &self.book.nodes[s as usize]);
        let mut ids: Vec<OrderId> = resting.filter(|n| n.account == account).map(|n| n.id).collect();
        ids.extend(self.stops.ids_of_account(account));
        ids
    }

    /// Live order id of an account's client order id.
    pub fn order_by_client_id(&self, account: AccountId, client_order_id: &ClientOrderId) -> Option<OrderId> {
        self.client_ids.get(&(account, *client_order_id)).copied()
    }

    /// Net position in lots the engine has seen for an account (perpetuals; 0 on spot).
    pub fn position(&self, account: AccountId) -> Total {
        self.positions.get(&account).copied().unwrap_or(0)
    }

    pub fn resting_orders(&self) -> usize {
        self.book.len()
    }

    pub fn untriggered_orders(&self) -> usize {
        self.stops.len()
    }

    pub fn last_seq(&self) -> Seq {
        self.seq
    }

    pub fn last_price(&self) -> Option<Price> {
        self.last_price
    }

    pub fn mark_price(&self) -> Option<Price> {
        self.mark_price
    }

    pub fn now(&self) -> u64 {
        self.now
    }
}
