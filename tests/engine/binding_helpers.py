"""Shared helpers of the binding tests: a unit-grid market and terse order placement.

Markets use a unit grid (tick 1, lot 1) with 2 quote decimals, so one tick-lot is 100 atoms and
fee rounding shows in small numbers. Every helper that changes the book checks its invariants.
"""

from __future__ import annotations

from typing import Any

import ordex
from ordex.engine_types import OrderType, Side

Kwargs = dict[str, Any]
MAX_TICKS = 10**15  # the engine's largest price in ticks (and quantity in lots)


def perp(**overrides: Any) -> ordex.Engine:
    settings: Kwargs = {"tick_size": "1", "lot_size": "1", "quote_decimals": 2}
    settings.update(overrides)
    return ordex.Engine(ordex.MarketConfig("TEST-PERP", "PERP", "TEST", "USD", **settings))


def spot() -> ordex.Engine:
    cfg = ordex.MarketConfig(
        "TEST-USD", "SPOT", "TEST", "USD", tick_size="1", lot_size="1", quote_decimals=2
    )
    return ordex.Engine(cfg)


def checked(engine: ordex.Engine, events: ordex.Events) -> ordex.Events:
    engine.check_invariants()
    return events


def buy(e: ordex.Engine, oid: int, account: int, price: int, qty: int, **kw: Any) -> ordex.Events:
    return checked(e, e.place(oid, account, "BUY", price, qty, **kw))


def sell(e: ordex.Engine, oid: int, account: int, price: int, qty: int, **kw: Any) -> ordex.Events:
    return checked(e, e.place(oid, account, "SELL", price, qty, **kw))


def market(
    e: ordex.Engine, oid: int, account: int, side: Side, qty: int, **kw: Any
) -> ordex.Events:
    return checked(
        e, e.place(oid, account, side, kw.pop("price", None), qty, order_type="MARKET", **kw)
    )


def stop(
    e: ordex.Engine,
    oid: int,
    account: int,
    order_type: OrderType,
    side: Side,
    trigger: int,
    price: int | None = None,
    qty: int = 1,
    **kw: Any,
) -> ordex.Events:
    events = e.place(
        oid, account, side, price, qty, order_type=order_type, trigger_price=trigger, **kw
    )
    return checked(e, events)


def cancels(events: ordex.Events) -> list[tuple[int | None, int | None, str | None]]:
    return [(ev.order_id, ev.remaining, ev.reason) for ev in events if ev.kind == "cancelled"]


def rejection(events: ordex.Events) -> str | None:
    return next((ev.reason for ev in events if ev.kind == "rejected"), None)


def triggered(events: ordex.Events) -> list[int | None]:
    return [ev.order_id for ev in events if ev.kind == "triggered"]


def queue(e: ordex.Engine, side: Side, price: int) -> list[int]:
    return [o.order_id for o in e.level_orders(side, price)]
