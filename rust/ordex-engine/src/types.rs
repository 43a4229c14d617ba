//! Commands in, events out. Prices are integer ticks, quantities integer lots, fees quote atoms.

use serde::{Deserialize, Serialize};
use std::fmt;

pub type OrderId = u64;
pub type AccountId = u64;
/// Price in ticks of the market's tick size.
pub type Price = i64;
/// Quantity in lots of the market's lot size.
pub type Qty = i64;
/// Event sequence number, per market, strictly increasing from 1.
pub type Seq = u64;
/// Sums of quantities (level totals, positions): many maximal orders must not overflow them.
pub type Total = i128;

/// Upper bound for prices in ticks and quantities in lots: keeps `price * qty * atoms_per_unit`
/// inside i128 for any accepted market configuration.
pub const MAX_TICKS: i64 = 1_000_000_000_000_000;
pub const MAX_LOTS: i64 = 1_000_000_000_000_000;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling (JSON schema, Python `str()`).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

wire_enum!(
    /// Order side.
    Side { Buy = "BUY", Sell = "SELL" }
);

impl Side {
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for buys, -1 for sells: the sign a fill adds to a position.
    pub const fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

wire_enum!(
    /// Order types. The four conditional types wait off-book until their trigger price is reached.
    OrderType {
        Limit = "LIMIT",
        Market = "MARKET",
        StopLoss = "STOP_LOSS",
        StopLossLimit = "STOP_LOSS_LIMIT",
        TakeProfit = "TAKE_PROFIT",
        TakeProfitLimit = "TAKE_PROFIT_LIMIT",
    }
);

impl OrderType {
    pub const fn is_conditional(self) -> bool {
        !matches!(self, OrderType::Limit | OrderType::Market)
    }

    /// Whether the order carries a limit price once live (LIMIT and the *_LIMIT conditionals).
    pub const fn has_limit_price(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::StopLossLimit | OrderType::TakeProfitLimit)
    }

    /// What a conditional order becomes when triggered.
    pub const fn triggered_type(self) -> OrderType {
        match self {
            OrderType::StopLoss | OrderType::TakeProfit | OrderType::Market => OrderType::Market,
            _ => OrderType::Limit,
        }
    }
}

wire_enum!(
    /// Time in force.
    TimeInForce { Gtc = "GTC", Ioc = "IOC", Fok = "FOK", Gtd = "GTD" }
);

wire_enum!(
    /// Self-trade prevention, taken from the incoming (taker) order.
    StpMode { None = "NONE", ExpireTaker = "EXPIRE_TAKER", ExpireMaker = "EXPIRE_MAKER", ExpireBoth = "EXPIRE_BOTH" }
);

wire_enum!(
    /// Which price moves a conditional order's trigger.
    TriggerBy { LastPrice = "LAST_PRICE", MarkPrice = "MARK_PRICE" }
);

wire_enum!(
    /// Spot markets move base and quote; perpetuals move positions and margin.
    MarketKind { Spot = "SPOT", Perp = "PERP" }
);

wire_enum!(
    /// Stable reasons for a rejected command. Nothing changed in the book.
    RejectReason {
        InvalidQuantity = "INVALID_QUANTITY",
        BelowMinQuantity = "BELOW_MIN_QUANTITY",
        InvalidPrice = "INVALID_PRICE",
        PriceNotAligned = "PRICE_NOT_ALIGNED",
        QuantityNotAligned = "QUANTITY_NOT_ALIGNED",
        MissingPrice = "MISSING_PRICE",
        MissingTriggerPrice = "MISSING_TRIGGER_PRICE",
        UnexpectedTriggerPrice = "UNEXPECTED_TRIGGER_PRICE",
        WouldTriggerImmediately = "WOULD_TRIGGER_IMMEDIATELY",
        InvalidTimeInForce = "INVALID_TIME_IN_FORCE",
        MissingExpireTime = "MISSING_EXPIRE_TIME",
        ExpireTimeInPast = "EXPIRE_TIME_IN_PAST",
        PostOnlyWouldTake = "POST_ONLY_WOULD_TAKE",
        PostOnlyNotAllowed = "POST_ONLY_NOT_ALLOWED",
        ReduceOnlyNotAllowed = "REDUCE_ONLY_NOT_ALLOWED",
        ReduceOnlyWouldIncrease = "REDUCE_ONLY_WOULD_INCREASE",
        DuplicateOrderId = "DUPLICATE_ORDER_ID",
        DuplicateClientOrderId = "DUPLICATE_CLIENT_ORDER_ID",
        InvalidClientOrderId = "INVALID_CLIENT_ORDER_ID",
        OrderNotFound = "ORDER_NOT_FOUND",
        AmendNotAllowed = "AMEND_NOT_ALLOWED",
        MalformedCommand = "MALFORMED_COMMAND",
        // A perpetual-only command (liquidate, deleverage, funding) sent to a spot market.
        PerpOnly = "PERP_ONLY",
        // Liquidation or deleveraging of a position that is not there (flat, or the other side).
        NoPosition = "NO_POSITION",
        // Deleveraging an account against itself.
        InvalidCounterparty = "INVALID_COUNTERPARTY",
    }
);

wire_enum!(
    /// Why a live order left the book (or never rested).
    CancelReason {
        User = "USER",
        CancelAll = "CANCEL_ALL",
        IocRemainder = "IOC_REMAINDER",
        FokNotFillable = "FOK_NOT_FILLABLE",
        NoLiquidity = "NO_LIQUIDITY",
        SelfTradeTaker = "SELF_TRADE_TAKER",
        SelfTradeMaker = "SELF_TRADE_MAKER",
        ReduceOnly = "REDUCE_ONLY",
        // Open orders of an account being liquidated.
        Liquidation = "LIQUIDATION",
    }
);

/// A client order id: 1 to 36 printable ASCII characters, stored inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientOrderId {
    len: u8,
    bytes: [u8; ClientOrderId::MAX_LEN],
}

impl ClientOrderId {
    pub const MAX_LEN: usize = 36;

    pub fn new(s: &str) -> Option<Self> {
        let raw = s.as_bytes();
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.iter().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(ClientOrderId { len: raw.len() as u8, bytes })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII graphic bytes are ever stored.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Serialize for ClientOrderId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ClientOrderId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        ClientOrderId::new(&s).ok_or_else(|| serde::de::Error::custom("invalid client order id"))
    }
}

/// A new order. `price` is the limit price (LIMIT, *_LIMIT) or an optional protection price
/// (MARKET, STOP_LOSS, TAKE_PROFIT); `trigger_price` is for the conditional types only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub account: AccountId,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub price: Option<Price>,
    pub qty: Qty,
    pub trigger_price: Option<Price>,
    pub trigger_by: TriggerBy,
    /// Engine time after which a GTD order expires (inclusive: expires when `now >= expire_at`).
    pub expire_at: Option<u64>,
    pub post_only: bool,
    pub reduce_only: bool,
    pub stp: StpMode,
    pub client_order_id: Option<ClientOrderId>,
}

impl NewOrder {
    /// A GTC limit order with every option at its default.
    pub fn limit(order_id: OrderId, account: AccountId, side: Side, price: Price, qty: Qty) -> Self {
        NewOrder {
            order_id,
            account,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: Some(price),
            qty,
            trigger_price: None,
            trigger_by: TriggerBy::LastPrice,
            expire_at: None,
            post_only: false,
            reduce_only: false,
            stp: StpMode::None,
            client_order_id: None,
        }
    }

    /// An immediate-or-cancel market order protected by the market's price band.
    pub fn market(order_id: OrderId, account: AccountId, side: Side, qty: Qty) -> Self {
        NewOrder {
            order_type: OrderType::Market,
            time_in_force: TimeInForce::Ioc,
            price: None,
            ..Self::limit(order_id, account, side, 0, qty)
        }
    }

    pub fn with_tif(mut self, tif: TimeInForce) -> Self {
        self.time_in_force = tif;
        self
    }
}

/// Everything the engine can be told. Each command yields one or more events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    Place(NewOrder),
    Cancel {
        order_id: OrderId,
        account: AccountId,
    },
    CancelAll {
        account: AccountId,
    },
    /// New price and/or new open (remaining) quantity. Lowering the quantity at the same price keeps
    /// queue priority; a new price or a larger quantity moves the order to the back (and may trade).
    Amend {
        order_id: OrderId,
        account: AccountId,
        price: Option<Price>,
        qty: Option<Qty>,
    },
    /// Advances engine time (monotonic; earlier times are ignored) and expires due GTD orders.
    AdvanceTime {
        now: u64,
    },
    /// Feeds a mark price; conditional orders with `TriggerBy::MarkPrice` react to it.
    SetMarkPrice {
        price: Price,
    },
    /// Closes (part of) a position: cancels the account's live orders in the market, then runs
    /// `order_id` as an IOC reduce-only limit order at `price`, its quantity clamped to the
    /// position. `side` is the closing side (SELL closes a long).
    Liquidate {
        order_id: OrderId,
        account: AccountId,
        side: Side,
        qty: Qty,
        price: Price,
    },
    /// Auto-deleveraging: `account`'s position is reduced by `qty` on `side` and `counterparty`'s
    /// opposite position by the same quantity, at `price`, off the book and without fees.
    Deleverage {
        account: AccountId,
        counterparty: AccountId,
        side: Side,
        qty: Qty,
        price: Price,
    },
    /// Settles one funding interval (ending at `interval`, unix ms) at `rate` (signed, a positive
    /// rate makes longs pay) and `mark`. An interval not after the last settled one does nothing.
    Funding {
        interval: u64,
        rate: crate::config::Rate,
        mark: Price,
    },
}

/// What happened. Every event has the market's next sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Accepted {
        seq: Seq,
        order_id: OrderId,
        account: AccountId,
        side: Side,
        order_type: OrderType,
        price: Option<Price>,
        qty: Qty,
    },
    Rejected {
        seq: Seq,
        order_id: OrderId,
        account: AccountId,
        reason: RejectReason,
    },
    Triggered {
        seq: Seq,
        order_id: OrderId,
        account: AccountId,
        trigger_price: Price,
    },
    Trade {
        seq: Seq,
        taker_order_id: OrderId,
        taker_account: AccountId,
        maker_order_id: OrderId,
        maker_account: AccountId,
        taker_side: Side,
        price: Price,
        qty: Qty,
        /// Quote atoms the taker pays (rounded up).
        taker_fee: i128,
        /// Quote atoms the maker pays; negative for a rebate (rounded toward zero).
        maker_fee: i128,
    },
    Cancelled {
        seq: Seq,
        order_id: OrderId,
        account: AccountId,
        remaining: Qty,
        reason: CancelReason,
    },
    Expired {
        seq: Seq,
        order_id: OrderId,
        account: AccountId,
        remaining: Qty,
    },
    Amended {
        seq: Seq,
        order_id: OrderId,
        account: AccountId,
        price: Price,
        qty: Qty,
        priority_kept: bool,
    },
    /// The new aggregate of one price level after a command (qty 0 means the level is gone).
    BookDelta {
        seq: Seq,
        side: Side,
        price: Price,
        qty: Total,
        orders: u32,
    },
    /// A liquidation order starts (after the account's orders were cancelled); its trades and
    /// the cancellation of any remainder follow. `qty` is already clamped to the position.
    Liquidation {
        seq: Seq,
        order_id: OrderId,
        account: AccountId,
        side: Side,
        qty: Qty,
        price: Price,
    },
    /// Auto-deleveraging done: `account` traded `qty` on `side` with `counterparty` at `price`.
    Adl {
        seq: Seq,
        account: AccountId,
        counterparty: AccountId,
        side: Side,
        qty: Qty,
        price: Price,
    },
    /// A command without an order (deleverage, funding) that did nothing.
    CommandRejected {
        seq: Seq,
        reason: RejectReason,
    },
    /// One settled funding interval: every open position's payment (quote atoms, negative = the
    /// account pays), in account order, and the rounding remainder booked to the house so that
    /// payments plus `house` sum to zero.
    Funding {
        seq: Seq,
        interval: u64,
        rate: crate::config::Rate,
        mark: Price,
        payments: Vec<(AccountId, i128)>,
        house: i128,
    },
}

impl Event {
    pub const fn seq(&self) -> Seq {
        match *self {
            Event::Accepted { seq, .. }
            | Event::Rejected { seq, .. }
            | Event::Triggered { seq, .. }
            | Event::Trade { seq, .. }
            | Event::Cancelled { seq, .. }
            | Event::Expired { seq, .. }
            | Event::Amended { seq, .. }
            | Event::BookDelta { seq, .. }
            | Event::Liquidation { seq, .. }
            | Event::Adl { seq, .. }
            | Event::CommandRejected { seq, .. }
            | Event::Funding { seq, .. } => seq,
        }
    }

    pub const fn kind(&self) -> &'static str {
        match self {
            Event::Accepted { .. } => "accepted",
            Event::Rejected { .. } => "rejected",
            Event::Triggered { .. } => "triggered",
            Event::Trade { .. } => "trade",
            Event::Cancelled { .. } => "cancelled",
            Event::Expired { .. } => "expired",
            Event::Amended { .. } => "amended",
            Event::BookDelta { .. } => "book_delta",
            Event::Liquidation { .. } => "liquidation",
            Event::Adl { .. } => "adl",
            Event::CommandRejected { .. } => "command_rejected",
            Event::Funding { .. } => "funding",
        }
    }
}

/// Where a live order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Resting in the book.
    Open,
    /// A conditional order waiting for its trigger.
    Untriggered,
}

/// A read-only view of one live order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: OrderId,
    pub account: AccountId,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub price: Option<Price>,
    pub trigger_price: Option<Price>,
    pub remaining: Qty,
    pub filled: Qty,
    pub status: OrderStatus,
    pub reduce_only: bool,
    pub post_only: bool,
    pub expire_at: Option<u64>,
    pub client_order_id: Option<ClientOrderId>,
}

/// One aggregated price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelView {
    pub price: Price,
    pub qty: Total,
    pub orders: u32,
}
