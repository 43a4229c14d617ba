//! Price-time order book storage.
//!
//! Orders live in a slab (`Vec<Node>` plus a free list) and are chained per price level in a
//! doubly linked FIFO list. Levels live in a slab of their own and every order knows its level, so
//! a cancel, a partial fill or a book delta never searches for a price. Each side keeps
//! `(price, level)` pairs sorted so that the best level is the last element: almost all activity is
//! near the top of the book, so creating or dropping a level there shifts only a few elements, and
//! the best price is a single load.

use crate::types::{AccountId, OrderId, OrderType, Price, Qty, Side, StpMode, TimeInForce, Total};
use rustc_hash::FxHashMap;

pub(crate) const NIL: u32 = u32::MAX;

pub(crate) const FLAG_POST_ONLY: u8 = 1;
pub(crate) const FLAG_REDUCE_ONLY: u8 = 2;
pub(crate) const FLAG_CLIENT_ID: u8 = 4;

/// One resting order.
#[derive(Clone, Copy, Debug)]
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
    /// Slot of the order's price level.
    pub level: u32,
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

/// One price level: aggregate quantity and the FIFO chain of its orders. `count == 0` marks a
/// free slot.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Level {
    pub price: Price,
    pub qty: Total,
    pub head: u32,
    pub tail: u32,
    pub count: u32,
    pub side: Side,
}

/// `(price, level slot)` of one side, sorted so that the last element is the best price.
#[derive(Clone, Debug)]
pub(crate) struct SideBook {
    pub side: Side,
    pub order: Vec<(Price, u32)>,
}

impl SideBook {
    fn new(side: Side) -> Self {
        SideBook { side, order: Vec::new() }
    }

    /// Position of `price` in `order` (Ok) or where it would be inserted (Err).
    #[inline]
    pub fn find(&self, price: Price) -> Result<usize, usize> {
        // Fast path: the best level, where most traffic lands.
        if let Some(&(last, _)) = self.order.last() {
            if last == price {
                return Ok(self.order.len() - 1);
            }
        }
        match self.side {
            // Bids ascending: best (highest) last.
            Side::Buy => self.order.binary_search_by(|l| l.0.cmp(&price)),
            // Asks descending: best (lowest) last.
            Side::Sell => self.order.binary_search_by(|l| price.cmp(&l.0)),
        }
    }
}

/// Both sides, the level and order slabs and the id index.
#[derive(Clone, Debug)]
pub(crate) struct Book {
    pub bids: SideBook,
    pub asks: SideBook,
    pub levels: Vec<Level>,
    free_levels: Vec<u32>,
    pub nodes: Vec<Node>,
    free: Vec<u32>,
    pub index: FxHashMap<OrderId, u32>,
}

impl Book {
    pub fn new() -> Self {
        Book {
            bids: SideBook::new(Side::Buy),
            asks: SideBook::new(Side::Sell),
            levels: Vec::new(),
            free_levels: Vec::new(),
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

    pub fn len(&self) -> usize {
        self.index.len()
    }

    #[inline]
    pub fn get(&self, id: OrderId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    /// The best level of a side.
    #[inline]
    pub fn best(&self, side: Side) -> Option<&Level> {
        self.side(side).order.last().map(|&(_, slot)| &self.levels[slot as usize])
    }

    /// Slot of the live level at `price`, if any.
    pub fn level_at(&self, side: Side, price: Price) -> Option<u32> {
        let book = self.side(side);
        book.find(price).ok().map(|i| book.order[i].1)
    }

    /// Levels of a side from best to worst.
    pub fn iter_best_first(&self, side: Side) -> impl Iterator<Item = &Level> + '_ {
        self.side(side).order.iter().rev().map(move |&(_, slot)| &self.levels[slot as usize])
    }

    fn new_level(&mut self, side: Side, price: Price) -> u32 {
        let level = Level { price, qty: 0, head: NIL, tail: NIL, count: 0, side };
        match self.free_levels.pop() {
            Some(slot) => {
                self.levels[slot as usize] = level;
                slot
            }
            None => {
                self.levels.push(level);
                (self.levels.len() - 1) as u32
            }
        }
    }

    /// Appends the order at the back of its price level's queue; returns its slot.
    pub fn insert(&mut self, mut node: Node) -> u32 {
        let book = match node.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level_slot = match book.find(node.price) {
            Ok(i) => book.order[i].1,
            Err(i) => {
                let (side, price) = (node.side, node.price);
                let slot = self.new_level(side, price);
                let book = match side {
                    Side::Buy => &mut self.bids,
                    Side::Sell => &mut self.asks,
                };
                book.order.insert(i, (price, slot));
                slot
            }
        };
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let level = &mut self.levels[level_slot as usize];
        node.level = level_slot;
        node.prev = level.tail;
        node.next = NIL;
        if level.tail == NIL {
            level.head = slot;
        } else {
            self.nodes[level.tail as usize].next = slot;
        }
        level.tail = slot;
        level.qty += Total::from(node.qty);
        level.count += 1;
        let id = node.id;
        self.nodes[slot as usize] = node;
        self.index.insert(id, slot);
        slot
    }

    /// Unlinks the order in `slot`, drops it from the id index and frees the slot.
    pub fn remove(&mut self, slot: u32) -> Node {
        let node = self.unlink(slot);
        self.index.remove(&node.id);
        node
    }

    /// Unlinks the order in `slot`, dropping its level when it empties, and frees the slot; the id
    /// index is left to the caller (who already took the entry out, or re-inserts the order).
    pub fn unlink(&mut self, slot: u32) -> Node {
        let node = self.nodes[slot as usize];
        if node.prev != NIL {
            self.nodes[node.prev as usize].next = node.next;
        }
        if node.next != NIL {
            self.nodes[node.next as usize].prev = node.prev;
        }
        let level = &mut self.levels[node.level as usize];
        level.qty -= Total::from(node.qty);
        level.count -= 1;
        if level.count == 0 {
            let book = match node.side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            if let Ok(i) = book.find(node.price) {
                book.order.remove(i);
            }
            self.free_levels.push(node.level);
        } else {
            if level.head == slot {
                level.head = node.next;
            }
            if level.tail == slot {
                level.tail = node.prev;
            }
        }
        self.free.push(slot);
        node
    }

    /// Lowers the open quantity of a resting order in place (keeps its queue position).
    #[inline]
    pub fn reduce(&mut self, slot: u32, by: Qty) {
        let n = &mut self.nodes[slot as usize];
        n.qty -= by;
        self.levels[n.level as usize].qty -= Total::from(by);
    }

    /// Slots of one level, front of the queue first.
    pub fn level_slots(&self, side: Side, price: Price) -> Vec<u32> {
        let mut out = Vec::new();
        if let Some(level) = self.level_at(side, price) {
            let mut s = self.levels[level as usize].head;
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
        for side in [Side::Buy, Side::Sell] {
            for level in self.iter_best_first(side) {
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
