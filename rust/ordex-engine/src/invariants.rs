//! Structural self-check used by property tests and debug tooling.

use crate::book::NIL;
use crate::engine::Engine;
use crate::types::Side;

impl Engine {
    /// Verifies the book's structure: levels strictly sorted with the best last, the book not
    /// crossed, level totals and counts equal to their orders, FIFO (arrival) order within every
    /// level, and the id index pointing at every resting order exactly once.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> Result<(), String> {
        if let (Some(b), Some(a)) = (self.book.best(Side::Buy), self.book.best(Side::Sell)) {
            if b.price >= a.price {
                return Err(format!("crossed book: bid {} >= ask {}", b.price, a.price));
            }
        }
        let mut seen = 0usize;
        for side in [Side::Buy, Side::Sell] {
            let order = &self.book.side(side).order;
            for w in order.windows(2) {
                let ordered = match side {
                    Side::Buy => w[0].0 < w[1].0,
                    Side::Sell => w[0].0 > w[1].0,
                };
                if !ordered {
                    return Err(format!("{side} levels out of order at {}", w[1].0));
                }
            }
            for &(price, level_slot) in order {
                let level = &self.book.levels[level_slot as usize];
                if level.price != price || level.side != side {
                    return Err(format!("{side} level slot {level_slot} is not the level at {price}"));
                }
                let (mut qty, mut count, mut last_arrival) = (0i128, 0u32, 0u64);
                let mut slot = level.head;
                let mut prev = NIL;
                while slot != NIL {
                    let n = &self.book.nodes[slot as usize];
                    if n.prev != prev || n.price != level.price || n.side != side || n.qty <= 0 || n.level != level_slot
                    {
                        return Err(format!("bad link or order {} at level {}", n.id, level.price));
                    }
                    if n.arrival <= last_arrival {
                        return Err(format!("FIFO broken at level {} (order {})", level.price, n.id));
                    }
                    if self.book.index.get(&n.id) != Some(&slot) {
                        return Err(format!("index does not point at order {}", n.id));
                    }
                    last_arrival = n.arrival;
                    qty += i128::from(n.qty);
                    count += 1;
                    prev = slot;
                    slot = n.next;
                }
                if level.tail != prev || qty != level.qty || count != level.count || count == 0 {
                    return Err(format!("level {} totals do not match its orders", level.price));
                }
                seen += count as usize;
            }
        }
        if seen != self.book.index.len() {
            return Err(format!("index has {} orders, levels {}", self.book.index.len(), seen));
        }
        Ok(())
    }
}
