//! Deterministic message streams, neutral to every engine under test.
//!
//! Order ids are the 1-based position of the `New` message in the stream: matchcore numbers its
//! orders by command sequence and the other engines take any id, so every engine can use the
//! stream's ids as they are. A modify keeps its order's id.

use crate::reference_book::ReferenceBook;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Op {
    New {
        id: u64,
        account: u64,
        side: Side,
        price: i64,
        qty: i64,
        ioc: bool,
    },
    Cancel {
        id: u64,
        account: u64,
    },
    /// New price and new open quantity. `price_changed` is what the sender knows about its own
    /// order; orderbook-rs needs it to choose between a resize and a move.
    Modify {
        id: u64,
        account: u64,
        new_price: i64,
        new_qty: i64,
        price_changed: bool,
    },
}

/// A named stream and the counts of what is in it.
pub struct Workload {
    pub name: &'static str,
    pub ops: Vec<Op>,
    pub news: usize,
    pub iocs: usize,
    pub cancels: usize,
    pub modifies: usize,
    /// Resting orders in the reference book, averaged over the messages of the stream.
    pub resting_mean: f64,
    resting_sum: u64,
}

impl Workload {
    fn new(name: &'static str) -> Self {
        Workload { name, ops: Vec::new(), news: 0, iocs: 0, cancels: 0, modifies: 0, resting_mean: 0.0, resting_sum: 0 }
    }

    /// Appends a message; `resting` is the reference book's size once it is applied.
    fn push(&mut self, op: Op, resting: usize) {
        self.resting_sum += resting as u64;
        self.resting_mean = self.resting_sum as f64 / (self.ops.len() + 1) as f64;
        match op {
            Op::New { ioc, .. } => {
                self.news += 1;
                self.iocs += usize::from(ioc);
            }
            Op::Cancel { .. } => self.cancels += 1,
            Op::Modify { .. } => self.modifies += 1,
        }
        self.ops.push(op);
    }

    fn next_id(&self) -> u64 {
        self.ops.len() as u64 + 1
    }

    pub fn mix(&self) -> String {
        let pct = |n: usize| 100.0 * n as f64 / self.ops.len().max(1) as f64;
        format!(
            "{} msgs: new {:.1}% (IOC {:.1}% of all), cancel {:.1}%, modify {:.1}%; {:.0} resting on average",
            self.ops.len(),
            pct(self.news - self.iocs),
            pct(self.iocs),
            pct(self.cancels),
            pct(self.modifies),
            self.resting_mean
        )
    }
}

/// xorshift64*: small, fast and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(10_000) < percent * 100
    }

    pub fn side(&mut self) -> Side {
        if self.next() & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }
}

const ACCOUNTS: u64 = 1_000;
const START_MID: i64 = 1_000_000;

/// A price `offset` ticks on the passive side of `mid` (negative: across it).
fn passive_price(side: Side, mid: i64, offset: i64) -> i64 {
    match side {
        Side::Buy => mid - offset,
        Side::Sell => mid + offset,
    }
}

/// Resting order size in lots: mostly small, sometimes large, like retail and market-maker flow.
fn order_qty(rng: &mut Rng) -> i64 {
    if rng.chance(10) {
        100 + rng.below(900) as i64
    } else {
        5 + rng.below(96) as i64
    }
}

/// Aggressive order size in lots: smaller than what rests, so most makers are hit only in part
/// and live on to be cancelled.
fn taker_qty(rng: &mut Rng) -> i64 {
    1 + rng.below(10) as i64
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Later {
    Modify,
    Cancel,
}

/// Workload (a), the shape of the public matching-engine benchmark harness: one symbol, new orders
/// around a random-walking mid, 15% of new orders IOC, about 95% of resting orders cancelled after
/// a random lifetime, about 20% of orders modified once before that.
pub fn harness_mix(messages: usize, seed: u64) -> Workload {
    let mut w = Workload::new("a: harness new/cancel/modify");
    let mut rng = Rng::new(seed);
    let mut book = ReferenceBook::default();
    let mut mid = START_MID;
    // (due message index, tie-break, kind, order id)
    let mut later: BinaryHeap<Reverse<(usize, u64, Later, u64)>> = BinaryHeap::new();
    let mut tie = 0u64;
    while w.ops.len() < messages {
        let now = w.ops.len();
        if let Some(&Reverse((due, _, kind, id))) = later.peek() {
            if due <= now {
                later.pop();
                let Some(order) = book.get(id).copied() else { continue };
                match kind {
                    Later::Cancel => {
                        book.cancel(id);
                        w.push(Op::Cancel { id, account: order.account }, book.len());
                    }
                    Later::Modify => {
                        // Reprice by up to 3 ticks either way and resize; a cross is kept inside its limit.
                        let new_price = (order.price + rng.below(7) as i64 - 3).max(1);
                        let wanted = order_qty(&mut rng);
                        let new_qty = book.cap_crossing_qty(order.side, new_price, wanted);
                        book.modify(id, new_price, new_qty);
                        let price_changed = new_price != order.price;
                        w.push(
                            Op::Modify { id, account: order.account, new_price, new_qty, price_changed },
                            book.len(),
                        );
                    }
                }
                continue;
            }
        }
        if rng.chance(12) {
            mid += if rng.next() & 1 == 0 { 1 } else { -1 };
        }
        let id = w.next_id();
        let account = 1 + rng.below(ACCOUNTS);
        let side = rng.side();
        let ioc = rng.chance(15);
        let aggressive = ioc || rng.chance(3);
        let (price, wanted) = if aggressive {
            // Marketable: up to 2 ticks through the mid.
            (passive_price(side, mid, -(rng.below(3) as i64)), taker_qty(&mut rng))
        } else {
            // Passive depth: most orders near the touch, a tail further out, never crossing.
            let price = passive_price(side, mid, 1 + (rng.below(8) * rng.below(8)) as i64);
            (book.passive_clamp(side, price), order_qty(&mut rng))
        };
        let qty = book.cap_crossing_qty(side, price, wanted);
        if qty == 0 {
            continue;
        }
        book.place(id, account, side, price, qty, ioc);
        w.push(Op::New { id, account, side, price, qty, ioc }, book.len());
        if book.get(id).is_none() {
            continue;
        }
        let lifetime = 1 + rng.below(2_000) as usize;
        if rng.chance(98) {
            tie += 1;
            later.push(Reverse((now + lifetime, tie, Later::Cancel, id)));
        }
        if rng.chance(25) {
            tie += 1;
            later.push(Reverse((now + 1 + rng.below(lifetime as u64) as usize, tie, Later::Modify, id)));
        }
    }
    w
}

/// Workload (b), exchange-core's published mix: 9% GTC, 3% IOC, 6% cancel, 82% move over about
/// 1,000 accounts, the book held near 1,000 resting orders. A move changes only the price, like
/// exchange-core's MoveOrder; it keeps the open quantity unless a cross has to be kept inside its
/// limit. The stream opens with the 1,000 resting orders (counted as GTC messages).
pub fn exchange_core_mix(messages: usize, seed: u64) -> Workload {
    const TARGET: usize = 1_000;
    let mut w = Workload::new("b: exchange-core GTC/IOC/cancel/move");
    let mut rng = Rng::new(seed);
    let mut book = ReferenceBook::default();
    let mut mid = START_MID;
    while w.ops.len() < messages {
        if rng.chance(6) {
            mid += if rng.next() & 1 == 0 { 1 } else { -1 };
        }
        let filling = w.ops.len() < TARGET;
        let roll = rng.below(100);
        let pick = book.live_at(rng.next());
        let id = w.next_id();
        // Over target, new orders and moves lean aggressive so that fills drain the surplus; under
        // it they stay further from the touch so that fewer are filled.
        let lean = match book.len() {
            n if n > TARGET => 3,
            n if n < TARGET => -8,
            _ => 0,
        };
        if filling || roll < 9 || pick.is_none() {
            let (account, side) = (1 + rng.below(ACCOUNTS), rng.side());
            let price = passive_price(side, mid, 1 + rng.below(40) as i64 - lean);
            let qty = book.cap_crossing_qty(side, price, order_qty(&mut rng));
            if qty > 0 {
                book.place(id, account, side, price, qty, false);
                w.push(Op::New { id, account, side, price, qty, ioc: false }, book.len());
            }
        } else if roll < 12 {
            let (account, side) = (1 + rng.below(ACCOUNTS), rng.side());
            let price = passive_price(side, mid, -(rng.below(4) as i64));
            let qty = book.cap_crossing_qty(side, price, taker_qty(&mut rng));
            if qty > 0 {
                book.place(id, account, side, price, qty, true);
                w.push(Op::New { id, account, side, price, qty, ioc: true }, book.len());
            }
        } else if let Some(target) = pick {
            let order = *book.get(target).expect("picked a live order");
            if roll < 18 {
                book.cancel(target);
                w.push(Op::Cancel { id: target, account: order.account }, book.len());
            } else {
                let mut new_price = passive_price(order.side, mid, rng.below(40) as i64 - lean).max(1);
                if new_price == order.price {
                    new_price += 1;
                }
                let new_qty = book.cap_crossing_qty(order.side, new_price, order.qty);
                book.modify(target, new_price, new_qty);
                w.push(
                    Op::Modify { id: target, account: order.account, new_price, new_qty, price_changed: true },
                    book.len(),
                );
            }
        }
    }
    w
}

/// `count` GTC orders that never cross: bids below and asks above a mid, 100 orders per level.
pub fn resting_only(count: usize) -> Workload {
    let mut w = Workload::new("resting orders");
    for i in 0..count as i64 {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let price = passive_price(side, START_MID, 1 + (i / 2) % 5_000);
        let id = w.next_id();
        w.push(Op::New { id, account: 1 + (i as u64 % ACCOUNTS), side, price, qty: 10, ioc: false }, i as usize + 1);
    }
    w
}
