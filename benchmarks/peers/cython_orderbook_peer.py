"""`cython-orderbook` (PyPI): a Cython extension over `sortedcontainers.SortedDict` levels.

`OrderBook.add_limit_order(Order(side, qty, price))` matches and rests the remainder;
`cancel_order(order_id)` takes the library's string id. Every fill is appended to
`OrderBook.trade_log`. No IOC and no amend: IOC is add then cancel of whatever rested, amend is
cancel + new.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter
from typing import Any

from benchmarks.peers.base import AMEND, CANCEL, IOC, LIMIT, Command, Trade, import_peer


class CythonOrderBookPeer:
    name = "cython-orderbook"
    package = "cython-orderbook"
    command_cap: int | None = None
    adaptation = (
        "add_limit_order(Order(...)); IOC = add + cancel_order of the rest; amend = cancel + new"
    )
    known_difference: str | None = None

    def __init__(self) -> None:
        self.module: Any = None

    def load(self) -> None:
        self.module = import_peer("cython_orderbook")

    def replay(self, commands: Sequence[Command], trades_out: list[Trade] | None) -> float:
        module = self.module
        book = module.OrderBook()
        new_order, bid_side, ask_side = module.Order, module.OrderSide.BID, module.OrderSide.ASK
        add, cancel, resting = book.add_limit_order, book.cancel_order, book.orders
        live: dict[int, str] = {}  # workload id -> library id
        workload_id: dict[str, int] = {}  # library id -> workload id
        started = perf_counter()
        for kind, order_id, _account, is_buy, price, qty in commands:
            if kind in (LIMIT, IOC):
                order = new_order(bid_side if is_buy else ask_side, qty, price)
                library_id = order.order_id
                workload_id[library_id] = order_id
                add(order)
                if library_id in resting:
                    if kind == IOC:
                        cancel(library_id)
                    else:
                        live[order_id] = library_id
            elif kind == CANCEL:
                library_id = live.pop(order_id, None)
                if library_id is not None:
                    cancel(library_id)
            elif kind == AMEND:
                library_id = live.pop(order_id, None)
                if library_id is None or not cancel(library_id):
                    continue
                order = new_order(bid_side if is_buy else ask_side, qty, price)
                library_id = order.order_id
                workload_id[library_id] = order_id
                add(order)
                if library_id in resting:
                    live[order_id] = library_id
        elapsed = perf_counter() - started
        if trades_out is not None:
            for trade in book.trade_log:
                trades_out.append(
                    (
                        workload_id[trade.aggressor_id],
                        workload_id[trade.filler_id],
                        int(trade.price),
                        int(trade.quantity_filled),
                    )
                )
        return elapsed
