//! orderbook-rs 0.15 (`OrderBook<()>`, a concurrent book driven here from one thread).
//!
//! How the neutral stream maps onto it:
//! - Ids are `Id::Sequential(stream id)`; prices and quantities are its unsigned ticks and lots.
//! - `New` is `add_limit_order` with GTC or IOC; no user id, so no self-trade prevention (the
//!   book's default, the same as ordex with `StpMode::None`).
//! - `Cancel` is `cancel_order`.
//! - `Modify` depends on what changes, because orderbook-rs has two operations where ordex has one
//!   amend: a modify that keeps its price is `UpdateQuantity` (a decrease keeps queue priority, an
//!   increase goes to the back, as in ordex); one with a new price is `UpdatePriceAndQuantity`,
//!   which cancels and re-adds the order at the back, where it may trade, as ordex's amend does.
//! - Fills are read from the trade listener, installed only for the recorded (untimed) pass.

use super::{EngineAdapter, TradeRecord};
use crate::workload::{Op, Side};
use orderbook_rs::{Id, OrderBook, TimeInForce};
use pricelevel::{OrderUpdate, Price, Quantity};
use std::sync::{Arc, Mutex};

pub struct OrderbookRsAdapter {
    book: OrderBook<()>,
    trades: Arc<Mutex<Vec<TradeRecord>>>,
}

impl OrderbookRsAdapter {
    pub fn new(record: bool) -> Self {
        let mut book = OrderBook::<()>::new("BENCH-USDC");
        let trades: Arc<Mutex<Vec<TradeRecord>>> = Arc::default();
        if record {
            let sink = Arc::clone(&trades);
            book.set_trade_listener(Arc::new(move |result: &orderbook_rs::TradeResult| {
                let mut sink = sink.lock().expect("trade sink");
                for t in result.match_result.trades().as_vec() {
                    sink.push((
                        id_of(t.taker_order_id()),
                        id_of(t.maker_order_id()),
                        t.price().as_u128() as i64,
                        t.quantity().as_u64() as i64,
                    ));
                }
            }));
        }
        OrderbookRsAdapter { book, trades }
    }
}

fn id_of(id: Id) -> u64 {
    id.as_u64().unwrap_or(u64::MAX)
}

impl EngineAdapter for OrderbookRsAdapter {
    #[inline]
    fn apply(&mut self, op: &Op) {
        // Results are ignored on purpose: a rejected message (an order already filled) is part of the stream.
        match *op {
            Op::New { id, side, price, qty, ioc, .. } => {
                let side = match side {
                    Side::Buy => orderbook_rs::Side::Buy,
                    Side::Sell => orderbook_rs::Side::Sell,
                };
                let tif = if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc };
                let _ = self.book.add_limit_order(Id::Sequential(id), price as u128, qty as u64, side, tif, None);
            }
            Op::Cancel { id, .. } => {
                let _ = self.book.cancel_order(Id::Sequential(id));
            }
            Op::Modify { id, new_price, new_qty, price_changed, .. } => {
                let (order_id, new_quantity) = (Id::Sequential(id), Quantity::new(new_qty as u64));
                let update = if price_changed {
                    OrderUpdate::UpdatePriceAndQuantity {
                        order_id,
                        new_price: Price::new(new_price as u128),
                        new_quantity,
                    }
                } else {
                    OrderUpdate::UpdateQuantity { order_id, new_quantity }
                };
                let _ = self.book.update_order(update);
            }
        }
    }

    fn trades(&self) -> Vec<TradeRecord> {
        self.trades.lock().expect("trade sink").clone()
    }
}
