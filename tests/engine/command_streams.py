"""Random command streams for the engine tests: the command model, Hypothesis strategies over a
small price range with few order ids and accounts, and how to run a command on `ordex.Engine` and
on the reference book.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

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
    trigger_price: int | None = None
    trigger_by: str = "LAST_PRICE"
    reduce_only: bool = False


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
    perpetual: bool = True

    def config(self) -> ordex.MarketConfig:
        # Unit grid with 2 quote decimals: 100 atoms per tick-lot, so fees round visibly.
        return ordex.MarketConfig(
            "DIFF",
            "PERP" if self.perpetual else "SPOT",
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
            perpetual=self.perpetual,
        )


markets = st.builds(
    Market,
    maker_fee=st.sampled_from(["0.0002", "-0.0001", "0", "0.00033333"]),
    taker_fee=st.sampled_from(["0.0005", "0.001", "0.00077777"]),
    # 3.3% gives bands whose edge is not a whole tick near 100, exercising the rounding.
    price_band=st.sampled_from(["0.05", "0.033", "0.1"]),
    min_qty=st.sampled_from(["1", "1", "2"]),
    # Mostly perpetual: positions are what reduce-only orders work against.
    perpetual=st.sampled_from([True, True, True, False]),
)

T = TypeVar("T")

# Every choice below is one draw of a percentile mapped onto a list (repeated entries weigh more):
# cheap to generate, and shrinking moves towards the first entry.
PERCENTILE = st.integers(0, 99)
ORDER_IDS = range(1, 17)
ACCOUNTS = (1, 2, 3)
VALID_PRICES = range(92, 109)
VALID_QUANTITIES = range(1, 7)
ORDER_TYPES = (
    *["LIMIT"] * 6,
    *["MARKET"] * 2,
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)


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
    order_type = pick(draw, ORDER_TYPES)
    if order_type in ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"):
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
    conditional = order_type not in ("LIMIT", "MARKET")
    trigger_price = None
    if conditional != chance(draw, 3):  # now and then a trigger where it does not belong
        trigger_price = price(draw)
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
        post_only=chance(draw, 12),
        stp=pick(draw, ("NONE", "NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")),
        client_order_id=pick(draw, (None, None, None, "a", "b")),
        trigger_price=trigger_price,
        trigger_by=pick(draw, ("LAST_PRICE", "LAST_PRICE", "MARK_PRICE")),
        reduce_only=chance(draw, 15),
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
    return SetMarkPrice(pick(draw, (0, -1)) if chance(draw, 10) else pick(draw, VALID_PRICES))


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
            order_type=cmd.order_type,  # type: ignore[arg-type]
            time_in_force=cmd.time_in_force,  # type: ignore[arg-type]
            trigger_price=cmd.trigger_price,
            trigger_by=cmd.trigger_by,  # type: ignore[arg-type]
            expire_at=cmd.expire_at,
            post_only=cmd.post_only,
            reduce_only=cmd.reduce_only,
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
            trigger_price=cmd.trigger_price,
            trigger_by=cmd.trigger_by,
            expire_at=cmd.expire_at,
            post_only=cmd.post_only,
            reduce_only=cmd.reduce_only,
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


def command_object(
    cmd: Command,
) -> (
    ordex.Order
    | ordex.Cancel
    | ordex.CancelAll
    | ordex.Amend
    | ordex.AdvanceTime
    | ordex.SetMarkPrice
):
    """The binding's command object for `Engine.process` and `Engine.submit`."""
    if isinstance(cmd, Place):
        return ordex.Order(
            cmd.order_id,
            cmd.account,
            "BUY" if cmd.side == "BUY" else "SELL",
            cmd.price,
            cmd.qty,
            order_type=cmd.order_type,  # type: ignore[arg-type]
            time_in_force=cmd.time_in_force,  # type: ignore[arg-type]
            trigger_price=cmd.trigger_price,
            trigger_by=cmd.trigger_by,  # type: ignore[arg-type]
            expire_at=cmd.expire_at,
            post_only=cmd.post_only,
            reduce_only=cmd.reduce_only,
            stp=cmd.stp,  # type: ignore[arg-type]
            client_order_id=cmd.client_order_id,
        )
    if isinstance(cmd, Cancel):
        return ordex.Cancel(cmd.order_id, cmd.account)
    if isinstance(cmd, CancelAll):
        return ordex.CancelAll(cmd.account)
    if isinstance(cmd, Amend):
        return ordex.Amend(cmd.order_id, cmd.account, cmd.price, cmd.qty)
    if isinstance(cmd, AdvanceTime):
        return ordex.AdvanceTime(cmd.now)
    return ordex.SetMarkPrice(cmd.price)


def json_payload(cmd: Command, cmd_id: int) -> bytes:
    """The command on the wire. The markets here have tick 1 and lot 1, so a price or quantity
    string is just the integer written out (including the invalid ones, such as "-5")."""
    wire: dict[str, object] = {"cmd_id": cmd_id}
    if isinstance(cmd, Place):
        wire.update(
            type="place",
            order_id=cmd.order_id,
            account=cmd.account,
            side=cmd.side,
            order_type=cmd.order_type,
            qty=str(cmd.qty),
            trigger_by=cmd.trigger_by,
            post_only=cmd.post_only,
            reduce_only=cmd.reduce_only,
            stp=cmd.stp,
        )
        optional = {
            "time_in_force": cmd.time_in_force,
            "price": None if cmd.price is None else str(cmd.price),
            "trigger_price": None if cmd.trigger_price is None else str(cmd.trigger_price),
            "expire_at": cmd.expire_at,
            "client_order_id": cmd.client_order_id,
        }
        wire.update({k: v for k, v in optional.items() if v is not None})
    elif isinstance(cmd, Cancel):
        wire.update(type="cancel", order_id=cmd.order_id, account=cmd.account)
    elif isinstance(cmd, CancelAll):
        wire.update(type="cancel_all", account=cmd.account)
    elif isinstance(cmd, Amend):
        wire.update(type="amend", order_id=cmd.order_id, account=cmd.account)
        if cmd.price is not None:
            wire["price"] = str(cmd.price)
        if cmd.qty is not None:
            wire["qty"] = str(cmd.qty)
    elif isinstance(cmd, AdvanceTime):
        wire.update(type="advance_time", now=cmd.now)
    else:
        wire.update(type="set_mark_price", price=str(cmd.price))
    return json.dumps(wire).encode()


# Event fields that the wire format writes as decimal strings, and in which unit.
PRICE_FIELDS = ("price", "trigger_price")
QTY_FIELDS = ("qty", "remaining")
QUOTE_FIELDS = ("taker_fee", "maker_fee")


def wire_event(cfg: ordex.MarketConfig, event: EventDict, cmd_id: int) -> dict[str, object]:
    """What `process_json` should write for an event the typed API returned as `to_dict()`."""
    wire: dict[str, object] = {"seq": event["seq"], "type": event["kind"], "market": cfg.symbol}
    wire["cmd_id"] = cmd_id
    for key, value in event.items():
        if key in ("kind", "seq"):
            continue
        if key == "side" and event["kind"] == "trade":
            key = "taker_side"
        if isinstance(value, int) and not isinstance(value, bool):
            if key in PRICE_FIELDS:
                value = cfg.format_price(value)
            elif key in QTY_FIELDS:
                value = cfg.format_qty(value)
            elif key in QUOTE_FIELDS:
                value = cfg.format_quote(value)
        wire[key] = value
    return wire
