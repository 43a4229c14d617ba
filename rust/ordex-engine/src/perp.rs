//! Perpetual-only commands: liquidation, auto-deleveraging and funding settlement.
//!
//! The engine only moves positions and reports payments; the risk decisions (who is under
//! maintenance margin, the bankruptcy price, the funding rate) are made by the caller, and the
//! money is booked by whoever consumes the events.

use crate::book::FLAG_REDUCE_ONLY;
use crate::config::Rate;
use crate::engine::{Engine, Incoming};
use crate::margin;
use crate::types::*;

impl Engine {
    fn is_perp(&self) -> bool {
        self.cfg.kind == MarketKind::Perp
    }

    pub(crate) fn command_rejected(&mut self, reason: RejectReason, out: &mut Vec<Event>) {
        self.emit(out, |seq| Event::CommandRejected { seq, reason });
    }

    pub(crate) fn liquidate(
        &mut self,
        order_id: OrderId,
        account: AccountId,
        side: Side,
        qty: Qty,
        price: Price,
        out: &mut Vec<Event>,
    ) {
        use RejectReason::*;
        let check = if !self.is_perp() {
            Err(PerpOnly)
        } else if qty <= 0 || qty > MAX_LOTS {
            Err(InvalidQuantity)
        } else if price <= 0 || price > MAX_TICKS {
            Err(InvalidPrice)
        } else if self.book.get(order_id).is_some() || (!self.stops.is_empty() && self.stops.contains(order_id)) {
            Err(DuplicateOrderId)
        } else if self.reducible(account, side) == 0 {
            Err(NoPosition)
        } else {
            Ok(())
        };
        if let Err(reason) = check {
            return self.reject(out, order_id, account, reason);
        }
        // Nothing of the account may trade against (or add to) the position being closed.
        self.cancel_account_orders(account, CancelReason::Liquidation, out);
        let qty = qty.min(self.reducible(account, side));
        self.emit(out, |seq| Event::Liquidation { seq, order_id, account, side, qty, price });
        self.arrival += 1;
        let incoming = Incoming {
            id: order_id,
            account,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Ioc,
            price: Some(price),
            qty,
            filled: 0,
            expire_at: 0,
            stp: StpMode::None,
            flags: FLAG_REDUCE_ONLY,
            arrival: self.arrival,
        };
        self.execute(incoming, out);
    }

    pub(crate) fn deleverage(
        &mut self,
        account: AccountId,
        counterparty: AccountId,
        side: Side,
        qty: Qty,
        price: Price,
        out: &mut Vec<Event>,
    ) {
        use RejectReason::*;
        let reason = if !self.is_perp() {
            Some(PerpOnly)
        } else if account == counterparty {
            Some(InvalidCounterparty)
        } else if qty <= 0 || qty > MAX_LOTS {
            Some(InvalidQuantity)
        } else if price <= 0 || price > MAX_TICKS {
            Some(InvalidPrice)
        } else {
            None
        };
        if let Some(reason) = reason {
            return self.command_rejected(reason, out);
        }
        let qty = qty.min(self.reducible(account, side)).min(self.reducible(counterparty, side.opposite()));
        if qty == 0 {
            return self.command_rejected(NoPosition, out);
        }
        let delta = Total::from(side.sign()) * Total::from(qty);
        self.add_position(account, delta);
        self.add_position(counterparty, -delta);
        self.emit(out, |seq| Event::Adl { seq, account, counterparty, side, qty, price });
    }

    pub(crate) fn funding(&mut self, interval: u64, rate: Rate, mark: Price, out: &mut Vec<Event>) {
        if !self.is_perp() {
            return self.command_rejected(RejectReason::PerpOnly, out);
        }
        if mark <= 0 || mark > MAX_TICKS {
            return self.command_rejected(RejectReason::InvalidPrice, out);
        }
        if self.last_funding.is_some_and(|last| interval <= last) {
            // Settled already: a repeated or republished command pays nothing twice.
            return;
        }
        self.last_funding = Some(interval);
        let cap = self.cfg.funding_rate_cap.0;
        let rate = Rate(rate.0.clamp(-cap, cap));
        let mut payments: Vec<(AccountId, i128)> = self
            .positions
            .iter()
            .map(|(&account, &size)| {
                // One order never exceeds MAX_LOTS; a larger position is beyond any real market
                // and is charged as MAX_LOTS (the house remainder keeps the sum at zero).
                let lots = size.clamp(-Total::from(MAX_LOTS), Total::from(MAX_LOTS)) as Qty;
                (account, margin::funding_payment(&self.cfg, lots, mark, rate))
            })
            .collect();
        payments.sort_unstable();
        // Saturating: only positions far beyond any real market could reach the i128 range.
        let paid = payments.iter().fold(0i128, |sum, &(_, p)| sum.saturating_add(p));
        let house = paid.saturating_neg();
        self.emit(out, |seq| Event::Funding { seq, interval, rate, mark, payments, house });
    }

    /// The last settled funding interval (unix ms), if any.
    pub fn last_funding_interval(&self) -> Option<u64> {
        self.last_funding
    }
}
