"""The seeded command stream every engine replays.

Mix: resting limit orders near a fixed mid price (a tenth of them priced through the other side,
so they trade first), IOC orders that always reach the touch, cancels and amends. The
generator replays its own output on the pure-Python book as it goes, so cancels and amends only
ever name live orders (as a real client would) and the book stays near a target size instead of
growing with the run. Every amend moves the price: ordex then gives the order a new place in the
queue, which is exactly what cancel + new does on a peer without amend, so trades must agree
command for command.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from benchmarks.peers.base import AMEND, CANCEL, IOC, KIND_NAMES, LIMIT, Command
from benchmarks.peers.pure_python import PurePythonBook


@dataclass(frozen=True)
class WorkloadSpec:
    commands: int
    seed: int = 20_261_121
    mid_price: int = 10_000
    """Ticks; passive orders sit around it, so the book never wanders far from it."""
    target_live_orders: int = 1_000
    """Above this many resting orders, cancels become more frequent."""
    accounts: int = 64
    ioc_share: float = 0.08
    amend_share: float = 0.12
    cancel_share_below_target: float = 0.12
    cancel_share_above_target: float = 0.35
    crossing_limit_share: float = 0.10
    crossing_amend_share: float = 0.10


class _Generator:
    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.book = PurePythonBook()
        self.live_ids: list[int] = []  # may hold filled ids; they are dropped when drawn
        self.account_of: dict[int, int] = {}
        self.next_order_id = 1

    def passive_price(self, is_buy: bool) -> int:
        offset = min(int(self.rng.expovariate(1 / 6)), 80)
        if is_buy:
            price = self.spec.mid_price - 1 - offset
            best_ask = self.book.best_ask()
            return min(price, best_ask - 1) if best_ask is not None else price
        price = self.spec.mid_price + 1 + offset
        best_bid = self.book.best_bid()
        return max(price, best_bid + 1) if best_bid is not None else price

    def crossing_price(self, is_buy: bool) -> int:
        if is_buy:
            best_ask = self.book.best_ask()
            touch = best_ask if best_ask is not None else self.spec.mid_price
            return touch + self.rng.randint(0, 3)
        best_bid = self.book.best_bid()
        touch = best_bid if best_bid is not None else self.spec.mid_price
        return touch - self.rng.randint(0, 3)

    def draw_live_order(self) -> int | None:
        live_ids, orders = self.live_ids, self.book.orders
        while live_ids:
            index = self.rng.randrange(len(live_ids))
            order_id = live_ids[index]
            live_ids[index] = live_ids[-1]
            live_ids.pop()
            if order_id in orders:
                return order_id
        return None

    def new_order(self, kind: int) -> Command:
        order_id = self.next_order_id
        self.next_order_id += 1
        account = self.rng.randint(1, self.spec.accounts)
        is_buy = self.rng.random() < 0.5
        if kind == IOC or self.rng.random() < self.spec.crossing_limit_share:
            price = self.crossing_price(is_buy)
            qty = self.rng.randint(1, 60)
        else:
            price = self.passive_price(is_buy)
            qty = self.rng.randint(1, 100)
        self.book.place(order_id, is_buy, price, qty, rest=kind == LIMIT)
        if kind == LIMIT and order_id in self.book.orders:
            self.live_ids.append(order_id)
            self.account_of[order_id] = account
        return Command(kind, order_id, account, is_buy, price, qty)

    def cancel(self, order_id: int) -> Command:
        order = self.book.orders[order_id]
        self.book.cancel(order_id)
        return Command(CANCEL, order_id, self.account_of[order_id], order.is_buy, 0, 0)

    def amend(self, order_id: int) -> Command:
        order = self.book.orders[order_id]
        is_buy = order.is_buy
        if self.rng.random() < self.spec.crossing_amend_share:
            price = self.crossing_price(is_buy)
        else:
            price = self.passive_price(is_buy)
        if price == order.price:
            # one tick further from the other side: still a move, never a new cross
            price += -1 if is_buy else 1
        qty = self.rng.randint(1, 100)
        self.book.amend(order_id, price, qty)
        if order_id in self.book.orders:
            self.live_ids.append(order_id)
        return Command(AMEND, order_id, self.account_of[order_id], is_buy, price, qty)

    def next_command(self) -> Command:
        spec = self.spec
        if len(self.book.orders) < spec.target_live_orders:
            cancel_share = spec.cancel_share_below_target
        else:
            cancel_share = spec.cancel_share_above_target
        draw = self.rng.random()
        if draw < spec.ioc_share:
            return self.new_order(IOC)
        if draw < spec.ioc_share + cancel_share + spec.amend_share:
            target = self.draw_live_order()
            if target is not None:
                if draw < spec.ioc_share + cancel_share:
                    return self.cancel(target)
                return self.amend(target)
        return self.new_order(LIMIT)


def generate(spec: WorkloadSpec) -> list[Command]:
    generator = _Generator(spec)
    return [generator.next_command() for _ in range(spec.commands)]


def describe(commands: list[Command]) -> dict[str, int]:
    """Command count per kind, for the report."""
    counts = Counter(KIND_NAMES[command.kind] for command in commands)
    return {name: counts.get(name, 0) for name in KIND_NAMES}
