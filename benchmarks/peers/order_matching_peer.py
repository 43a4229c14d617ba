"""`order-matching` (PyPI, with its `polars` extra): a pure-Python matching engine for simulations.

Orders are dataclasses with a timestamp, a string id and a trader id; `MatchingEngine.place`
queues them and `MatchingEngine.match(timestamp)` runs the queue and returns the trades.
`cancel_order(id)` looks the order up by scanning the whole book. Per command the adapter places
one order and matches at once, with a timestamp that grows by a microsecond per command so time
priority follows arrival order. No IOC and no amend: IOC is place + match, then a cancel when a
remainder rested; amend is cancel + new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from time import perf_counter
from typing import Any

from benchmarks.peers.base import AMEND, CANCEL, IOC, LIMIT, Command, Trade, import_peer

START = datetime(2026, 1, 1)


class OrderMatchingPeer:
    name = "order-matching"
    package = "order-matching"
    # every place and cancel scans the whole book: a longer prefix only adds minutes
    command_cap: int | None = 2_000
    adaptation = "place(Orders([LimitOrder(...)])) + match(ts); IOC = then cancel_order; amend = cancel + new"
    known_difference: str | None = None

    def __init__(self) -> None:
        self.engine_module: Any = None
        self.order_module: Any = None
        self.orders_module: Any = None
        self.side: Any = None

    def load(self) -> None:
        # the engine module needs polars, which only the `polars` extra installs
        self.engine_module = import_peer("order_matching.matching_engine")
        self.order_module = import_peer("order_matching.order")
        self.orders_module = import_peer("order_matching.orders")
        self.side = import_peer("order_matching.enums").Side
        loguru = import_peer("loguru")
        # it logs every placement and match at DEBUG to stderr by default
        loguru.logger.disable("order_matching")

    def replay(self, commands: Sequence[Command], trades_out: list[Trade] | None) -> float:
        engine = self.engine_module.MatchingEngine(seed=1)
        limit_order, orders = self.order_module.LimitOrder, self.orders_module.Orders
        buy, sell = self.side.BUY, self.side.SELL
        place, match, cancel = engine.place, engine.match, engine.cancel_order
        live: dict[int, Any] = {}  # workload id -> library order
        executed: list[Any] = []
        keep = executed.append if trades_out is not None else None
        started = perf_counter()
        for position, (kind, order_id, account, is_buy, price, qty) in enumerate(commands):
            timestamp = START + timedelta(microseconds=position)
            if kind == CANCEL:
                if live.pop(order_id, None) is not None:
                    cancel(str(order_id))
                continue
            if kind == AMEND:
                if live.pop(order_id, None) is None:
                    continue
                cancel(str(order_id))
            elif kind != LIMIT and kind != IOC:
                continue
            order = limit_order(
                side=buy if is_buy else sell,
                price=price,
                size=qty,
                timestamp=timestamp,
                order_id=str(order_id),
                trader_id=str(account),
            )
            place(orders([order]))
            trades = match(timestamp=timestamp)
            if order.size > 0:
                if kind == IOC:
                    cancel(order.order_id)
                else:
                    live[order_id] = order
            if keep is not None:
                keep(trades)
        elapsed = perf_counter() - started
        if trades_out is not None:
            for trades in executed:
                for trade in trades.trades:
                    trades_out.append(
                        (
                            int(trade.incoming_order_id),
                            int(trade.book_order_id),
                            int(trade.price),
                            int(trade.size),
                        )
                    )
        return elapsed
