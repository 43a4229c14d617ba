"""`bourse` (PyPI): a Rust order book behind PyO3, built for market simulations.

`OrderBook.place_order(bid, vol, trader_id, price=...)` returns the library's sequential id;
`cancel_order(id)` is a no-op once the order is final; `modify_order(id, new_price, new_vol)`
has the same priority rule as ordex (a move or an increase goes to the back of the queue) and
may trade. Fills are kept inside the book and read back with `get_trades()`. No IOC: it is
place then cancel (the cancel does nothing when the order filled).

Its trades differ from ordex's: removing one order from the best level while others still rest
there (cancel, or modify to another price) moves bourse's touch to the next level, so orders
left at the old best price are skipped by later takers. `load` reproduces that on a three-order
book and, when it shows, says so in `known_difference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter
from typing import Any

from benchmarks.peers.base import AMEND, CANCEL, IOC, LIMIT, Command, Trade, import_peer


class BoursePeer:
    name = "bourse"
    package = "bourse"
    command_cap: int | None = None
    adaptation = "place_order / cancel_order / modify_order (native); IOC = place + cancel"

    def __init__(self) -> None:
        self.module: Any = None
        self.known_difference: str | None = None

    def load(self) -> None:
        self.module = import_peer("bourse.core")
        self.known_difference = self.touch_after_cancel_problem()

    def touch_after_cancel_problem(self) -> str | None:
        """Two asks at 10004 and one at 10009; cancelling the first 10004 ask must leave the
        best ask at 10004."""
        book = self.module.OrderBook(0, True)
        first = book.place_order(False, 10, 1, price=10004)
        book.place_order(False, 15, 1, price=10004)
        book.place_order(False, 10, 1, price=10009)
        book.cancel_order(first)
        best_ask = int(book.bid_ask()[1])
        if best_ask == 10004:
            return None
        return (
            "cancelling one of two orders at the best ask moves bourse's best ask "
            f"10004 -> {best_ask}; later takers skip the order left at 10004"
        )

    def replay(self, commands: Sequence[Command], trades_out: list[Trade] | None) -> float:
        book = self.module.OrderBook(0, True)
        place, cancel, modify = book.place_order, book.cancel_order, book.modify_order
        library_id: dict[int, int] = {}  # workload id -> library id
        workload_id: list[int] = []  # library ids are 0, 1, 2, ... in placement order
        remember = workload_id.append
        started = perf_counter()
        for kind, order_id, account, is_buy, price, qty in commands:
            if kind == LIMIT:
                library_id[order_id] = place(is_buy, qty, account, price=price)
                remember(order_id)
            elif kind == IOC:
                cancel(place(is_buy, qty, account, price=price))
                remember(order_id)
            elif kind == CANCEL:
                cancel(library_id[order_id])
            elif kind == AMEND:
                modify(library_id[order_id], new_price=price, new_vol=qty)
        elapsed = perf_counter() - started
        if trades_out is not None:
            for _time, _side, price, qty, aggressor, passive in book.get_trades():
                trades_out.append((workload_id[aggressor], workload_id[passive], price, qty))
        return elapsed
