//! The matching engine of one market: commands in, sequenced events out.
//!
//! Deterministic by construction: no clock (time arrives as `AdvanceTime`), no randomness, and
//! hash maps are only ever used for lookups, never iterated into a result.

use crate::book::{Book, Node, FLAG_CLIENT_ID, FLAG_POST_ONLY, FLAG_REDUCE_ONLY, NIL};
use crate::config::{ConfigError, MarketConfig, RATE_SCALE};
use crate::margin;
use crate::stops::StopBook;
use crate::types::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

/// One market's order book and matching state.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) cfg: MarketConfig,
    pub(crate) atoms: i128,
    pub(crate) book: Book,
    pub(crate) stops: StopBook,
    /// GTD orders (resting or untriggered) by `(expire_at, arrival, order_id)`.
    pub(crate) gtd: BTreeSet<(u64, u64, OrderId)>,
    pub(crate) client_ids: FxHashMap<(AccountId, ClientOrderId), OrderId>,
    pub(crate) client_id_of: FxHashMap<OrderId, ClientOrderId>,
    /// Net position per account in lots (perpetual markets only; zero entries are removed).
    pub(crate) positions: FxHashMap<AccountId, Total>,
    /// Resting reduce-only orders per account, in arrival order.
    pub(crate) reduce_only: FxHashMap<AccountId, Vec<OrderId>>,
    pub(crate) seq: Seq,
    pub(crate) arrival: u64,
    pub(crate) now: u64,
    pub(crate) last_price: Option<Price>,
    pub(crate) mark_price: Option<Price>,
    // Per-command scratch, kept to avoid allocating on the hot path.
    /// Levels the command changed: side, price and the level slot they were in.
    pub(crate) touched: Vec<(Side, Price, u32)>,
    pub(crate) ro_accounts: Vec<AccountId>,
    pub(crate) trade_range: Option<(Price, Price)>,
    pub(crate) pending_mark: Option<Price>,
    /// End (unix ms) of the last settled funding interval.
    pub(crate) last_funding: Option<u64>,
}

/// An order on its way into the book: a new order, an amended one, or a triggered stop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Incoming {
    pub(crate) id: OrderId,
    pub(crate) account: AccountId,
    pub(crate) side: Side,
    pub(crate) order_type: OrderType,
    pub(crate) tif: TimeInForce,
    pub(crate) price: Option<Price>,
    pub(crate) qty: Qty,
    pub(crate) filled: Qty,
    pub(crate) expire_at: u64,
    pub(crate) stp: StpMode,
    pub(crate) flags: u8,
    pub(crate) arrival: u64,
}

impl Engine {
    pub fn new(cfg: MarketConfig) -> Result<Engine, ConfigError> {
        cfg.validate()?;
        let atoms = cfg.atoms_per_tick_lot();
        Ok(Engine {
            cfg,
            atoms,
            book: Book::new(),
            stops: StopBook::default(),
            gtd: BTreeSet::new(),
            client_ids: FxHashMap::default(),
            client_id_of: FxHashMap::default(),
            positions: FxHashMap::default(),
            reduce_only: FxHashMap::default(),
            seq: 0,
            arrival: 0,
            now: 0,
            last_price: None,
            mark_price: None,
            touched: Vec::with_capacity(16),
            ro_accounts: Vec::new(),
            trade_range: None,
            pending_mark: None,
            last_funding: None,
        })
    }

    pub fn config(&self) -> &MarketConfig {
        &self.cfg
    }

    /// Applies one command, appending its events to `out`.
    pub fn process(&mut self, cmd: &Command, out: &mut Vec<Event>) {
        match *cmd {
            Command::Place(ref order) => self.place(order, out),
            Command::Cancel { order_id, account } => self.cancel(order_id, account, out),
            Command::CancelAll { account } => self.cancel_all(account, out),
            Command::Amend { order_id, account, price, qty } => self.amend(order_id, account, price, qty, out),
            Command::AdvanceTime { now } => self.advance_time(now, out),
            Command::SetMarkPrice { price } => self.set_mark_price(price, out),
            Command::Liquidate { order_id, account, side, qty, price } => {
                self.liquidate(order_id, account, side, qty, price, out)
            }
            Command::Deleverage { account, counterparty, side, qty, price } => {
                self.deleverage(account, counterparty, side, qty, price, out)
            }
            Command::Funding { interval, rate, mark } => self.funding(interval, rate, mark, out),
        }
        self.run_triggers(out);
        self.enforce_reduce_only(out);
        self.flush_book_deltas(out);
    }

    /// Applies many commands; events of all of them, in order.
    pub fn process_batch(&mut self, cmds: &[Command], out: &mut Vec<Event>) {
        for cmd in cmds {
            self.process(cmd, out);
        }
    }

    /// Emits an event with the next sequence number.
    #[inline]
    pub(crate) fn emit(&mut self, out: &mut Vec<Event>, make: impl FnOnce(Seq) -> Event) {
        self.seq += 1;
        out.push(make(self.seq));
    }

    pub(crate) fn reject(&mut self, out: &mut Vec<Event>, order_id: OrderId, account: AccountId, reason: RejectReason) {
        self.emit(out, |seq| Event::Rejected { seq, order_id, account, reason });
    }

    #[inline]
    pub(crate) fn touch(&mut self, side: Side, price: Price, level: u32) {
        if !self.touched.iter().any(|t| t.0 == side && t.1 == price) {
            self.touched.push((side, price, level));
        }
    }

    // ----- placement -------------------------------------------------------------------------

    fn validate(&self, o: &NewOrder) -> Result<(), RejectReason> {
        use RejectReason::*;
        if o.qty <= 0 || o.qty > MAX_LOTS {
            return Err(InvalidQuantity);
        }
        if o.qty < self.cfg.min_qty {
            return Err(BelowMinQuantity);
        }
        match o.price {
            Some(p) if p <= 0 || p > MAX_TICKS => return Err(InvalidPrice),
            None if o.order_type.has_limit_price() => return Err(MissingPrice),
            _ => {}
        }
        if o.order_type.is_conditional() {
            match o.trigger_price {
                None => return Err(MissingTriggerPrice),
                Some(t) if t <= 0 || t > MAX_TICKS => return Err(InvalidPrice),
                Some(_) => {}
            }
        } else if o.trigger_price.is_some() {
            return Err(UnexpectedTriggerPrice);
        }
        let market_like = !o.order_type.has_limit_price();
        match o.time_in_force {
            TimeInForce::Gtc | TimeInForce::Gtd if market_like => return Err(InvalidTimeInForce),
            TimeInForce::Gtd => match o.expire_at {
                None => return Err(MissingExpireTime),
                Some(t) if t <= self.now => return Err(ExpireTimeInPast),
                Some(_) => {}
            },
            _ if o.expire_at.is_some() => return Err(InvalidTimeInForce),
            _ => {}
        }
        if o.post_only
            && (market_like
                || o.order_type.is_conditional()
                || !matches!(o.time_in_force, TimeInForce::Gtc | TimeInForce::Gtd))
        {
            return Err(PostOnlyNotAllowed);
        }
        if o.reduce_only {
            if self.cfg.kind != MarketKind::Perp {
                return Err(ReduceOnlyNotAllowed);
            }
            if !o.order_type.is_conditional() && self.reducible(o.account, o.side) == 0 {
                return Err(ReduceOnlyWouldIncrease);
            }
        }
        if self.book.get(o.order_id).is_some() || (!self.stops.is_empty() && self.stops.contains(o.order_id)) {
            return Err(DuplicateOrderId);
        }
        if let Some(cid) = o.client_order_id {
            if self.client_ids.contains_key(&(o.account, cid)) {
                return Err(DuplicateClientOrderId);
            }
        }
        if o.post_only {
            if let Some(p) = o.price {
                if self.crosses(o.side, p) {
                    return Err(PostOnlyWouldTake);
                }
            }
        }
        if o.order_type.is_conditional() {
            let trigger = o.trigger_price.unwrap_or(0);
            let reference = match o.trigger_by {
                TriggerBy::LastPrice => self.last_price,
                TriggerBy::MarkPrice => self.mark_price,
            };
            if let Some(r) = reference {
                let rises = StopBook::triggers_on_rise(o.order_type, o.side);
                if (rises && r >= trigger) || (!rises && r <= trigger) {
                    return Err(WouldTriggerImmediately);
                }
            }
        }
        Ok(())
    }

    /// Lots an order on `side` may reduce: the opposite position's size, else 0.
    pub(crate) fn reducible(&self, account: AccountId, side: Side) -> Qty {
        let pos = self.positions.get(&account).copied().unwrap_or(0);
        if pos != 0 && pos.signum() == -Total::from(side.sign()) {
            // One order never exceeds MAX_LOTS, however large the position.
            pos.abs().min(Total::from(MAX_LOTS)) as Qty
        } else {
            0
        }
    }

    /// Whether a taker on `side` with limit `price` would trade against the best opposite level.
    #[inline]
    pub(crate) fn crosses(&self, side: Side, price: Price) -> bool {
        match self.book.best(side.opposite()) {
            Some(level) => match side {
                Side::Buy => level.price <= price,
                Side::Sell => level.price >= price,
            },
            None => false,
        }
    }

    fn place(&mut self, o: &NewOrder, out: &mut Vec<Event>) {
        if let Err(reason) = self.validate(o) {
            return self.reject(out, o.order_id, o.account, reason);
        }
        let (order_id, account, side, order_type, price, qty) =
            (o.order_id, o.account, o.side, o.order_type, o.price, o.qty);
        self.emit(out, |seq| Event::Accepted { seq, order_id, account, side, order_type, price, qty });
        self.arrival += 1;
        let mut flags = 0;
        if o.post_only {
            flags |= FLAG_POST_ONLY;
        }
        if o.reduce_only {
            flags |= FLAG_REDUCE_ONLY;
        }
        if let Some(cid) = o.client_order_id {
            flags |= FLAG_CLIENT_ID;
            self.client_ids.insert((account, cid), order_id);
            self.client_id_of.insert(order_id, cid);
        }
        let expire_at = o.expire_at.unwrap_or(0);
        if o.time_in_force == TimeInForce::Gtd {
            self.gtd.insert((expire_at, self.arrival, order_id));
        }
        if order_type.is_conditional() {
            self.stops.insert(*o, self.arrival);
            return;
        }
        let incoming = Incoming {
            id: order_id,
            account,
            side,
            order_type,
            tif: o.time_in_force,
            price,
            qty,
            filled: 0,
            expire_at,
            stp: o.stp,
            flags,
            arrival: self.arrival,
        };
        self.execute(incoming, out);
    }

    /// Forgets an order that reached a final state (client id, GTD index).
    pub(crate) fn finish(&mut self, id: OrderId, account: AccountId, flags: u8, expire_at: u64, arrival: u64) {
        if flags & FLAG_CLIENT_ID != 0 {
            if let Some(cid) = self.client_id_of.remove(&id) {
                self.client_ids.remove(&(account, cid));
            }
        }
        if expire_at != 0 {
            self.gtd.remove(&(expire_at, arrival, id));
        }
        if flags & FLAG_REDUCE_ONLY != 0 {
            if let Some(list) = self.reduce_only.get_mut(&account) {
                list.retain(|&x| x != id);
                if list.is_empty() {
                    self.reduce_only.remove(&account);
                }
            }
        }
    }

    /// Matches an incoming order and rests or ends what is left.
    /// Returns whether the order now rests in the book.
    pub(crate) fn execute(&mut self, mut o: Incoming, out: &mut Vec<Event>) -> bool {
        let (id, account) = (o.id, o.account);
        if o.flags & FLAG_REDUCE_ONLY != 0 {
            let allowed = self.reducible(account, o.side);
            if allowed == 0 {
                let remaining = o.qty;
                self.finish(id, account, o.flags, o.expire_at, o.arrival);
                let reason = CancelReason::ReduceOnly;
                self.emit(out, |seq| Event::Cancelled { seq, order_id: id, account, remaining, reason });
                return false;
            }
            if o.qty > allowed {
                // Clipped to the position it may reduce; the event keeps quantities accounted for.
                o.qty = allowed;
                let price = o.price.unwrap_or(0);
                self.emit(out, |seq| Event::Amended {
                    seq,
                    order_id: id,
                    account,
                    price,
                    qty: allowed,
                    priority_kept: true,
                });
            }
        }
        let limit = match o.order_type {
            OrderType::Market => match self.protection_price(o.side, o.price) {
                Some(p) => p,
                None => {
                    let remaining = o.qty;
                    self.finish(id, account, o.flags, o.expire_at, o.arrival);
                    let reason = CancelReason::NoLiquidity;
                    self.emit(out, |seq| Event::Cancelled { seq, order_id: id, account, remaining, reason });
                    return false;
                }
            },
            _ => o.price.unwrap_or(0),
        };
        if o.tif == TimeInForce::Fok && self.fillable(o.side, limit, account, o.stp, o.qty) < Total::from(o.qty) {
            let remaining = o.qty;
            self.finish(id, account, o.flags, o.expire_at, o.arrival);
            let reason = CancelReason::FokNotFillable;
            self.emit(out, |seq| Event::Cancelled { seq, order_id: id, account, remaining, reason });
            return false;
        }
        let (remaining, stp_stopped) = self.match_order(&o, limit, out);
        o.filled += o.qty - remaining;
        if remaining == 0 {
            self.finish(id, account, o.flags, o.expire_at, o.arrival);
            return false;
        }
        let rests = o.order_type == OrderType::Limit && matches!(o.tif, TimeInForce::Gtc | TimeInForce::Gtd);
        if stp_stopped || !rests {
            self.finish(id, account, o.flags, o.expire_at, o.arrival);
            let reason = if stp_stopped { CancelReason::SelfTradeTaker } else { CancelReason::IocRemainder };
            self.emit(out, |seq| Event::Cancelled { seq, order_id: id, account, remaining, reason });
            return false;
        }
        let slot = self.book.insert(Node {
            id,
            account,
            price: limit,
            qty: remaining,
            filled: o.filled,
            arrival: o.arrival,
            expire_at: o.expire_at,
            prev: NIL,
            next: NIL,
            level: NIL,
            side: o.side,
            order_type: o.order_type,
            tif: o.tif,
            stp: o.stp,
            flags: o.flags,
        });
        let level = self.book.nodes[slot as usize].level;
        self.touch(o.side, limit, level);
        if o.flags & FLAG_REDUCE_ONLY != 0 {
            self.reduce_only.entry(account).or_default().push(id);
            self.note_reduce_only_account(account);
        }
        true
    }

    /// Limit price of a market order: the band around the best opposite price, tightened by the
    /// caller's own protection price. `None` when the opposite side is empty.
    fn protection_price(&self, side: Side, own: Option<Price>) -> Option<Price> {
        let best = i128::from(self.book.best(side.opposite())?.price);
        let band = i128::from(self.cfg.price_band.0);
        let price = match side {
            // Round toward the reference so the band is never exceeded.
            Side::Buy => {
                let p = (best * (RATE_SCALE + band)).div_euclid(RATE_SCALE).min(i128::from(MAX_TICKS)) as Price;
                own.map_or(p, |o| o.min(p))
            }
            Side::Sell => {
                let num = best * (RATE_SCALE - band);
                let p = (num + RATE_SCALE - 1).div_euclid(RATE_SCALE).max(1) as Price;
                own.map_or(p, |o| o.max(p))
            }
        };
        Some(price)
    }

    /// Quantity an order could fill right now, stopping once `needed` is reached. Mirrors
    /// `match_order`'s self-trade handling so FOK decides before any fill.
    fn fillable(&self, side: Side, limit: Price, account: AccountId, stp: StpMode, needed: Qty) -> Total {
        let mut total: Total = 0;
        for level in self.book.iter_best_first(side.opposite()) {
            let crosses = match side {
                Side::Buy => level.price <= limit,
                Side::Sell => level.price >= limit,
            };
            if !crosses {
                break;
            }
            if stp == StpMode::None {
                total += level.qty;
            } else {
                let mut s = level.head;
                while s != NIL {
                    let n = &self.book.nodes[s as usize];
                    if n.account == account {
                        if stp != StpMode::ExpireMaker {
                            return total;
                        }
                    } else {
                        total += Total::from(n.qty);
                        if total >= Total::from(needed) {
                            return total;
                        }
                    }
                    s = n.next;
                }
            }
            if total >= Total::from(needed) {
                return total;
            }
        }
        total
    }

    /// Trades `o` against the opposite side up to `limit`. Returns the unfilled quantity and
    /// whether self-trade prevention stopped the taker.
    fn match_order(&mut self, o: &Incoming, limit: Price, out: &mut Vec<Event>) -> (Qty, bool) {
        let mut remaining = o.qty;
        let opposite = o.side.opposite();
        let perp = self.cfg.kind == MarketKind::Perp;
        while remaining > 0 {
            let (level_price, level) = match self.book.side(opposite).order.last() {
                Some(&(price, level)) => (price, level),
                None => break,
            };
            let mut slot = self.book.levels[level as usize].head;
            let crosses = match o.side {
                Side::Buy => level_price <= limit,
                Side::Sell => level_price >= limit,
            };
            if !crosses {
                break;
            }
            self.touch(opposite, level_price, level);
            while slot != NIL && remaining > 0 {
                let (maker_id, maker_account, maker_qty, next) = {
                    let n = &self.book.nodes[slot as usize];
                    (n.id, n.account, n.qty, n.next)
                };
                if maker_account == o.account && o.stp != StpMode::None {
                    if o.stp != StpMode::ExpireTaker {
                        self.remove_resting(slot, CancelReason::SelfTradeMaker, out);
                    }
                    if o.stp != StpMode::ExpireMaker {
                        return (remaining, true);
                    }
                    slot = next;
                    continue;
                }
                let qty = remaining.min(maker_qty);
                let notional = i128::from(level_price) * i128::from(qty) * self.atoms;
                let taker_fee = margin::fee(notional, self.cfg.taker_fee);
                let maker_fee = margin::fee(notional, self.cfg.maker_fee);
                let (taker_order_id, taker_account, taker_side) = (o.id, o.account, o.side);
                self.emit(out, |seq| Event::Trade {
                    seq,
                    taker_order_id,
                    taker_account,
                    maker_order_id: maker_id,
                    maker_account,
                    taker_side,
                    price: level_price,
                    qty,
                    taker_fee,
                    maker_fee,
                });
                remaining -= qty;
                self.last_price = Some(level_price);
                self.trade_range = Some(match self.trade_range {
                    Some((lo, hi)) => (lo.min(level_price), hi.max(level_price)),
                    None => (level_price, level_price),
                });
                if perp {
                    self.add_position(o.account, Total::from(o.side.sign() * qty));
                    self.add_position(maker_account, -Total::from(o.side.sign() * qty));
                }
                if qty == maker_qty {
                    let node = self.book.remove(slot);
                    self.finish(node.id, node.account, node.flags, node.expire_at, node.arrival);
                } else {
                    self.book.nodes[slot as usize].filled += qty;
                    self.book.reduce(slot, qty);
                }
                slot = next;
            }
        }
        (remaining, false)
    }

    pub(crate) fn add_position(&mut self, account: AccountId, delta: Total) {
        let entry = self.positions.entry(account).or_insert(0);
        *entry += delta;
        if *entry == 0 {
            self.positions.remove(&account);
        }
        self.note_reduce_only_account(account);
    }

    #[inline]
    pub(crate) fn note_reduce_only_account(&mut self, account: AccountId) {
        if self.reduce_only.contains_key(&account) && !self.ro_accounts.contains(&account) {
            self.ro_accounts.push(account);
        }
    }

    /// Removes a resting order with a `Cancelled` event.
    pub(crate) fn remove_resting(&mut self, slot: u32, reason: CancelReason, out: &mut Vec<Event>) {
        let node = self.book.remove(slot);
        self.retire(node, reason, out);
    }

    /// Ends an order that left the book with a `Cancelled` event.
    pub(crate) fn retire(&mut self, node: Node, reason: CancelReason, out: &mut Vec<Event>) {
        self.touch(node.side, node.price, node.level);
        self.finish(node.id, node.account, node.flags, node.expire_at, node.arrival);
        let (order_id, account, remaining) = (node.id, node.account, node.qty);
        self.emit(out, |seq| Event::Cancelled { seq, order_id, account, remaining, reason });
    }
}
