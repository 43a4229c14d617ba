"""Uniswap v3 pool arithmetic: the Rust crate through its Python binding against the same
computations in plain Python integers (`tests/uniswap/reference.py`), per call, same inputs."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from tests.uniswap import reference as ref

from benchmarks.exchange.servers import row
from benchmarks.uniswap import lp_backtest
from ordex import uniswap as u

Args = tuple[Any, ...]


def _tick_at_sqrt_ratio_py(sqrt_price: int) -> int:
    """The Rust algorithm in Python: a float guess, pinned exactly by `sqrt_ratio_at_tick`."""
    if not ref.MIN_SQRT_RATIO <= sqrt_price < ref.MAX_SQRT_RATIO:
        raise ref.MathError("price")
    guess = (math.log(sqrt_price) - 96 * math.log(2)) / (0.5 * math.log(1.0001))
    tick = max(ref.MIN_TICK, min(ref.MAX_TICK - 1, math.floor(guess)))
    while tick > ref.MIN_TICK and ref.sqrt_ratio_at_tick(tick) > sqrt_price:
        tick -= 1
    while tick < ref.MAX_TICK and ref.sqrt_ratio_at_tick(tick + 1) <= sqrt_price:
        tick += 1
    return tick


def _per_call_ns(fn: Callable[..., Any], cases: Sequence[Args], rounds: int) -> float:
    best = math.inf
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for args in cases:
            fn(*args)
        best = min(best, (time.perf_counter_ns() - started) / len(cases))
    return best


def _cases(n: int) -> dict[str, list[Args]]:
    """Prices of realistic pools, ranges around them (some beside them), 40-100 bit liquidity."""
    r = random.Random(7)
    ticks = [r.randint(-200_000, 200_000) for _ in range(n)]
    prices = [ref.sqrt_ratio_at_tick(t) + r.randrange(10**6) for t in ticks]
    ranges = []
    for tick in ticks:
        lower = tick + r.randint(-6_000, 1_000)
        upper = lower + r.randint(1, 10_000)
        ranges.append((ref.sqrt_ratio_at_tick(lower), ref.sqrt_ratio_at_tick(upper)))
    liquidity = [r.getrandbits(r.randint(40, 100)) for _ in range(n)]
    spans = list(zip(prices, ranges, liquidity, strict=True))
    return {
        "sqrt_ratio_at_tick": [(r.randint(ref.MIN_TICK, ref.MAX_TICK),) for _ in range(n)],
        "tick_at_sqrt_ratio": [(p,) for p in prices],
        "amounts_for_liquidity": [(p, a, b, liq) for p, (a, b), liq in spans],
        "liquidity_for_amounts": [
            (p, a, b, r.getrandbits(80), r.getrandbits(80)) for p, (a, b), _ in spans
        ],
        "swap_step": [
            (p, r.choice([a, b]), liq, r.getrandbits(90) * r.choice([1, -1]), r.choice([500, 3000]))
            for p, (a, b), liq in spans
        ],
    }


PAIRS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "sqrt_ratio_at_tick": (u.get_sqrt_ratio_at_tick, ref.sqrt_ratio_at_tick),
    "tick_at_sqrt_ratio": (u.get_tick_at_sqrt_ratio, _tick_at_sqrt_ratio_py),
    "amounts_for_liquidity": (u.get_amounts_for_liquidity, ref.amounts_for_liquidity),
    "liquidity_for_amounts": (u.get_liquidity_for_amounts, ref.liquidity_for_amounts),
    "swap_step": (u.compute_swap_step, ref.swap_step),
}


def _safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        try:
            return fn(*args)
        except (u.UniswapMathError, ref.MathError):
            return None

    return call


def run(quick: bool) -> list[dict[str, Any]]:
    n, rounds = (2_000, 2) if quick else (50_000, 5)
    cases = _cases(n)
    rows = []
    for name, (rust, python) in PAIRS.items():
        rust_fn, python_fn = _safe(rust), _safe(python)
        # Same answers first: a fast wrong answer is no answer.
        for args in cases[name][:500]:
            assert rust_fn(*args) == python_fn(*args), (name, args)
        # The timed calls go straight to each implementation, over the cases the pool accepts.
        valid = [args for args in cases[name] if python_fn(*args) is not None]
        rust_ns = _per_call_ns(rust, valid, rounds)
        python_ns = _per_call_ns(python, valid, rounds)
        rows.append(
            row(
                f"{name}: Rust via binding",
                rust_ns / 1000,
                "us/call",
                "faster than Python ints",
                rust_ns < python_ns,
                ratio=python_ns / rust_ns,
                python_us=round(python_ns / 1000, 3),
                calls=len(valid),
            )
        )
    return rows + lp_backtest.run(quick)
