//! ordex-engine, driven through its public `Engine::process` API as production does.

use super::{EngineAdapter, TradeRecord};
use crate::workload::{Op, Side};
use ordex_engine::{Command, Engine, Event, MarketConfig, MarketKind, NewOrder, StpMode, TimeInForce};

pub struct OrdexAdapter {
    engine: Engine,
    events: Vec<Event>,
    record: bool,
    trades: Vec<TradeRecord>,
}

impl OrdexAdapter {
    /// A spot market with 1 quote atom per tick-lot, so that notional and fee arithmetic run as in
    /// production. Spot keeps position upkeep out, which none of the peers has either.
    pub fn new(record: bool) -> Self {
        let cfg = MarketConfig::builder("BENCH-USDC", MarketKind::Spot, "BENCH", "USDC");
        OrdexAdapter {
            engine: Engine::new(cfg).expect("valid market"),
            events: Vec::with_capacity(64),
            record,
            trades: Vec::new(),
        }
    }

    fn command(op: &Op) -> Command {
        match *op {
            Op::New { id, account, side, price, qty, ioc } => {
                let side = match side {
                    Side::Buy => ordex_engine::Side::Buy,
                    Side::Sell => ordex_engine::Side::Sell,
                };
                let tif = if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc };
                let mut order = NewOrder::limit(id, account, side, price, qty).with_tif(tif);
                // The peers have no self-trade prevention: accounts trade with themselves everywhere.
                order.stp = StpMode::None;
                Command::Place(order)
            }
            Op::Cancel { id, account } => Command::Cancel { order_id: id, account },
            Op::Modify { id, account, new_price, new_qty, .. } => {
                Command::Amend { order_id: id, account, price: Some(new_price), qty: Some(new_qty) }
            }
        }
    }
}

impl EngineAdapter for OrdexAdapter {
    #[inline]
    fn apply(&mut self, op: &Op) {
        let cmd = Self::command(op);
        self.events.clear();
        self.engine.process(&cmd, &mut self.events);
        if self.record {
            for e in &self.events {
                if let Event::Trade { taker_order_id, maker_order_id, price, qty, .. } = *e {
                    self.trades.push((taker_order_id, maker_order_id, price, qty));
                }
            }
        }
    }

    fn trades(&self) -> Vec<TradeRecord> {
        self.trades.clone()
    }
}
