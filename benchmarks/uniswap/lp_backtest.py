"""The LP backtest in swaps per second, and the pool's swap loop in Rust against the same loop in
Python integers (`tests/uniswap/pool_reference.py`)."""

from __future__ import annotations

import random
import time
from array import array
from typing import Any

from tests.uniswap.pool_reference import PyPool

from benchmarks.exchange.servers import row
from ordex import uniswap as u

SPACING = 60
FEE = 3000


def _pool_positions(r: random.Random) -> list[tuple[int, int, int]]:
    """Forty ranges of other LPs around the price, 2 to 60 spacings wide, over a thin full range."""
    positions = [(-887_220, 887_220, 10**19)]
    for _ in range(40):
        lower = r.randint(-60, 50) * SPACING
        positions.append((lower, lower + r.randint(2, 60) * SPACING, r.randint(10**19, 10**21)))
    return positions


def _swaps(r: random.Random, n: int) -> list[tuple[int, bool]]:
    """Exact inputs (80%) and outputs of 10^15..10^18 raw units, either way at random."""
    swaps = []
    for _ in range(n):
        amount = r.randint(10**15, 10**18)
        swaps.append((amount if r.random() < 0.8 else -amount // 4, r.random() < 0.5))
    return swaps


CONFIG: dict[str, Any] = {
    "tick_buckets": 4,
    "bucket_offset": 4,
    "max_bots": 5,
    "funding": 2 * 10**20,
    "amount0": 10**20,
    "amount1": 10**20,
    "funding_curve": "GAUSSIAN",
    "trigger_type": "EMA",
    "ema_length": 20,
    "falling_trigger": "0.01",
    "rising_trigger": "0.01",
    "derivative_threshold": "0.0005",
    "ladder_margin": "0.25",
}


def run(quick: bool) -> list[dict[str, Any]]:
    n_backtest, n_python = (50_000, 2_000) if quick else (1_000_000, 20_000)
    r = random.Random(41)
    positions = _pool_positions(r)
    state: dict[str, Any] = {
        "sqrt_price_x96": u.get_sqrt_ratio_at_tick(0) + 12_345,
        "fee": FEE,
        "positions": positions,
    }
    swaps = _swaps(r, n_backtest)
    flat = array("q", [x for amount, zero_for_one in swaps for x in (amount, int(zero_for_one))])

    started = time.perf_counter()
    result = u.lp_backtest(CONFIG, flat, state)
    seconds = time.perf_counter() - started
    counts = result["counts"]
    rows = [
        row(
            f"lp_backtest: {n_backtest:,} swaps, controller every swap",
            n_backtest / seconds,
            "swaps/s",
            "1,000,000 swaps replayed",
            counts["swaps"] + counts["swaps_refused"] == n_backtest,
            seconds=round(seconds, 2),
            ticks_crossed=counts["ticks_crossed"],
            rebalances=counts["rebalances_falling"] + counts["rebalances_rising"],
            mints=counts["mints"],
            aum_vs_hodl=round(result["aum_vs_hodl"], 6),
        )
    ]

    # The bare pool, same swaps, both ways; the first answers must agree.
    sample = swaps[:n_python]
    started = time.perf_counter()
    rust = u.simulate_pool_swaps(state, sample)
    rust_seconds = time.perf_counter() - started
    py = PyPool(state["sqrt_price_x96"], FEE, SPACING, positions)
    started = time.perf_counter()
    answers = [py.swap(zero_for_one, amount) for amount, zero_for_one in sample]
    python_seconds = time.perf_counter() - started
    assert [tuple(x[:2]) for x in rust] == answers
    rows.append(
        row(
            f"pool swaps: Rust vs Python ints, {n_python:,} swaps",
            n_python / rust_seconds,
            "swaps/s",
            "faster than Python ints",
            rust_seconds < python_seconds,
            ratio=python_seconds / rust_seconds,
            python_swaps_per_s=round(n_python / python_seconds),
        )
    )
    return rows
