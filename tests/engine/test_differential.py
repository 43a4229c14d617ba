"""Differential test: random command streams through `ordex.Engine` and the reference book.

Streams (see `command_streams.py`) use a narrow price range, few order ids and few accounts so
that crossing, partial fills, self-trades, duplicate ids, amends of live orders, price-band edges,
triggers (by last and by mark price) and reduce-only orders against positions happen often.
Every event (kind, seq and every field that applies) must be identical, the engine's book
invariants must hold after every command, and the final book must agree down to each level's FIFO
queue, as must positions, untriggered orders, prices and time.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import ordex
from tests.engine.command_streams import (
    ACCOUNTS,
    AdvanceTime,
    Amend,
    Command,
    Market,
    Place,
    markets,
    run_engine,
    run_reference,
    streams,
)
from tests.engine.reference_book import ReferenceBook


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
    assert (engine.last_price, engine.mark_price) == (book.last_price, book.mark_price)
    assert engine.now == book.now
    assert engine.untriggered_orders == len(book.stops)
    for account in ACCOUNTS:
        assert engine.position(account) == book.positions.get(account, 0)


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
