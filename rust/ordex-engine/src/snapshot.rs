//! Snapshots: the whole engine state as deterministic bytes, and back.
//!
//! The snapshot lists orders in book priority (bids best to worst, then asks, FIFO within a level)
//! and everything else sorted, so equal states give equal bytes whatever the slab layout or hash
//! map history. The state hash is BLAKE3 of those bytes.

use crate::book::{Node, FLAG_CLIENT_ID, FLAG_REDUCE_ONLY, NIL};
use crate::config::MarketConfig;
use crate::engine::Engine;
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Format 2 appends [`Extension`] to the format 1 bytes; format 1 snapshots still restore.
const FORMAT: u32 = 2;
const FORMAT_1: u32 = 1;

#[derive(Serialize, Deserialize)]
struct RestingOrder {
    id: OrderId,
    account: AccountId,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    stp: StpMode,
    price: Price,
    qty: Qty,
    filled: Qty,
    arrival: u64,
    expire_at: u64,
    flags: u8,
    client_order_id: Option<ClientOrderId>,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    format: u32,
    config: MarketConfig,
    seq: Seq,
    arrival: u64,
    now: u64,
    last_price: Option<Price>,
    mark_price: Option<Price>,
    resting: Vec<RestingOrder>,
    untriggered: Vec<(NewOrder, u64)>,
    positions: Vec<(AccountId, Total)>,
}

/// State added after format 1, written after the format 1 fields.
#[derive(Serialize, Deserialize, Default)]
struct Extension {
    last_funding: Option<u64>,
}

/// Why bytes could not be restored into an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError(pub String);

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid snapshot: {}", self.0)
    }
}

impl std::error::Error for SnapshotError {}

impl Engine {
    /// The engine state as bytes; [`Engine::restore`] turns them back into an equal engine.
    pub fn snapshot(&self) -> Vec<u8> {
        let resting = self
            .book
            .all_slots_in_priority()
            .into_iter()
            .map(|s| {
                let n = &self.book.nodes[s as usize];
                RestingOrder {
                    id: n.id,
                    account: n.account,
                    side: n.side,
                    order_type: n.order_type,
                    tif: n.tif,
                    stp: n.stp,
                    price: n.price,
                    qty: n.qty,
                    filled: n.filled,
                    arrival: n.arrival,
                    expire_at: n.expire_at,
                    flags: n.flags,
                    client_order_id: self.client_id_of.get(&n.id).copied(),
                }
            })
            .collect();
        let untriggered = self.stops.by_arrival().into_iter().map(|e| (e.order, e.arrival)).collect();
        let mut positions: Vec<(AccountId, Total)> = self.positions.iter().map(|(&a, &q)| (a, q)).collect();
        positions.sort_unstable();
        let snap = Snapshot {
            format: FORMAT,
            config: self.cfg.clone(),
            seq: self.seq,
            arrival: self.arrival,
            now: self.now,
            last_price: self.last_price,
            mark_price: self.mark_price,
            resting,
            untriggered,
            positions,
        };
        // Serializing plain owned data into a Vec cannot fail.
        let mut bytes = postcard::to_stdvec(&snap).unwrap_or_default();
        let ext = Extension { last_funding: self.last_funding };
        bytes.extend(postcard::to_stdvec(&ext).unwrap_or_default());
        bytes
    }

    /// Rebuilds an engine from [`Engine::snapshot`] bytes.
    pub fn restore(bytes: &[u8]) -> Result<Engine, SnapshotError> {
        let (snap, rest): (Snapshot, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(|e| SnapshotError(e.to_string()))?;
        let ext: Extension = match snap.format {
            FORMAT_1 => Extension::default(),
            FORMAT => postcard::from_bytes(rest).map_err(|e| SnapshotError(e.to_string()))?,
            other => return Err(SnapshotError(format!("unsupported format {other}"))),
        };
        let mut engine = Engine::new(snap.config).map_err(|e| SnapshotError(e.0))?;
        engine.seq = snap.seq;
        engine.arrival = snap.arrival;
        engine.now = snap.now;
        engine.last_price = snap.last_price;
        engine.mark_price = snap.mark_price;
        engine.last_funding = ext.last_funding;
        let mut reduce_only: Vec<(u64, AccountId, OrderId)> = Vec::new();
        for r in snap.resting {
            if engine.book.get(r.id).is_some() || r.qty <= 0 {
                return Err(SnapshotError(format!("order {} is duplicated or empty", r.id)));
            }
            if let Some(cid) = r.client_order_id {
                engine.client_ids.insert((r.account, cid), r.id);
                engine.client_id_of.insert(r.id, cid);
            }
            if r.expire_at != 0 {
                engine.gtd.insert((r.expire_at, r.arrival, r.id));
            }
            if r.flags & FLAG_REDUCE_ONLY != 0 {
                reduce_only.push((r.arrival, r.account, r.id));
            }
            let flags = if r.client_order_id.is_some() { r.flags | FLAG_CLIENT_ID } else { r.flags };
            engine.book.insert(Node {
                id: r.id,
                account: r.account,
                price: r.price,
                qty: r.qty,
                filled: r.filled,
                arrival: r.arrival,
                expire_at: r.expire_at,
                prev: NIL,
                next: NIL,
                level: NIL,
                side: r.side,
                order_type: r.order_type,
                tif: r.tif,
                stp: r.stp,
                flags,
            });
        }
        reduce_only.sort_unstable();
        for (_, account, id) in reduce_only {
            engine.reduce_only.entry(account).or_default().push(id);
        }
        for (order, arrival) in snap.untriggered {
            if let Some(cid) = order.client_order_id {
                engine.client_ids.insert((order.account, cid), order.order_id);
                engine.client_id_of.insert(order.order_id, cid);
            }
            if let Some(t) = order.expire_at {
                engine.gtd.insert((t, arrival, order.order_id));
            }
            engine.stops.insert(order, arrival);
        }
        for (account, qty) in snap.positions {
            if qty != 0 {
                engine.positions.insert(account, qty);
            }
        }
        Ok(engine)
    }

    /// BLAKE3 of the snapshot bytes: equal for equal states.
    pub fn state_hash(&self) -> [u8; 32] {
        *blake3::hash(&self.snapshot()).as_bytes()
    }

    /// [`Engine::state_hash`] as lowercase hex.
    pub fn state_hash_hex(&self) -> String {
        blake3::hash(&self.snapshot()).to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Rate;
    use crate::decimal::Unit;

    fn perp() -> Engine {
        let mut cfg = MarketConfig::builder("TEST-PERP", MarketKind::Perp, "TEST", "USD");
        cfg.tick_size = Unit::new(1, 0);
        cfg.lot_size = Unit::new(1, 0);
        Engine::new(cfg).unwrap()
    }

    fn run(e: &mut Engine, cmds: &[Command]) {
        let mut out = Vec::new();
        e.process_batch(cmds, &mut out);
    }

    /// The bytes a format 1 engine wrote for this state: the same fields, no extension.
    fn format_1_bytes(e: &Engine) -> Vec<u8> {
        let bytes = e.snapshot();
        let (mut snap, rest): (Snapshot, &[u8]) = postcard::take_from_bytes(&bytes).unwrap();
        assert_eq!(rest, [0], "the extension of an engine without funding is one `None`");
        snap.format = FORMAT_1;
        postcard::to_stdvec(&snap).unwrap()
    }

    #[test]
    fn format_1_snapshots_restore_without_a_funding_interval() {
        let mut e = perp();
        run(
            &mut e,
            &[
                Command::Place(NewOrder::limit(1, 7, Side::Sell, 100, 5)),
                Command::Place(NewOrder::limit(2, 8, Side::Buy, 100, 2)),
                Command::Place(NewOrder::limit(3, 8, Side::Buy, 90, 1)),
            ],
        );
        let old = format_1_bytes(&e);
        assert_eq!(old[0], 1);
        let mut restored = Engine::restore(&old).unwrap();
        assert_eq!(restored.last_funding_interval(), None);
        // Restored from format 1, written as format 2: the same state as the engine it came from.
        assert_eq!(restored.snapshot(), e.snapshot());
        assert_eq!((restored.position(7), restored.position(8)), (-2, 2));
        let mut out = Vec::new();
        restored.process(&Command::Funding { interval: 1, rate: Rate(10_000), mark: 100 }, &mut out);
        assert!(matches!(&out[..], [Event::Funding { payments, .. }] if payments.len() == 2));
    }

    #[test]
    fn truncated_or_unknown_snapshots_are_errors() {
        let mut e = perp();
        run(&mut e, &[Command::Funding { interval: 9, rate: Rate(0), mark: 1 }]);
        let bytes = e.snapshot();
        assert_eq!(Engine::restore(&bytes).unwrap().last_funding_interval(), Some(9));
        assert!(Engine::restore(&bytes[..bytes.len() - 1]).is_err());
        let mut unknown = bytes.clone();
        unknown[0] = 3;
        assert_eq!(Engine::restore(&unknown).unwrap_err(), SnapshotError("unsupported format 3".into()));
        assert!(Engine::restore(&[]).is_err());
    }
}
