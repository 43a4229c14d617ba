"""Differential test: random command streams through `ordex.Engine` and the reference book.

Streams use a narrow price range, few order ids and few accounts so that crossing, partial fills,
self-trades, duplicate ids, amends of live orders and price-band edges happen often. Every event
(kind, seq and every field that applies) must be identical, the engine's book invariants must
hold after every command, and the final book must agree down to each level's FIFO queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ordex
from tests.engine.reference_book import EventDict, ReferenceBook


@dataclass(frozen=True)
class Place:
    order_id: int
    account: int
    side: str
    price: int | None
    qty: int
    order_type: str
    time_in_force: str | None
    expire_at: int | None
    post_only: bool
    stp: str
    client_order_id: str | None


@dataclass(frozen=True)
class Cancel:
    order_id: int
    account: int


@dataclass(frozen=True)
class CancelAll:
    account: int


@dataclass(frozen=True)
class Amend:
    order_id: int
    account: int
    price: int | None
    qty: int | None


@dataclass(frozen=True)
class AdvanceTime:
    now: int


@dataclass(frozen=True)
class SetMarkPrice:
    price: int


Command = Place | Cancel | CancelAll | Amend | AdvanceTime | SetMarkPrice


@dataclass(frozen=True)
class Market:
    maker_fee: str
    taker_fee: str
    price_band: str
    min_qty: str

    def config(self) -> ordex.MarketConfig:
        # Unit grid with 2 quote decimals: 100 atoms per tick-lot, so fees round visibly.
        return ordex.MarketConfig(
            "DIFF-PERP",
            "PERP",
            "DIFF",
            "USD",
            tick_size="1",
            lot_size="1",
            quote_decimals=2,
            maker_fee=self.maker_fee,
            taker_fee=self.taker_fee,
            price_band=self.price_band,
            min_qty=self.min_qty,
        )

    def reference(self) -> ReferenceBook:
        def rate(s: str) -> int:
            return int(Decimal(s) * 100_000_000)

        return ReferenceBook(
            atoms_per_tick_lot=100,
            maker_fee=rate(self.maker_fee),
            taker_fee=rate(self.taker_fee),
            price_band=rate(self.price_band),
            min_qty=int(self.min_qty),
        )


markets = st.builds(
    Market,
    maker_fee=st.sampled_from(["0.0002", "-0.0001", "0", "0.00033333"]),
    taker_fee=st.sampled_from(["0.0005", "0.001", "0.00077777"]),
    # 3.3% gives bands whose edge is not a whole tick near 100, exercising the rounding.
    price_band=st.sampled_from(["0.05", "0.033", "0.1"]),
    min_qty=st.sampled_from(["1", "1", "2"]),
)

T = TypeVar("T")

# Every choice below is one draw of a percentile mapped onto a list (repeated entries weigh more):
# cheap to generate, and shrinking moves towards the first entry.
PERCENTILE = st.integers(0, 99)
ORDER_IDS = range(1, 13)
ACCOUNTS = (1, 2, 3)
VALID_PRICES = range(92, 109)
VALID_QUANTITIES = range(1, 7)


def pick(draw: st.DrawFn, options: Sequence[T]) -> T:
    return options[draw(PERCENTILE) * len(options) // 100]


def chance(draw: st.DrawFn, percent: int) -> bool:
    return draw(PERCENTILE) < percent


def price(draw: st.DrawFn) -> int:
    # Mostly on the narrow grid, sometimes out of range (or the smallest valid tick).
    return pick(draw, (0, -5, 1)) if chance(draw, 5) else pick(draw, VALID_PRICES)


def quantity(draw: st.DrawFn) -> int:
    return pick(draw, (0, -1)) if chance(draw, 5) else pick(draw, VALID_QUANTITIES)


def usual_account(order_id: int) -> int:
    return order_id % 3 + 1


def owner(draw: st.DrawFn, order_id: int) -> int:
    """Usually the id's usual account, so that cancels and amends find the order."""
    return pick(draw, ACCOUNTS) if chance(draw, 25) else usual_account(order_id)


def place(draw: st.DrawFn) -> Place:
    order_type = pick(draw, ("LIMIT", "LIMIT", "LIMIT", "MARKET"))
    if order_type == "LIMIT":
        tif = pick(draw, (None, "GTC", "GTC", "IOC", "FOK", "GTD"))
        limit_price = None if chance(draw, 3) else price(draw)
    else:
        tif = pick(draw, (None, None, "IOC", "FOK", "FOK", "GTC"))
        limit_price = price(draw) if chance(draw, 25) else None
    expire_at = None
    if tif == "GTD" and not chance(draw, 10):
        expire_at = pick(draw, range(91))
    elif tif != "GTD" and chance(draw, 3):
        expire_at = 50  # an expiry without GTD is refused
    order_id = pick(draw, ORDER_IDS)
    return Place(
        order_id=order_id,
        account=owner(draw, order_id),
        side=pick(draw, ("BUY", "SELL")),
        price=limit_price,
        qty=quantity(draw),
        order_type=order_type,
        time_in_force=tif,
        expire_at=expire_at,
        post_only=chance(draw, 15),
        stp=pick(draw, ("NONE", "NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")),
        client_order_id=pick(draw, (None, None, None, "a", "b")),
    )


def amend(draw: st.DrawFn) -> Amend:
    order_id = pick(draw, ORDER_IDS)
    account = owner(draw, order_id)
    which = pick(draw, ("price", "price", "qty", "qty", "both", "neither"))
    new_price = price(draw) if which in ("price", "both") else None
    new_qty = quantity(draw) if which in ("qty", "both") else None
    if which == "qty" and chance(draw, 50):
        new_qty = pick(draw, (1, 2, 3))  # small: often a shrink in place
    return Amend(order_id, account, new_price, new_qty)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    # Mostly placements so the book builds up; cancel-alls are rare (they empty an account).
    roll = draw(PERCENTILE)
    if roll < 62:
        return place(draw)
    if roll < 70:
        order_id = pick(draw, ORDER_IDS)
        return Cancel(order_id, owner(draw, order_id))
    if roll < 72:
        return CancelAll(pick(draw, ACCOUNTS))
    if roll < 90:
        return amend(draw)
    if roll < 96:
        return AdvanceTime(pick(draw, range(61)))
    return SetMarkPrice(pick(draw, (100, 0, -1)))


COMMANDS = commands()
STREAM_LENGTHS = st.integers(0, 150)


@st.composite
def streams(draw: st.DrawFn) -> list[Command]:
    # Drawing the length first gives long streams as often as short ones (plain `st.lists` rarely
    # gets past a few dozen commands, too few for a book to build up).
    return [draw(COMMANDS) for _ in range(draw(STREAM_LENGTHS))]


def run_engine(engine: ordex.Engine, cmd: Command) -> list[EventDict]:
    if isinstance(cmd, Place):
        events = engine.place(
            cmd.order_id,
            cmd.account,
            "BUY" if cmd.side == "BUY" else "SELL",
            cmd.price,
            cmd.qty,
            order_type="LIMIT" if cmd.order_type == "LIMIT" else "MARKET",
            time_in_force=cmd.time_in_force,  # type: ignore[arg-type]
            expire_at=cmd.expire_at,
            post_only=cmd.post_only,
            stp=cmd.stp,  # type: ignore[arg-type]
            client_order_id=cmd.client_order_id,
        )
    elif isinstance(cmd, Cancel):
        events = engine.cancel(cmd.order_id, cmd.account)
    elif isinstance(cmd, CancelAll):
        events = engine.cancel_all(cmd.account)
    elif isinstance(cmd, Amend):
        events = engine.amend(cmd.order_id, cmd.account, price=cmd.price, qty=cmd.qty)
    elif isinstance(cmd, AdvanceTime):
        events = engine.advance_time(cmd.now)
    else:
        events = engine.set_mark_price(cmd.price)
    return [ev.to_dict() for ev in events]


def run_reference(book: ReferenceBook, cmd: Command) -> list[EventDict]:
    if isinstance(cmd, Place):
        return book.place(
            cmd.order_id,
            cmd.account,
            cmd.side,
            cmd.price,
            cmd.qty,
            order_type=cmd.order_type,
            time_in_force=cmd.time_in_force,
            expire_at=cmd.expire_at,
            post_only=cmd.post_only,
            stp=cmd.stp,
            client_order_id=cmd.client_order_id,
        )
    if isinstance(cmd, Cancel):
        return book.cancel(cmd.order_id, cmd.account)
    if isinstance(cmd, CancelAll):
        return book.cancel_all(cmd.account)
    if isinstance(cmd, Amend):
        return book.amend(cmd.order_id, cmd.account, cmd.price, cmd.qty)
    if isinstance(cmd, AdvanceTime):
        return book.advance_time(cmd.now)
    return book.set_mark_price(cmd.price)


def queue_of_engine(engine: ordex.Engine, side: str, price: int) -> list[tuple[int, ...]]:
    orders = engine.level_orders("BUY" if side == "BUY" else "SELL", price)
    return [(o.order_id, o.account, o.remaining, o.filled) for o in orders]


def queue_of_reference(book: ReferenceBook, side: str, price: int) -> list[tuple[int, ...]]:
    return [(o.order_id, o.account, o.qty, o.filled) for o in book.level_orders(side, price)]


def assert_same_run(market: Market, stream: list[Command]) -> None:
    engine = ordex.Engine(market.config())
    book = market.reference()
    for step, cmd in enumerate(stream):
        got = run_engine(engine, cmd)
        want = run_reference(book, cmd)
        assert got == want, f"command {step}: {cmd}"
        engine.check_invariants()
    assert engine.depth(100) == book.depth(100)
    bids, asks = engine.depth(100)
    for side, levels in (("BUY", bids), ("SELL", asks)):
        for price, _, _ in levels:
            assert queue_of_engine(engine, side, price) == queue_of_reference(book, side, price)
    assert engine.last_seq == book.seq
    assert engine.last_price == book.last_price
    assert engine.now == book.now


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(market=markets, stream=streams())
def test_engine_matches_the_reference_book(market: Market, stream: list[Command]) -> None:
    assert_same_run(market, stream)


# Hand-picked streams around the rules most likely to drift apart, run on every test invocation.
DEFAULT_MARKET = Market(maker_fee="0.0002", taker_fee="0.0005", price_band="0.05", min_qty="1")


def limit(order_id: int, account: int, side: str, price: int, qty: int, **kw: object) -> Place:
    fields: dict[str, object] = {
        "order_type": "LIMIT",
        "time_in_force": None,
        "expire_at": None,
        "post_only": False,
        "stp": "NONE",
        "client_order_id": None,
    }
    fields.update(kw)
    return Place(order_id, account, side, price, qty, **fields)  # type: ignore[arg-type]


def market(order_id: int, account: int, side: str, qty: int, **kw: object) -> Place:
    fields: dict[str, object] = {"order_type": "MARKET", "time_in_force": None}
    fields.update(kw)
    return limit(order_id, account, side, None, qty, **fields)  # type: ignore[arg-type]


def test_known_streams() -> None:
    streams: list[list[Command]] = [
        # Market buy sweeping to the band edge: 100 * 1.05 = 105 is reachable, 106 is not.
        [
            limit(1, 1, "SELL", 100, 1),
            limit(2, 1, "SELL", 105, 1),
            limit(3, 1, "SELL", 106, 1),
            market(4, 2, "BUY", 5),
        ],
        # Market sell: ceil(97 * 0.95) = 93 (92.15 rounds up), so 92 stays.
        [
            limit(1, 1, "BUY", 97, 1),
            limit(2, 1, "BUY", 93, 1),
            limit(3, 1, "BUY", 92, 1),
            market(4, 2, "SELL", 5),
        ],
        # FOK with EXPIRE_MAKER counts only other accounts' liquidity.
        [
            limit(1, 5, "SELL", 100, 2),
            limit(2, 6, "SELL", 100, 2),
            limit(9, 5, "BUY", 100, 3, time_in_force="FOK", stp="EXPIRE_MAKER"),
            limit(10, 5, "BUY", 100, 2, time_in_force="FOK", stp="EXPIRE_MAKER"),
        ],
        # Amend: shrink keeps priority, growth and re-pricing go to the back and may trade.
        [
            limit(1, 1, "BUY", 100, 5),
            limit(2, 2, "BUY", 100, 5),
            Amend(1, 1, None, 3),
            Amend(2, 2, None, 6),
            limit(3, 3, "SELL", 102, 2),
            Amend(1, 1, 102, None),
        ],
        # GTD expiry in (expire_at, arrival) order, and time that does not go back.
        [
            limit(1, 1, "BUY", 100, 1, time_in_force="GTD", expire_at=20),
            limit(2, 1, "BUY", 99, 1, time_in_force="GTD", expire_at=10),
            AdvanceTime(25),
            AdvanceTime(5),
        ],
    ]
    for stream in streams:
        assert_same_run(DEFAULT_MARKET, stream)
