//! Conditional orders (stop-loss, take-profit) waiting off-book for their trigger.
//!
//! Each order waits in one of four ordered sets: by price source (last trade or mark) and by
//! direction (fires when the price rises to the trigger, or falls to it). A buy stop-loss and a
//! sell take-profit fire on a rise; a sell stop-loss and a buy take-profit fire on a fall.

use crate::types::{AccountId, NewOrder, OrderId, OrderType, Price, Side, TriggerBy};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug)]
pub(crate) struct StopEntry {
    pub order: NewOrder,
    pub arrival: u64,
}

type TriggerSet = BTreeSet<(Price, u64, OrderId)>;

#[derive(Clone, Debug, Default)]
pub(crate) struct StopBook {
    orders: FxHashMap<OrderId, StopEntry>,
    last_rise: TriggerSet,
    last_fall: TriggerSet,
    mark_rise: TriggerSet,
    mark_fall: TriggerSet,
}

impl StopBook {
    /// Whether an order of this type and side fires when the price rises to its trigger.
    pub fn triggers_on_rise(order_type: OrderType, side: Side) -> bool {
        match order_type {
            OrderType::StopLoss | OrderType::StopLossLimit => side == Side::Buy,
            _ => side == Side::Sell,
        }
    }

    fn set_for(&mut self, o: &NewOrder) -> &mut TriggerSet {
        let rise = Self::triggers_on_rise(o.order_type, o.side);
        match (o.trigger_by, rise) {
            (TriggerBy::LastPrice, true) => &mut self.last_rise,
            (TriggerBy::LastPrice, false) => &mut self.last_fall,
            (TriggerBy::MarkPrice, true) => &mut self.mark_rise,
            (TriggerBy::MarkPrice, false) => &mut self.mark_fall,
        }
    }

    pub fn insert(&mut self, order: NewOrder, arrival: u64) {
        let key = (order.trigger_price.unwrap_or(0), arrival, order.order_id);
        self.set_for(&order).insert(key);
        self.orders.insert(order.order_id, StopEntry { order, arrival });
    }

    pub fn remove(&mut self, id: OrderId) -> Option<StopEntry> {
        let entry = self.orders.remove(&id)?;
        let key = (entry.order.trigger_price.unwrap_or(0), entry.arrival, id);
        self.set_for(&entry.order).remove(&key);
        Some(entry)
    }

    pub fn get(&self, id: OrderId) -> Option<&StopEntry> {
        self.orders.get(&id)
    }

    pub fn contains(&self, id: OrderId) -> bool {
        self.orders.contains_key(&id)
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }

    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    /// Every waiting order, oldest first.
    pub fn by_arrival(&self) -> Vec<StopEntry> {
        let mut all: Vec<StopEntry> = self.orders.values().copied().collect();
        all.sort_unstable_by_key(|e| e.arrival);
        all
    }

    pub fn ids_of_account(&self, account: AccountId) -> Vec<OrderId> {
        self.by_arrival().into_iter().filter(|e| e.order.account == account).map(|e| e.order.order_id).collect()
    }

    /// Removes and returns, oldest first, every order whose trigger the trade range `(low, high)`
    /// of the last round or the new mark price reached.
    pub fn take_triggered(&mut self, trades: Option<(Price, Price)>, mark: Option<Price>) -> Vec<StopEntry> {
        let mut keys: Vec<(u64, OrderId)> = Vec::new();
        let mut collect = |set: &TriggerSet, low: Price, high: Price, rise: bool| {
            if rise {
                keys.extend(set.iter().take_while(|k| k.0 <= high).map(|k| (k.1, k.2)));
            } else {
                keys.extend(set.iter().rev().take_while(|k| k.0 >= low).map(|k| (k.1, k.2)));
            }
        };
        if let Some((low, high)) = trades {
            collect(&self.last_rise, low, high, true);
            collect(&self.last_fall, low, high, false);
        }
        if let Some(m) = mark {
            collect(&self.mark_rise, m, m, true);
            collect(&self.mark_fall, m, m, false);
        }
        keys.sort_unstable();
        keys.into_iter().filter_map(|(_, id)| self.remove(id)).collect()
    }
}
