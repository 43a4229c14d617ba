//! Price-time order book storage.
//!
//! Orders live in a slab (`Vec<Node>` plus a free list) and are chained per price level in a
//! doubly linked FIFO list. Each side keeps its levels in a `Vec` sorted so that the best level is
//! the last element: almost all activity happens near the top of the book, so inserting or removing
//! a level there shifts only a few elements, and the best price is a single load.

use crate::types::{AccountId, OrderId, OrderType, Price, Qty, Side, StpMode, TimeInForce, Total};
use rustc_hash::FxHashMap;

pub(crate) const NIL: u32 = u32::MAX;

pub(crate) const FLAG_POST_ONLY: u8 = 1;
pub(crate) const FLAG_REDUCE_ONLY: u8 = 2;
pub(crate) const FLAG_CLIENT_ID: u8 = 4;

/// One resting order.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub id: OrderId,
    pub account: AccountId,
    pub price: Price,
    pub qty: Qty,
    pub filled: Qty,
    /// Arrival number: orders compare by it for FIFO and for deterministic tie-breaks.
    pub arrival: u64,
    /// GTD expiry (0 = none).
    pub expire_at: u64,
    pub prev: u32,
    pub next: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub tif: TimeInForce,
    pub stp: StpMode,
    pub flags: u8,
}

impl Node {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// One price level: aggregate quantity and the FIFO chain of its orders.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub price: Price,
    pub qty: Total,
    pub head: u32,
    pub tail: u32,
    pub count: u32,
}

/// Levels of one side, sorted so that `levels.last()` is the best price.
#[derive(Clone, Debug)]
pub(crate) struct SideBook {
    pub side: Side,
    pub levels: Vec<Level>,
}

impl SideBook {
    fn new(side: Side) -> Self {
        SideBook { side, levels: Vec::new() }
    }

    /// Position of `price` in `levels` (Ok) or where it would be inserted (Err).
    #[inline]
    pub fn find(&self, price: Price) -> Result<usize, usize> {
        // Fast path: the best level, where most traffic lands.
        if let Some(last) = self.levels.last() {
            if last.price == price {
                return Ok(self.levels.len() - 1);
            }
        }
        match self.side {
            // Bids ascending: best (highest) last.
            Side::Buy => self.levels.binary_search_by(|l| l.price.cmp(&price)),
            // Asks descending: best (lowest) last.
            Side::Sell => self.levels.binary_search_by(|l| price.cmp(&l.price)),
        }
    }

    #[inline]
    pub fn best(&self) -> Option<&Level> {
        self.levels.last()
    }

    /// Levels from best to worst.
    pub fn iter_best_first(&self) -> impl Iterator<Item = &Level> {
        self.levels.iter().rev()
    }
}

/// Both sides, the order slab and the id index.
#[derive(Clone, Debug)]
pub(crate) struct Book {
    pub bids: SideBook,
    pub asks: SideBook,
    pub nodes: Vec<Node>,
    free: Vec<u32>,
    pub index: FxHashMap<OrderId, u32>,
}

impl Book {
    pub fn new() -> Self {
        Book {
            bids: SideBook::new(Side::Buy),
            asks: SideBook::new(Side::Sell),
            nodes: Vec::new(),
            free: Vec::new(),
            index: FxHashMap::default(),
        }
    }

    #[inline]
    pub fn side(&self, side: Side) -> &SideBook {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    #[inline]
    pub fn side_mut(&mut self, side: Side) -> &mut SideBook {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[inline]
    pub fn get(&self, id: OrderId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    /// Appends the order at the back of its price level's queue.
    pub fn insert(&mut self, mut node: Node) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.nodes.push(node.clone());
                (self.nodes.len() - 1) as u32
            }
        };
        let side = node.side;
        let price = node.price;
        let qty = node.qty;
        let id = node.id;
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        node.next = NIL;
        match book.find(price) {
            Ok(i) => {
                let level = &mut book.levels[i];
                node.prev = level.tail;
                let old_tail = level.tail;
                level.tail = slot;
                level.qty += Total::from(qty);
                level.count += 1;
                self.nodes[old_tail as usize].next = slot;
            }
            Err(i) => {
                node.prev = NIL;
                book.levels.insert(i, Level { price, qty: Total::from(qty), head: slot, tail: slot, count: 1 });
            }
        }
        self.nodes[slot as usize] = node;
        self.index.insert(id, slot);
        slot
    }

    /// Unlinks the order in `slot`, dropping its level when it empties, and frees the slot.
    pub fn remove(&mut self, slot: u32) -> Node {
        let node = self.nodes[slot as usize].clone();
        let (prev, next) = (node.prev, node.next);
        if prev != NIL {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        let book = match node.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        if let Ok(i) = book.find(node.price) {
            let level = &mut book.levels[i];
            level.qty -= Total::from(node.qty);
            level.count -= 1;
            if level.count == 0 {
                book.levels.remove(i);
            } else {
                if level.head == slot {
                    level.head = next;
                }
                if level.tail == slot {
                    level.tail = prev;
                }
            }
        }
        self.index.remove(&node.id);
        self.free.push(slot);
        node
    }

    /// Lowers the open quantity of a resting order in place (keeps its queue position).
    pub fn reduce(&mut self, slot: u32, by: Qty) {
        let (side, price) = {
            let n = &mut self.nodes[slot as usize];
            n.qty -= by;
            (n.side, n.price)
        };
        let book = self.side_mut(side);
        if let Ok(i) = book.find(price) {
            book.levels[i].qty -= Total::from(by);
        }
    }

    /// Slots of one level, front of the queue first.
    pub fn level_slots(&self, side: Side, price: Price) -> Vec<u32> {
        let book = self.side(side);
        let mut out = Vec::new();
        if let Ok(i) = book.find(price) {
            let mut s = book.levels[i].head;
            while s != NIL {
                out.push(s);
                s = self.nodes[s as usize].next;
            }
        }
        out
    }

    /// Every resting slot: bids best to worst then asks best to worst, FIFO within a level.
    pub fn all_slots_in_priority(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len());
        for book in [&self.bids, &self.asks] {
            for level in book.iter_best_first() {
                let mut s = level.head;
                while s != NIL {
                    out.push(s);
                    s = self.nodes[s as usize].next;
                }
            }
        }
        out
    }
}
