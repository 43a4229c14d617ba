//! One adapter per engine: each turns the neutral [`Op`] stream into the engine's own commands.

pub mod matchcore;
pub mod orderbook_rs;
pub mod ordex;

use crate::workload::Op;

/// One fill as `(taker order id, maker order id, price in ticks, quantity in lots)`.
pub type TradeRecord = (u64, u64, i64, i64);

pub trait EngineAdapter {
    /// Applies one message. Rejections (an order already gone, say) are part of the workload and
    /// are not errors.
    fn apply(&mut self, op: &Op);

    /// Fills seen since construction, in the order they happened; empty unless the adapter was
    /// built to record them (recording is left out of the timed passes).
    fn trades(&self) -> Vec<TradeRecord>;
}

/// The engines in the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    Ordex,
    Matchcore,
    OrderbookRs,
}

impl EngineKind {
    pub const ALL: [EngineKind; 3] = [EngineKind::Ordex, EngineKind::Matchcore, EngineKind::OrderbookRs];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Ordex => "ordex-engine",
            EngineKind::Matchcore => "matchcore 0.4",
            EngineKind::OrderbookRs => "orderbook-rs 0.15",
        }
    }
}
