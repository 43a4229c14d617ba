//! Order lifecycle after placement: cancel, amend, time (GTD expiry), mark price, the release of
//! triggered conditional orders, reduce-only upkeep, and the per-command book deltas.

use crate::book::{FLAG_CLIENT_ID, FLAG_POST_ONLY, FLAG_REDUCE_ONLY};
use crate::engine::{Engine, Incoming};
use crate::types::*;

impl Engine {
    // ----- cancel, amend, time ---------------------------------------------------------------

    pub(crate) fn cancel(&mut self, order_id: OrderId, account: AccountId, out: &mut Vec<Event>) {
        // One index operation for the common case: take the entry out, put it back if the order
        // is another account's.
        if let Some(slot) = self.book.index.remove(&order_id) {
            if self.book.nodes[slot as usize].account == account {
                let node = self.book.unlink(slot);
                return self.retire(node, CancelReason::User, out);
            }
            self.book.index.insert(order_id, slot);
        } else if self.stops.get(order_id).is_some_and(|s| s.order.account == account) {
            return self.cancel_stop(order_id, CancelReason::User, out);
        }
        self.reject(out, order_id, account, RejectReason::OrderNotFound);
    }

    pub(crate) fn cancel_stop(&mut self, order_id: OrderId, reason: CancelReason, out: &mut Vec<Event>) {
        if let Some(stop) = self.stops.remove(order_id) {
            let o = stop.order;
            let flags = if o.client_order_id.is_some() { FLAG_CLIENT_ID } else { 0 };
            self.finish(order_id, o.account, flags, o.expire_at.unwrap_or(0), stop.arrival);
            let (account, remaining) = (o.account, o.qty);
            self.emit(out, |seq| Event::Cancelled { seq, order_id, account, remaining, reason });
        }
    }

    pub(crate) fn cancel_all(&mut self, account: AccountId, out: &mut Vec<Event>) {
        self.cancel_account_orders(account, CancelReason::CancelAll, out);
    }

    /// Cancels every live order of an account: resting in priority order, then untriggered.
    pub(crate) fn cancel_account_orders(&mut self, account: AccountId, reason: CancelReason, out: &mut Vec<Event>) {
        let slots: Vec<u32> = self
            .book
            .all_slots_in_priority()
            .into_iter()
            .filter(|&s| self.book.nodes[s as usize].account == account)
            .collect();
        for slot in slots {
            self.remove_resting(slot, reason, out);
        }
        for id in self.stops.ids_of_account(account) {
            self.cancel_stop(id, reason, out);
        }
    }

    pub(crate) fn amend(
        &mut self,
        order_id: OrderId,
        account: AccountId,
        price: Option<Price>,
        qty: Option<Qty>,
        out: &mut Vec<Event>,
    ) {
        let Some(slot) = self.book.get(order_id).filter(|&s| self.book.nodes[s as usize].account == account) else {
            let reason = if self.stops.get(order_id).is_some_and(|s| s.order.account == account) {
                RejectReason::AmendNotAllowed
            } else {
                RejectReason::OrderNotFound
            };
            return self.reject(out, order_id, account, reason);
        };
        let node = self.book.nodes[slot as usize];
        let new_price = price.unwrap_or(node.price);
        let new_qty = qty.unwrap_or(node.qty);
        if new_price <= 0 || new_price > MAX_TICKS {
            return self.reject(out, order_id, account, RejectReason::InvalidPrice);
        }
        if new_qty <= 0 || new_qty > MAX_LOTS {
            return self.reject(out, order_id, account, RejectReason::InvalidQuantity);
        }
        if new_price == node.price && new_qty <= node.qty {
            self.book.reduce(slot, node.qty - new_qty);
            self.touch(node.side, node.price, node.level);
            let priority_kept = true;
            return self.emit(out, |seq| Event::Amended {
                seq,
                order_id,
                account,
                price: new_price,
                qty: new_qty,
                priority_kept,
            });
        }
        if node.has(FLAG_POST_ONLY) && self.crosses(node.side, new_price) {
            return self.reject(out, order_id, account, RejectReason::PostOnlyWouldTake);
        }
        // The index entry stays: re-resting overwrites it, otherwise it is removed below.
        self.book.unlink(slot);
        self.touch(node.side, node.price, node.level);
        if node.expire_at != 0 {
            self.gtd.remove(&(node.expire_at, node.arrival, order_id));
        }
        self.arrival += 1;
        if node.expire_at != 0 {
            self.gtd.insert((node.expire_at, self.arrival, order_id));
        }
        if node.has(FLAG_REDUCE_ONLY) {
            // Arrival order is the reduce-only list order: the amended order moves to the back.
            if let Some(list) = self.reduce_only.get_mut(&account) {
                list.retain(|&x| x != order_id);
            }
        }
        self.emit(out, |seq| Event::Amended {
            seq,
            order_id,
            account,
            price: new_price,
            qty: new_qty,
            priority_kept: false,
        });
        let incoming = Incoming {
            id: order_id,
            account,
            side: node.side,
            order_type: OrderType::Limit,
            tif: node.tif,
            price: Some(new_price),
            qty: new_qty,
            filled: node.filled,
            expire_at: node.expire_at,
            stp: node.stp,
            flags: node.flags,
            arrival: self.arrival,
        };
        if !self.execute(incoming, out) {
            self.book.index.remove(&order_id);
        }
    }

    pub(crate) fn advance_time(&mut self, now: u64, out: &mut Vec<Event>) {
        if now <= self.now {
            return;
        }
        self.now = now;
        while let Some(&(expire_at, arrival, id)) = self.gtd.first() {
            if expire_at > now {
                break;
            }
            self.gtd.remove(&(expire_at, arrival, id));
            if let Some(slot) = self.book.get(id) {
                let node = self.book.remove(slot);
                self.touch(node.side, node.price, node.level);
                self.finish(id, node.account, node.flags, 0, arrival);
                let (account, remaining) = (node.account, node.qty);
                self.emit(out, |seq| Event::Expired { seq, order_id: id, account, remaining });
            } else if let Some(stop) = self.stops.remove(id) {
                let o = stop.order;
                let flags = if o.client_order_id.is_some() { FLAG_CLIENT_ID } else { 0 };
                self.finish(id, o.account, flags, 0, arrival);
                let (account, remaining) = (o.account, o.qty);
                self.emit(out, |seq| Event::Expired { seq, order_id: id, account, remaining });
            }
        }
    }

    pub(crate) fn set_mark_price(&mut self, price: Price, out: &mut Vec<Event>) {
        if price <= 0 || price > MAX_TICKS {
            return self.reject(out, 0, 0, RejectReason::InvalidPrice);
        }
        self.mark_price = Some(price);
        self.pending_mark = Some(price);
    }

    // ----- triggers, reduce-only upkeep, market data -----------------------------------------

    /// Releases conditional orders whose trigger was reached, in arrival order, until quiet:
    /// a released order may trade and trigger more.
    pub(crate) fn run_triggers(&mut self, out: &mut Vec<Event>) {
        loop {
            let range = self.trade_range.take();
            let mark = self.pending_mark.take();
            if self.stops.is_empty() {
                return;
            }
            let fired = self.stops.take_triggered(range, mark);
            if fired.is_empty() {
                return;
            }
            for stop in fired {
                let o = stop.order;
                let (order_id, account) = (o.order_id, o.account);
                let trigger_price = o.trigger_price.unwrap_or(0);
                self.emit(out, |seq| Event::Triggered { seq, order_id, account, trigger_price });
                let mut flags = 0;
                if o.reduce_only {
                    flags |= FLAG_REDUCE_ONLY;
                }
                if o.client_order_id.is_some() {
                    flags |= FLAG_CLIENT_ID;
                }
                // Entering the book now: a fresh arrival puts it behind every resting order.
                self.arrival += 1;
                let expire_at = o.expire_at.unwrap_or(0);
                if expire_at != 0 {
                    self.gtd.remove(&(expire_at, stop.arrival, order_id));
                    self.gtd.insert((expire_at, self.arrival, order_id));
                }
                let incoming = Incoming {
                    id: order_id,
                    account,
                    side: o.side,
                    order_type: o.order_type.triggered_type(),
                    tif: o.time_in_force,
                    price: o.price,
                    qty: o.qty,
                    filled: 0,
                    expire_at,
                    stp: o.stp,
                    flags,
                    arrival: self.arrival,
                };
                self.execute(incoming, out);
            }
        }
    }

    /// Keeps resting reduce-only orders within the position: orders on the increasing side or
    /// against a flat position are cancelled; beyond the position size, the newest shrink first.
    pub(crate) fn enforce_reduce_only(&mut self, out: &mut Vec<Event>) {
        if self.ro_accounts.is_empty() {
            return;
        }
        let mut accounts = std::mem::take(&mut self.ro_accounts);
        accounts.sort_unstable();
        for &account in &accounts {
            let ids = match self.reduce_only.get(&account) {
                Some(list) => list.clone(),
                None => continue,
            };
            // One budget per account: the position size, spent oldest order first.
            let mut budget: Option<Qty> = None;
            for id in ids {
                let Some(slot) = self.book.get(id) else {
                    continue;
                };
                let (side, qty, price, level) = {
                    let n = &self.book.nodes[slot as usize];
                    (n.side, n.qty, n.price, n.level)
                };
                let allowed = self.reducible(account, side);
                if allowed == 0 {
                    self.remove_resting(slot, CancelReason::ReduceOnly, out);
                    continue;
                }
                let left = budget.get_or_insert(allowed);
                let keep = qty.min(*left);
                *left -= keep;
                if keep == 0 {
                    self.remove_resting(slot, CancelReason::ReduceOnly, out);
                } else if keep < qty {
                    self.book.reduce(slot, qty - keep);
                    self.touch(side, price, level);
                    self.emit(out, |seq| Event::Amended {
                        seq,
                        order_id: id,
                        account,
                        price,
                        qty: keep,
                        priority_kept: true,
                    });
                }
            }
        }
        accounts.clear();
        self.ro_accounts = accounts;
    }

    /// One `BookDelta` per price level the command touched, in first-touch order.
    pub(crate) fn flush_book_deltas(&mut self, out: &mut Vec<Event>) {
        if self.touched.is_empty() {
            return;
        }
        let touched = std::mem::take(&mut self.touched);
        for &(side, price, level) in &touched {
            // The level the command saw is usually still there; only a level that emptied (its slot
            // free, or reused for another price) needs a search.
            let seen = &self.book.levels[level as usize];
            let live = if seen.count > 0 && seen.price == price && seen.side == side {
                Some(seen)
            } else {
                self.book.level_at(side, price).map(|l| &self.book.levels[l as usize])
            };
            let (qty, orders) = live.map_or((0, 0), |l| (l.qty, l.count));
            self.emit(out, |seq| Event::BookDelta { seq, side, price, qty, orders });
        }
        self.touched = touched;
        self.touched.clear();
    }
}
