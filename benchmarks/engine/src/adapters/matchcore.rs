//! matchcore 0.4 (single-threaded `OrderBook::execute`).
//!
//! How the neutral stream maps onto it:
//! - matchcore numbers orders itself: an order's id is the sequence number of the command that
//!   submitted it, and sequence numbers must run 0, 1, 2, ... without gaps. The stream's ids are
//!   the 1-based message positions, so one rejected command at sequence 0 (built in `new`, not
//!   timed) lines them up and no id translation happens on the hot path.
//! - `New` is a standard-quantity limit order, GTC or IOC, never post-only.
//! - `Cancel` is a limit-order cancel; the account is not needed (matchcore has no accounts, hence
//!   no self-trade prevention, the same as ordex with `StpMode::None`).
//! - `Modify` is an amend with a price and a standard quantity policy (the new open quantity). Its
//!   rules are ordex's: same price and no larger keeps priority, anything else re-enters at the back
//!   and may trade.
//! - matchcore 0.4 fills a crossing limit order (new or amended) past its limit price while
//!   liquidity lasts. The generators never send a crossing order larger than what rests inside its
//!   limit (see `ReferenceBook::cap_crossing_qty`), so that difference never shows.
//! - The timestamp is constant: nothing in the stream expires.

use super::{EngineAdapter, TradeRecord};
use crate::workload::{Op, Side};
use matchcore::{
    AmendCmd, AmendPatch, CancelCmd, Command, CommandKind, CommandMeta, CommandOutcome, CommandReport, LimitOrder,
    LimitOrderPatch, NewOrder, OrderBook, OrderFlags, OrderId, OrderKind, Price, Quantity, QuantityPolicy,
    SequenceNumber, SubmitCmd, TimeInForce, Timestamp,
};

pub struct MatchcoreAdapter {
    book: OrderBook,
    next_seq: u64,
    record: bool,
    trades: Vec<TradeRecord>,
}

impl MatchcoreAdapter {
    pub fn new(record: bool) -> Self {
        let mut adapter =
            MatchcoreAdapter { book: OrderBook::new("BENCH-USDC"), next_seq: 0, record, trades: Vec::new() };
        // Sequence 0: a cancel of an order that does not exist, so that the first `New` gets id 1.
        adapter.execute(CommandKind::Cancel(CancelCmd { order_id: OrderId(0), order_kind: OrderKind::Limit }));
        adapter
    }

    #[inline]
    fn execute(&mut self, kind: CommandKind) -> CommandOutcome {
        let meta = CommandMeta { sequence_number: SequenceNumber(self.next_seq), timestamp: Timestamp(0) };
        self.next_seq += 1;
        self.book.execute(&Command { meta, kind })
    }
}

fn quantity(qty: i64) -> QuantityPolicy {
    QuantityPolicy::Standard { quantity: Quantity(qty as u64) }
}

impl EngineAdapter for MatchcoreAdapter {
    #[inline]
    fn apply(&mut self, op: &Op) {
        let (kind, taker) = match *op {
            Op::New { id, side, price, qty, ioc, .. } => {
                debug_assert_eq!(id, self.next_seq, "stream ids are message positions");
                let side = match side {
                    Side::Buy => matchcore::Side::Buy,
                    Side::Sell => matchcore::Side::Sell,
                };
                let tif = if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc };
                let order = LimitOrder::new(Price(price as u64), quantity(qty), OrderFlags::new(side, false, tif));
                (CommandKind::Submit(SubmitCmd { order: NewOrder::Limit(order) }), id)
            }
            Op::Cancel { id, .. } => {
                (CommandKind::Cancel(CancelCmd { order_id: OrderId(id), order_kind: OrderKind::Limit }), id)
            }
            Op::Modify { id, new_price, new_qty, .. } => {
                let patch =
                    LimitOrderPatch::new().with_price(Price(new_price as u64)).with_quantity_policy(quantity(new_qty));
                (CommandKind::Amend(AmendCmd { order_id: OrderId(id), patch: AmendPatch::Limit(patch) }), id)
            }
        };
        let outcome = self.execute(kind);
        if !self.record {
            return;
        }
        if let CommandOutcome::Applied(CommandReport::Submit(effects) | CommandReport::Amend(effects)) = &outcome {
            if let Some(result) = effects.target_order().match_result() {
                for t in result.trades() {
                    self.trades.push((taker, t.maker_order_id().0, t.price().0 as i64, t.quantity().0 as i64));
                }
            }
        }
    }

    fn trades(&self) -> Vec<TradeRecord> {
        self.trades.clone()
    }
}
