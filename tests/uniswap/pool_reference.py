"""A Uniswap v3 pool's swap loop in plain Python integers, over `reference.py`'s step math.

The same work as the Rust pool simulator (`ordex.uniswap.simulate_pool_swaps`): initialised
ticks with their net liquidity, the stop at every 256-spacing bitmap word, a swap step per
stretch, fee growth per unit of liquidity, liquidity flipped at each crossed tick. Used to check
the Rust pool and as its Python peer in the benchmark.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort

from tests.uniswap import reference as ref

Q128 = 1 << 128


def tick_at_sqrt_ratio(sqrt_price: int) -> int:
    """A floating-point guess pinned exactly by `sqrt_ratio_at_tick` (as the Rust crate does)."""
    if not ref.MIN_SQRT_RATIO <= sqrt_price < ref.MAX_SQRT_RATIO:
        raise ref.MathError("price")
    guess = (math.log(sqrt_price) - 96 * math.log(2)) / (0.5 * math.log(1.0001))
    tick = max(ref.MIN_TICK, min(ref.MAX_TICK - 1, math.floor(guess)))
    while tick > ref.MIN_TICK and ref.sqrt_ratio_at_tick(tick) > sqrt_price:
        tick -= 1
    while tick < ref.MAX_TICK and ref.sqrt_ratio_at_tick(tick + 1) <= sqrt_price:
        tick += 1
    return tick


class PyPool:
    def __init__(
        self, sqrt_price: int, fee: int, spacing: int, positions: list[tuple[int, int, int]]
    ) -> None:
        self.sqrt_price = sqrt_price
        self.tick = tick_at_sqrt_ratio(sqrt_price)
        self.fee = fee
        self.spacing = spacing
        self.net: dict[int, int] = {}
        self.ticks: list[int] = []
        self.liquidity = 0
        self.fee_growth0 = 0
        self.fee_growth1 = 0
        for lower, upper, liquidity in positions:
            for tick, delta in ((lower, liquidity), (upper, -liquidity)):
                if tick not in self.net:
                    insort(self.ticks, tick)
                    self.net[tick] = 0
                self.net[tick] += delta
            if lower <= self.tick < upper:
                self.liquidity += liquidity

    def _next_tick(self, tick: int, lte: bool) -> tuple[int, bool]:
        compressed = tick // self.spacing
        if lte:
            word_start = (compressed >> 8) << 8
            i = bisect_right(self.ticks, compressed * self.spacing) - 1
            if i >= 0 and self.ticks[i] >= word_start * self.spacing:
                return self.ticks[i], True
            return word_start * self.spacing, False
        start = compressed + 1
        word_end = ((start >> 8) << 8) + 255
        i = bisect_left(self.ticks, start * self.spacing)
        if i < len(self.ticks) and self.ticks[i] <= word_end * self.spacing:
            return self.ticks[i], True
        return word_end * self.spacing, False

    def swap(self, zero_for_one: bool, amount: int, limit: int = 0) -> tuple[int, int]:
        """`(amount0, amount1)` as the pool returns them (positive paid in)."""
        if not limit:
            limit = ref.MIN_SQRT_RATIO + 1 if zero_for_one else ref.MAX_SQRT_RATIO - 1
        exact_in = amount > 0
        remaining, calculated = amount, 0
        price, tick, liquidity = self.sqrt_price, self.tick, self.liquidity
        growth = self.fee_growth0 if zero_for_one else self.fee_growth1
        while remaining != 0 and price != limit:
            start = price
            nxt, initialized = self._next_tick(tick, zero_for_one)
            nxt = max(ref.MIN_TICK, min(ref.MAX_TICK, nxt))
            sqrt_next = ref.sqrt_ratio_at_tick(nxt)
            beyond = sqrt_next < limit if zero_for_one else sqrt_next > limit
            price, amount_in, amount_out, fee_amount = ref.swap_step(
                price, limit if beyond else sqrt_next, liquidity, remaining, self.fee
            )
            if exact_in:
                remaining -= amount_in + fee_amount
                calculated -= amount_out
            else:
                remaining += amount_out
                calculated += amount_in + fee_amount
            if liquidity > 0:
                growth = (growth + fee_amount * Q128 // liquidity) % (1 << 256)
            if price == sqrt_next:
                if initialized:
                    net = self.net[nxt]
                    liquidity += -net if zero_for_one else net
                tick = nxt - 1 if zero_for_one else nxt
            elif price != start:
                tick = tick_at_sqrt_ratio(price)
        self.sqrt_price, self.tick, self.liquidity = price, tick, liquidity
        if zero_for_one:
            self.fee_growth0 = growth
        else:
            self.fee_growth1 = growth
        used = amount - remaining
        return (used, calculated) if zero_for_one == exact_in else (calculated, used)
