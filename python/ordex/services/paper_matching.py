"""Paper fills through the Rust engine: an external exchange's book or trades as the other side.

- **Taking** (`take`): the venue's current L2 book is loaded into a fresh `ordex.Engine` as resting
  orders of an outside account, then the paper order is placed against it. A market order walks the
  levels (real slippage, the remainder expires), a limit order takes what crosses and its rest is
  left to rest; FOK fills whole or not at all. Taker fees at the market's taker rate.
- **Resting** (`rest_against`): a resting paper limit order is placed alone in a fresh engine, then
  what the market did since the last look is sent against it as immediate-or-cancel orders of the
  outside account: every new trade print (its price and amount) and every level of the current book
  that crosses it. It fills at its own price as the maker, at the maker rate, as it would have on
  the exchange.

The engine's grid is built from the numbers involved (the finest decimal places of the prices and
of the quantities), so every exchange value is exact on it; fees are then exact to 10^-8 of a tick
times a lot. Values from ccxt arrive as floats: they are converted through their shortest repr,
which gives back the exchange's decimal string.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

import ordex
from ordex.engine_types import OrderType, Side, TimeInForce
from ordex.services.markets import decimal_places, plain

OUTSIDE = 1
PAPER = 2
PAPER_ORDER_ID = 1
MAX_QUOTE_DECIMALS = 18
RATE_STEP = Decimal("0.00000001")
# The engine protects market orders with a band around the best price; a paper market order walks
# the external book as far as it goes (what was fetched of it), like the exchange would.
PRICE_BAND = "1"


class PaperMatchingError(ValueError):
    """Numbers the engine's grid cannot hold (too many decimal places)."""


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Book:
    """Best levels first on each side; the finest decimal places of its prices and amounts are
    worked out once (a cached book serves many orders)."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    price_places: int = field(init=False)
    amount_places: int = field(init=False)

    def __post_init__(self) -> None:
        levels = (*self.bids, *self.asks)
        object.__setattr__(self, "price_places", _places(lv.price for lv in levels))
        object.__setattr__(self, "amount_places", _places(lv.amount for lv in levels))

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


@dataclass(frozen=True, slots=True)
class Print:
    """One trade of the exchange: `key` is its id there."""

    key: str
    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Fees:
    maker: Decimal
    taker: Decimal


@dataclass(frozen=True, slots=True)
class Fill:
    price: Decimal
    quantity: Decimal
    fee: Decimal
    liquidity: str  # TAKER | MAKER
    source: str  # what it traded against: "book" or the print's key


@dataclass(frozen=True, slots=True)
class Outcome:
    fills: tuple[Fill, ...]
    remaining: Decimal
    rejected: str | None = None  # the engine's reason when it refused the order

    @property
    def executed(self) -> Decimal:
        return sum((f.quantity for f in self.fills), Decimal(0))

    @property
    def quote(self) -> Decimal:
        return sum((f.price * f.quantity for f in self.fills), Decimal(0))

    @property
    def fees(self) -> Decimal:
        return sum((f.fee for f in self.fills), Decimal(0))


def number(value: object) -> Decimal:
    """A ccxt number (float, int or string) as the exact decimal the exchange sent."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def rate(value: object) -> Decimal:
    """A fee rate on the engine's grid of 10^-8 (a finer rate is rounded up)."""
    return number(value).quantize(RATE_STEP, rounding=ROUND_CEILING)


def _config(symbol: str, price_places: int, amount_places: int, fees: Fees) -> ordex.MarketConfig:
    grid = price_places + amount_places
    if grid > MAX_QUOTE_DECIMALS:
        raise PaperMatchingError("prices and quantities carry too many decimal places")
    return ordex.MarketConfig(
        symbol[:64] or "PAPER",
        "SPOT",
        "BASE",
        "QUOTE",
        tick_size=plain(Decimal(1).scaleb(-price_places)),
        lot_size=plain(Decimal(1).scaleb(-amount_places)),
        quote_decimals=min(MAX_QUOTE_DECIMALS, grid + 8),
        price_band=PRICE_BAND,
        maker_fee=plain(fees.maker),
        taker_fee=plain(fees.taker),
    )


def _places(values: Iterable[Decimal]) -> int:
    return max((decimal_places(v) for v in values), default=0)


def _units(value: Decimal, places: int) -> int:
    """`value` in units of 10^-places: exact, as `places` is at least the value's own."""
    return int(value.scaleb(places))


def _fills(
    config: ordex.MarketConfig, events: ordex.Events, liquidity: str, sources: dict[int, str]
) -> list[Fill]:
    fills: list[Fill] = []
    for event in events:
        if event.kind != "trade":
            continue
        paper_is_taker = event.taker_account == PAPER
        fee = event.taker_fee if paper_is_taker else event.maker_fee
        outside_order = event.maker_order_id if paper_is_taker else event.taker_order_id
        assert event.price is not None and event.qty is not None and fee is not None
        fills.append(
            Fill(
                price=Decimal(config.format_price(event.price)),
                quantity=Decimal(config.format_qty(event.qty)),
                fee=Decimal(config.format_quote(fee)),
                liquidity=liquidity,
                source=sources.get(outside_order or 0, "book"),
            )
        )
    return fills


def _rejection(events: ordex.Events) -> str | None:
    for event in events:
        if event.kind == "rejected" and event.order_id == PAPER_ORDER_ID:
            return event.reason or "REJECTED"
    return None


def take(
    symbol: str,
    book: Book,
    fees: Fees,
    side: Side,
    quantity: Decimal,
    price: Decimal | None,
    time_in_force: TimeInForce,
) -> Outcome:
    """Matches a market (`price` None) or limit order against the book as the taker."""
    asks = [lv for lv in book.asks if lv.amount > 0 and lv.price > 0]
    best_ask = asks[0].price if asks else None
    # A crossed snapshot (stale levels) would trade with itself: bids under the best ask only.
    bids = [
        lv
        for lv in book.bids
        if lv.amount > 0 and lv.price > 0 and (best_ask is None or lv.price < best_ask)
    ]
    pp = max(book.price_places, 0 if price is None else decimal_places(price))
    qp = max(book.amount_places, decimal_places(quantity))
    config = _config(symbol, pp, qp, fees)
    engine = ordex.Engine(config)
    order_id = PAPER_ORDER_ID
    sides: tuple[tuple[Side, list[Level]], ...] = (("SELL", asks), ("BUY", bids))
    for lv_side, levels in sides:
        for level in levels:
            order_id += 1
            engine.place(
                order_id, OUTSIDE, lv_side, _units(level.price, pp), _units(level.amount, qp)
            )
    order_type: OrderType = "MARKET" if price is None else "LIMIT"
    if price is None and time_in_force == "GTC":
        time_in_force = "IOC"
    events = engine.place(
        PAPER_ORDER_ID,
        PAPER,
        side,
        None if price is None else _units(price, pp),
        _units(quantity, qp),
        order_type=order_type,
        time_in_force=time_in_force,
    )
    fills = _fills(config, events, "TAKER", {})
    executed = sum((f.quantity for f in fills), Decimal(0))
    rejected = _rejection(events)
    if rejected == "NO_LIQUIDITY" or (rejected and price is None and not asks and side == "BUY"):
        rejected = "no liquidity on the other side of the book"
    return Outcome(tuple(fills), quantity - executed, rejected)


def rest_against(
    symbol: str,
    fees: Fees,
    side: Side,
    remaining: Decimal,
    price: Decimal,
    prints: Sequence[Print],
    book: Book | None,
) -> Outcome:
    """Fills a resting limit order from new trade prints, then from the levels of `book` that
    cross it; every fill is at the order's price, as the maker."""
    opposite: Side = "SELL" if side == "BUY" else "BUY"
    levels = [] if book is None else list(book.asks if side == "BUY" else book.bids)
    flow = [(p.key, p.price, p.amount) for p in prints if p.amount > 0 and p.price > 0]
    flow += [("book", lv.price, lv.amount) for lv in levels if lv.amount > 0 and lv.price > 0]
    pp = _places([price, *(f[1] for f in flow)])
    qp = _places([remaining, *(f[2] for f in flow)])
    config = _config(symbol, pp, qp, fees)
    engine = ordex.Engine(config)
    engine.place(PAPER_ORDER_ID, PAPER, side, _units(price, pp), _units(remaining, qp))
    fills: list[Fill] = []
    sources: dict[int, str] = {}
    for index, (source, level_price, amount) in enumerate(flow, start=PAPER_ORDER_ID + 1):
        if engine.order(PAPER_ORDER_ID) is None:
            break
        sources[index] = source
        events = engine.place(
            index,
            OUTSIDE,
            opposite,
            _units(level_price, pp),
            _units(amount, qp),
            time_in_force="IOC",
        )
        fills.extend(_fills(config, events, "MAKER", sources))
    executed = sum((f.quantity for f in fills), Decimal(0))
    return Outcome(tuple(fills), remaining - executed)


def triggered(order_type: str, side: str, stop_price: Decimal, last: Decimal) -> bool:
    """Whether a stop-loss or take-profit order triggers at the last trade price."""
    rising = (order_type.startswith("STOP_LOSS") and side == "BUY") or (
        order_type.startswith("TAKE_PROFIT") and side == "SELL"
    )
    return last >= stop_price if rising else last <= stop_price
