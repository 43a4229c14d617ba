"""Pure-Python baseline book: sorted price lists, a deque per level, a dict of live orders.

This is the book a Python developer would write first, with the same price-time priority and
amend rules as ordex, so it doubles as the reference that drives the workload generator.
"""

from __future__ import annotations

from bisect import insort
from collections import deque
from collections.abc import Sequence
from time import perf_counter

from benchmarks.peers.base import AMEND, CANCEL, IOC, LIMIT, Command, Trade


class RestingOrder:
    __slots__ = ("is_buy", "order_id", "price", "qty")

    def __init__(self, order_id: int, is_buy: bool, price: int, qty: int) -> None:
        self.order_id = order_id
        self.is_buy = is_buy
        self.price = price
        self.qty = qty


class PurePythonBook:
    """Price-time priority limit order book. Trades are `(taker, maker, price, qty)`."""

    def __init__(self) -> None:
        self.bid_prices: list[int] = []  # ascending: best bid is the last element
        self.ask_prices: list[int] = []  # ascending: best ask is the first element
        self.bid_levels: dict[int, deque[RestingOrder]] = {}
        self.ask_levels: dict[int, deque[RestingOrder]] = {}
        self.orders: dict[int, RestingOrder] = {}

    def best_bid(self) -> int | None:
        return self.bid_prices[-1] if self.bid_prices else None

    def best_ask(self) -> int | None:
        return self.ask_prices[0] if self.ask_prices else None

    def place(
        self, order_id: int, is_buy: bool, price: int, qty: int, *, rest: bool = True
    ) -> list[Trade]:
        """Match against the other side, then rest the remainder unless `rest` is false (IOC)."""
        trades: list[Trade] = []
        remaining = qty
        if is_buy:
            prices, levels = self.ask_prices, self.ask_levels
            while remaining and prices and prices[0] <= price:
                level_price = prices[0]
                level = levels[level_price]
                remaining = self._fill_level(order_id, level_price, level, remaining, trades)
                if not level:
                    del levels[level_price]
                    prices.pop(0)
        else:
            prices, levels = self.bid_prices, self.bid_levels
            while remaining and prices and prices[-1] >= price:
                level_price = prices[-1]
                level = levels[level_price]
                remaining = self._fill_level(order_id, level_price, level, remaining, trades)
                if not level:
                    del levels[level_price]
                    prices.pop()
        if remaining and rest:
            self._rest(RestingOrder(order_id, is_buy, price, remaining))
        return trades

    def _fill_level(
        self,
        taker_id: int,
        price: int,
        level: deque[RestingOrder],
        remaining: int,
        trades: list[Trade],
    ) -> int:
        while remaining and level:
            maker = level[0]
            fill = maker.qty if maker.qty < remaining else remaining
            trades.append((taker_id, maker.order_id, price, fill))
            remaining -= fill
            maker.qty -= fill
            if not maker.qty:
                level.popleft()
                del self.orders[maker.order_id]
        return remaining

    def _rest(self, order: RestingOrder) -> None:
        if order.is_buy:
            prices, levels = self.bid_prices, self.bid_levels
        else:
            prices, levels = self.ask_prices, self.ask_levels
        level = levels.get(order.price)
        if level is None:
            level = levels[order.price] = deque()
            insort(prices, order.price)
        level.append(order)
        self.orders[order.order_id] = order

    def cancel(self, order_id: int) -> bool:
        order = self.orders.pop(order_id, None)
        if order is None:
            return False
        if order.is_buy:
            prices, levels = self.bid_prices, self.bid_levels
        else:
            prices, levels = self.ask_prices, self.ask_levels
        level = levels[order.price]
        level.remove(order)
        if not level:
            del levels[order.price]
            prices.remove(order.price)
        return True

    def amend(self, order_id: int, price: int, qty: int) -> list[Trade]:
        """Same rule as ordex: a smaller quantity at the same price keeps the queue position;
        anything else is a cancel and a new arrival (which may trade)."""
        order = self.orders.get(order_id)
        if order is None:
            return []
        if price == order.price and qty <= order.qty:
            order.qty = qty
            return []
        self.cancel(order_id)
        return self.place(order_id, order.is_buy, price, qty)


class PurePythonPeer:
    name = "pure-Python baseline"
    package = "(benchmarks.peers.pure_python)"
    command_cap: int | None = None
    adaptation = "own book: bisect-sorted price lists + deque FIFO per level; native amend"
    known_difference: str | None = None

    def load(self) -> None:
        """Always available."""

    def replay(self, commands: Sequence[Command], trades_out: list[Trade] | None) -> float:
        book = PurePythonBook()
        place, cancel, amend = book.place, book.cancel, book.amend
        collected: list[Trade] = []
        record = collected.extend if trades_out is not None else None
        started = perf_counter()
        for kind, order_id, _account, is_buy, price, qty in commands:
            if kind == LIMIT:
                trades = place(order_id, is_buy, price, qty)
            elif kind == IOC:
                trades = place(order_id, is_buy, price, qty, rest=False)
            elif kind == CANCEL:
                cancel(order_id)
                continue
            elif kind == AMEND:
                trades = amend(order_id, price, qty)
            else:
                continue
            if record is not None and trades:
                record(trades)
        elapsed = perf_counter() - started
        if trades_out is not None:
            trades_out.extend(collected)
        return elapsed
