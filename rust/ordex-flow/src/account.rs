//! The simulated account of a run: cash, one position, orders queued for the next open, the risk
//! exits of the position, and the closed trades. Every amount is an integer: prices and cash in
//! atoms of 10^-price_decimals, quantities in atoms of 10^-qty_decimals. Buys round up, sells
//! round down, fees round up, quantities round down. A run that compounds past what 128 bits
//! hold (a position sized from equity at a price near zero, sold far higher, again and again)
//! saturates at i128::MAX as `money::mul_div_floor` does, rather than overflowing.

use crate::catalog::{ActionKind, OrderType, SizeMode, PPB};
use crate::compile::{Direction, RiskSet, Settings};
use crate::money::{div_ceil, div_floor, div_round, mul_div_ceil, mul_div_floor};

const PPB128: i128 = PPB as i128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Long,
    Short,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Long => "long",
            Side::Short => "short",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    Signal,
    StopLoss,
    TakeProfit,
    TrailingStop,
    TimeLimit,
    KillSwitch,
}

impl ExitReason {
    pub fn name(self) -> &'static str {
        match self {
            ExitReason::Signal => "signal",
            ExitReason::StopLoss => "stop_loss",
            ExitReason::TakeProfit => "take_profit",
            ExitReason::TrailingStop => "trailing_stop",
            ExitReason::TimeLimit => "time_limit",
            ExitReason::KillSwitch => "kill_switch",
        }
    }
}

/// A bar's prices in atoms.
#[derive(Debug, Clone, Copy)]
pub struct BarAtoms {
    pub index: usize,
    pub ts: i64,
    pub open: i128,
    pub high: i128,
    pub low: i128,
    pub close: i128,
}

/// What an action node asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionSpec {
    pub kind: ActionKind,
    pub order: OrderType,
    pub size: Option<SizeMode>,
    pub risk: RiskSet,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Intent {
    Enter { side: Side, size: SizeMode, risk: RiskSet },
    Exit(ExitReason),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PendingOrder {
    intent: Intent,
    /// Limit orders: the price; market orders: None.
    limit: Option<i128>,
    pub signal_bar: usize,
    pub node: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub side: Side,
    pub qty: i128,
    /// Sum of quantity x price over the entries (atoms of both scales).
    pub cost: i128,
    pub entries: u32,
    pub entry_bar: usize,
    pub entry_ts: i64,
    /// Cash paid for (long) or received from (short) the entries, fees included.
    pub entry_cash: i128,
    pub fees: i128,
    pub stop: Option<i128>,
    pub target: Option<i128>,
    pub trailing_ppb: Option<i64>,
    /// Best price since entry up to the previous bar (highest for a long, lowest for a short).
    pub best: i128,
    pub time_limit: Option<u32>,
    risk: RiskSet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub side: Side,
    pub entry_bar: usize,
    pub exit_bar: usize,
    pub entry_ts: i64,
    pub exit_ts: i64,
    pub qty: i128,
    pub entry_price: i128,
    pub exit_price: i128,
    pub pnl: i128,
    pub fees: i128,
    pub reason: ExitReason,
}

/// A fill, as reported to callers (live executions send these to venues).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    pub bar: usize,
    pub side: Side,
    pub opening: bool,
    pub qty: i128,
    pub price: i128,
    pub fee: i128,
    /// Closing fills: why the position closed.
    pub exit: Option<ExitReason>,
}

/// An order queued for the next open, as a venue would be sent it (live executions).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderView {
    /// The action node that queued it; None for the time limit and the kill switch.
    pub node: Option<usize>,
    pub buying: bool,
    /// Opens or adds to a position (else closes it).
    pub entry: bool,
    /// Quantity atoms: an exit's is the position's; an entry's is sized at the given mark price
    /// (its fill at the next open sizes it again at that open).
    pub qty: i128,
    pub limit: Option<i128>,
    pub reason: Option<ExitReason>,
}

#[derive(Debug, Clone)]
pub struct Account {
    pub cash: i128,
    pub position: Option<Position>,
    pub pending: Vec<PendingOrder>,
    pub trades: Vec<Trade>,
    pub fees_paid: i128,
    pub killed: bool,
    qty_scale: i128,
    fee_ppb: i128,
    slippage_ppb: i128,
    direction: Direction,
    max_entries: u32,
}

impl Account {
    pub fn new(settings: &Settings, capital: i128, qty_decimals: u32) -> Self {
        Account {
            cash: capital,
            position: None,
            pending: Vec::new(),
            trades: Vec::new(),
            fees_paid: 0,
            killed: false,
            qty_scale: 10i128.pow(qty_decimals),
            fee_ppb: settings.fee_ppb.into(),
            slippage_ppb: settings.slippage_ppb.into(),
            direction: settings.direction,
            max_entries: settings.max_entries,
        }
    }

    fn fee(&self, qty: i128, price: i128) -> i128 {
        mul_div_ceil(qty.saturating_mul(price), self.fee_ppb, self.qty_scale * PPB128)
    }

    /// Mark-to-market equity at `price`.
    pub fn equity(&self, price: i128) -> i128 {
        match &self.position {
            None => self.cash,
            Some(p) => match p.side {
                Side::Long => self.cash.saturating_add(div_floor(p.qty.saturating_mul(price), self.qty_scale)),
                Side::Short => self.cash.saturating_sub(div_ceil(p.qty.saturating_mul(price), self.qty_scale)),
            },
        }
    }

    fn slipped(&self, price: i128, buying: bool) -> i128 {
        if buying {
            div_ceil(price * (PPB128 + self.slippage_ppb), PPB128)
        } else {
            div_floor(price * (PPB128 - self.slippage_ppb), PPB128)
        }
    }

    /// Queues an action's order for the next open, judged against the position as it will be once
    /// the orders already queued have filled. Returns whether an order was queued.
    pub fn queue_action(&mut self, action: &ActionSpec, close: i128, bar: usize, node: usize) -> bool {
        let ActionSpec { kind, order, size, risk } = *action;
        if self.killed {
            return false;
        }
        let (side, entries) = self.projected();
        let intent = match (kind, side) {
            (ActionKind::Close, Some(_)) => Intent::Exit(ExitReason::Signal),
            (ActionKind::Close, None) => return false,
            (ActionKind::Buy, Some(Side::Short)) | (ActionKind::Sell, Some(Side::Long)) => {
                Intent::Exit(ExitReason::Signal)
            }
            (ActionKind::Buy, _) | (ActionKind::Sell, _) => {
                let want = if kind == ActionKind::Buy { Side::Long } else { Side::Short };
                let allowed = match want {
                    Side::Long => self.direction.allows_long(),
                    Side::Short => self.direction.allows_short(),
                };
                if !allowed || entries >= self.max_entries {
                    return false;
                }
                Intent::Enter { side: want, size: size.expect("entries carry a size"), risk }
            }
        };
        let buying = match intent {
            Intent::Enter { side, .. } => side == Side::Long,
            Intent::Exit(_) => side == Some(Side::Short),
        };
        let limit = match order {
            OrderType::Market => None,
            OrderType::Limit { offset_ppb } => {
                let off = i128::from(offset_ppb);
                Some(if buying {
                    div_floor(close * (PPB128 - off), PPB128)
                } else {
                    div_ceil(close * (PPB128 + off), PPB128)
                })
            }
        };
        self.pending.push(PendingOrder { intent, limit, signal_bar: bar, node });
        true
    }

    /// Queues a close of the position for the next open (time limit, kill switch).
    pub fn queue_exit(&mut self, reason: ExitReason, bar: usize) {
        if self.projected().0.is_some() {
            self.pending.push(PendingOrder {
                intent: Intent::Exit(reason),
                limit: None,
                signal_bar: bar,
                node: usize::MAX,
            });
        }
    }

    /// The side and entry count the position will have once every queued order has filled.
    fn projected(&self) -> (Option<Side>, u32) {
        let mut side = self.position.as_ref().map(|p| p.side);
        let mut entries = self.position.as_ref().map_or(0, |p| p.entries);
        for o in &self.pending {
            match o.intent {
                Intent::Exit(_) => (side, entries) = (None, 0),
                Intent::Enter { side: s, .. } => (side, entries) = (Some(s), entries + 1),
            }
        }
        (side, entries)
    }

    pub fn has_pending_exit(&self) -> bool {
        self.pending.iter().any(|o| matches!(o.intent, Intent::Exit(_)))
    }

    /// The quantity an entry at `price` buys, the account marked at `mark`: the size asked for,
    /// within the cash (long) or equity (short) held, fees included. No leverage.
    fn entry_qty(&self, side: Side, size: SizeMode, risk: RiskSet, price: i128, mark: i128) -> i128 {
        let equity = self.equity(mark);
        let per_unit = price.saturating_mul(PPB128 + self.fee_ppb); // cost of one quantity unit, x PPB
        let wanted = match size {
            SizeMode::Fixed(ppb) => div_floor(ppb * self.qty_scale, PPB128),
            // The factors go into `mul_div_floor`'s multiplier, which widens the product where it
            // leaves 128 bits: equity itself can grow that far in a long compounding run.
            SizeMode::PctEquity(f) => mul_div_floor(equity.max(0), i128::from(f) * self.qty_scale, per_unit),
            SizeMode::Risk(f) => {
                let stop = i128::from(risk.stop_loss_ppb.unwrap_or(PPB));
                mul_div_floor(equity.max(0), i128::from(f) * self.qty_scale, price.saturating_mul(stop))
            }
        };
        let budget = match side {
            Side::Long => self.cash,
            Side::Short => {
                let held = self.position.as_ref().map_or(0, |p| div_ceil(p.qty.saturating_mul(mark), self.qty_scale));
                equity.saturating_sub(held)
            }
        };
        let affordable = mul_div_floor(budget.max(0), PPB128 * self.qty_scale, per_unit);
        wanted.min(affordable)
    }

    /// The queued orders as a venue would be sent them, entries sized at `mark` (the close they
    /// were queued at) with the slippage of a market order.
    pub fn pending_orders(&self, mark: i128) -> Vec<OrderView> {
        let mut side = self.position.as_ref().map(|p| p.side);
        let mut qty = self.position.as_ref().map_or(0, |p| p.qty);
        let mut out = Vec::with_capacity(self.pending.len());
        for o in &self.pending {
            let node = (o.node != usize::MAX).then_some(o.node);
            match o.intent {
                Intent::Exit(reason) => {
                    let Some(s) = side else { continue };
                    out.push(OrderView {
                        node,
                        buying: s == Side::Short,
                        entry: false,
                        qty,
                        limit: o.limit,
                        reason: Some(reason),
                    });
                    (side, qty) = (None, 0);
                }
                Intent::Enter { side: s, size, risk } => {
                    let price = o.limit.unwrap_or_else(|| self.slipped(mark, s == Side::Long));
                    let q = if price > 0 { self.entry_qty(s, size, risk, price, mark).max(0) } else { 0 };
                    out.push(OrderView {
                        node,
                        buying: s == Side::Long,
                        entry: true,
                        qty: q,
                        limit: o.limit,
                        reason: None,
                    });
                    side = Some(s);
                    qty += q;
                }
            }
        }
        out
    }

    /// Step 1 of a bar: the queued orders fill at the open (limits when the bar reaches them).
    pub fn fill_pending(&mut self, bar: &BarAtoms, fills: &mut Vec<Fill>) {
        let orders = std::mem::take(&mut self.pending);
        for order in orders {
            let buying = match order.intent {
                Intent::Enter { side, .. } => side == Side::Long,
                Intent::Exit(_) => match &self.position {
                    Some(p) => p.side == Side::Short,
                    None => continue,
                },
            };
            let price = match order.limit {
                None => self.slipped(bar.open, buying),
                Some(limit) if buying => {
                    if bar.open <= limit {
                        bar.open
                    } else if bar.low <= limit {
                        limit
                    } else {
                        continue; // expired unfilled
                    }
                }
                Some(limit) => {
                    if bar.open >= limit {
                        bar.open
                    } else if bar.high >= limit {
                        limit
                    } else {
                        continue;
                    }
                }
            };
            match order.intent {
                Intent::Exit(reason) => self.exit(bar, price, reason, fills),
                Intent::Enter { side, size, risk } => self.enter(bar, side, size, risk, price, fills),
            }
        }
    }

    fn enter(&mut self, bar: &BarAtoms, side: Side, size: SizeMode, risk: RiskSet, price: i128, fills: &mut Vec<Fill>) {
        if let Some(p) = &self.position {
            if p.side != side || p.entries >= self.max_entries {
                return;
            }
        }
        if price <= 0 {
            return;
        }
        let qty = self.entry_qty(side, size, risk, price, bar.open);
        if qty <= 0 {
            return;
        }
        let fee = self.fee(qty, price);
        let cash = match side {
            Side::Long => div_ceil(qty.saturating_mul(price), self.qty_scale).saturating_add(fee),
            Side::Short => div_floor(qty.saturating_mul(price), self.qty_scale) - fee,
        };
        match side {
            Side::Long => self.cash = self.cash.saturating_sub(cash),
            Side::Short => self.cash = self.cash.saturating_add(cash),
        }
        self.fees_paid += fee;
        fills.push(Fill { bar: bar.index, side, opening: true, qty, price, fee, exit: None });
        let position = self.position.get_or_insert(Position {
            side,
            qty: 0,
            cost: 0,
            entries: 0,
            entry_bar: bar.index,
            entry_ts: bar.ts,
            entry_cash: 0,
            fees: 0,
            stop: None,
            target: None,
            trailing_ppb: None,
            best: price,
            time_limit: None,
            risk,
        });
        position.qty += qty;
        position.cost = position.cost.saturating_add(qty.saturating_mul(price));
        position.entries += 1;
        position.entry_cash += cash;
        position.fees += fee;
        if position.entries > 1 && risk != RiskSet::default() {
            position.risk = risk;
        }
        // Exits are set from the average entry price, rounded as the fills they become: a long's
        // exits are sells (down), a short's buys (up).
        let avg = div_round(position.cost, position.qty);
        let r = position.risk;
        let long = side == Side::Long;
        let level = |ppb: i64, up: bool| {
            let f = i128::from(ppb);
            let scaled = avg.saturating_mul(if up { PPB128 + f } else { PPB128 - f });
            if long {
                div_floor(scaled, PPB128)
            } else {
                div_ceil(scaled, PPB128)
            }
        };
        position.stop = r.stop_loss_ppb.map(|f| level(f, !long));
        position.target = r.take_profit_ppb.map(|f| level(f, long));
        position.trailing_ppb = r.trailing_ppb;
        position.time_limit = r.time_limit_bars;
        if position.entries == 1 {
            position.best = price;
        }
    }

    fn exit(&mut self, bar: &BarAtoms, price: i128, reason: ExitReason, fills: &mut Vec<Fill>) {
        let Some(p) = self.position.take() else { return };
        let fee = self.fee(p.qty, price);
        let pnl = match p.side {
            Side::Long => {
                let received = div_floor(p.qty.saturating_mul(price), self.qty_scale) - fee;
                self.cash = self.cash.saturating_add(received);
                received - p.entry_cash
            }
            Side::Short => {
                let paid = div_ceil(p.qty.saturating_mul(price), self.qty_scale).saturating_add(fee);
                self.cash = self.cash.saturating_sub(paid);
                p.entry_cash - paid
            }
        };
        self.fees_paid += fee;
        let exit_side = if p.side == Side::Long { Side::Short } else { Side::Long };
        fills.push(Fill {
            bar: bar.index,
            side: exit_side,
            opening: false,
            qty: p.qty,
            price,
            fee,
            exit: Some(reason),
        });
        self.trades.push(Trade {
            side: p.side,
            entry_bar: p.entry_bar,
            exit_bar: bar.index,
            entry_ts: p.entry_ts,
            exit_ts: bar.ts,
            qty: p.qty,
            entry_price: div_round(p.cost, p.qty),
            exit_price: price,
            pnl,
            fees: p.fees + fee,
            reason,
        });
    }

    /// Step 2 of a bar: stop loss, trailing stop and take profit against the bar's range; the stop
    /// wins when both are hit. Then the trailing stop's best price takes in this bar.
    pub fn check_exits(&mut self, bar: &BarAtoms, fills: &mut Vec<Fill>) {
        let Some(p) = &self.position else { return };
        let long = p.side == Side::Long;
        let trail = p.trailing_ppb.map(|f| {
            let f = i128::from(f);
            if long {
                div_floor(p.best * (PPB128 - f), PPB128)
            } else {
                div_ceil(p.best * (PPB128 + f), PPB128)
            }
        });
        // The tighter of the fixed and the trailing stop.
        let (stop, reason) = match (p.stop, trail) {
            (Some(s), Some(t)) if (long && t >= s) || (!long && t <= s) => (Some(t), ExitReason::TrailingStop),
            (Some(s), _) => (Some(s), ExitReason::StopLoss),
            (None, Some(t)) => (Some(t), ExitReason::TrailingStop),
            (None, None) => (None, ExitReason::StopLoss),
        };
        if let Some(stop) = stop {
            let hit = if long { bar.low <= stop } else { bar.high >= stop };
            if hit {
                let gapped = if long { bar.open <= stop } else { bar.open >= stop };
                let reference = if gapped { bar.open } else { stop };
                let price = self.slipped(reference, !long);
                self.exit(bar, price, reason, fills);
                return;
            }
        }
        if let Some(target) = p.target {
            let hit = if long { bar.high >= target } else { bar.low <= target };
            if hit {
                let gapped = if long { bar.open >= target } else { bar.open <= target };
                let price = if gapped { bar.open } else { target };
                self.exit(bar, price, ExitReason::TakeProfit, fills);
                return;
            }
        }
        if let Some(p) = &mut self.position {
            p.best = if long { p.best.max(bar.high) } else { p.best.min(bar.low) };
        }
    }
}
