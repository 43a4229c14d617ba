"""Backtest benchmarks: ordex against vectorbt and backtesting.py on one strategy, a 100-combination
sweep against vectorbt's broadcast, and ordex's time and memory from 10^5 to 10^7 bars.
`python -m benchmarks.backtest [--quick]`; the README has the conventions and the results.

Every peer's trades are checked against ordex's before anything is timed (`parity.py`); a
difference stops the run with the first trade that differs.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks.backtest import backtesting_peer, ordex_side, parity, scaling, vectorbt_peer
from benchmarks.backtest.data import random_walk
from benchmarks.backtest.strategy import Rules, flow_json

VECTORBT_ENGINES = ("numba", "rust")


@dataclass(frozen=True)
class Sizes:
    bars: int
    runs: int
    backtesting_runs: int
    sweep_bars: int
    sweep_runs: int
    scaling: tuple[int, ...]
    scaling_runs: int


FULL = Sizes(500_000, 9, 3, 500_000, 2, (100_000, 300_000, 1_000_000, 3_000_000, 10_000_000), 3)
QUICK = Sizes(50_000, 3, 1, 20_000, 1, (10_000, 30_000, 100_000), 2)
FASTS = list(range(4, 24, 2))  # 10 values
SLOWS = list(range(24, 64, 4))  # 10 values


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    seconds = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _row(
    benchmark: str,
    measured: float,
    unit: str,
    target: str = "",
    met: bool | None = None,
    ratio: float | None = None,
    **details: Any,
) -> dict[str, Any]:
    return {
        "benchmark": benchmark,
        "measured": measured,
        "unit": unit,
        "target": target,
        "met": met,
        "ratio": ratio,
        "details": details,
    }


def single(sizes: Sizes) -> list[dict[str, Any]]:
    rules = Rules()
    candles = random_walk(sizes.bars)
    text = flow_json(rules)
    bars = f"{sizes.bars:,} bars"

    _log(f"single backtest, {bars}: parity")
    ours = ordex_side.trades(ordex_side.run(candles, text))
    agreements = {}
    for engine in VECTORBT_ENGINES:  # also compiles and warms each engine
        theirs = vectorbt_peer.trades(vectorbt_peer.run(candles, rules, engine))
        agreements[f"vectorbt ({engine})"] = parity.check(f"vectorbt-{engine}", ours, theirs)
    bt_run = backtesting_peer.run(candles, rules)
    agreements["backtesting.py"] = parity.check(
        "backtesting.py", ours, backtesting_peer.trades(bt_run, rules)
    )
    for peer, agreement in agreements.items():
        _log(f"  {peer}: {agreement.describe()}")

    _log("single backtest: timing")
    t_ordex = median_seconds(lambda: ordex_side.run(candles, text), sizes.runs)
    rows = [
        _row(
            f"ordex backtest, {bars}",
            t_ordex * 1e3,
            "ms",
            ns_per_bar=t_ordex / sizes.bars * 1e9,
            trades=len(ours),
            parity={peer: a.describe() for peer, a in agreements.items()},
        )
    ]
    vbt_times = {
        engine: median_seconds(partial(vectorbt_peer.run, candles, rules, engine), sizes.runs)
        for engine in VECTORBT_ENGINES
    }
    best = min(vbt_times, key=vbt_times.__getitem__)
    for engine, seconds in vbt_times.items():
        rows.append(
            _row(
                f"vectorbt ({engine} engine) backtest",
                seconds * 1e3,
                "ms",
                "ordex >= 2x faster" + (" (vs vectorbt's faster engine)" if engine == best else ""),
                seconds / t_ordex >= 2,
                seconds / t_ordex,
            )
        )
    t_bt = median_seconds(lambda: backtesting_peer.run(candles, rules), sizes.backtesting_runs)
    rows.append(
        _row(
            "backtesting.py backtest",
            t_bt * 1e3,
            "ms",
            "ordex >= 100x faster",
            t_bt / t_ordex >= 100,
            t_bt / t_ordex,
        )
    )
    return rows


def sweep(sizes: Sizes) -> list[dict[str, Any]]:
    rules = Rules()
    candles = random_walk(sizes.sweep_bars)
    label = f"{len(FASTS) * len(SLOWS)}-combination sweep, {sizes.sweep_bars:,} bars"
    _log(f"{label}: parity")
    ours = ordex_side.sweep(candles, rules, FASTS, SLOWS)
    worst = {
        engine: parity.check_sweep(
            f"vectorbt-{engine}", ours, vectorbt_peer.sweep(candles, rules, FASTS, SLOWS, engine)
        )
        for engine in VECTORBT_ENGINES
    }
    _log(f"  trade counts and PnL equal (largest PnL difference {max(worst.values()):.1e})")
    _log(f"{label}: timing")
    t_ordex = median_seconds(
        lambda: ordex_side.sweep(candles, rules, FASTS, SLOWS), sizes.sweep_runs
    )
    rows = [
        _row(
            f"ordex sweep ({label})",
            t_ordex,
            "s",
            trades=sum(r["totalTrades"] for r in ours),
        )
    ]
    times = {
        engine: median_seconds(
            partial(vectorbt_peer.sweep, candles, rules, FASTS, SLOWS, engine),
            sizes.sweep_runs,
        )
        for engine in VECTORBT_ENGINES
    }
    best = min(times, key=times.__getitem__)
    for engine, seconds in times.items():
        rows.append(
            _row(
                f"vectorbt ({engine} engine) sweep, 2-D from_signals",
                seconds,
                "s",
                "ordex >= 2x faster" + (" (vs vectorbt's faster engine)" if engine == best else ""),
                seconds / t_ordex >= 2,
                seconds / t_ordex,
            )
        )
    return rows


def scale(sizes: Sizes) -> list[dict[str, Any]]:
    _log("scaling")
    points = scaling.measure(list(sizes.scaling), sizes.scaling_runs)
    rows = [
        _row(
            f"ordex backtest, {p['bars']:,} bars",
            p["ns_per_bar"],
            "ns/bar",
            seconds=p["seconds"],
            bytes_per_bar=p["bytes_per_bar"],
            peak_extra_mib=p["peak_extra_bytes"] / 2**20,
            trades=p["trades"],
            memory_method=p["memory_method"],
        )
        for p in points
    ]
    exponent = scaling.slope(points)
    rows.append(
        _row(
            "time against bars (log-log slope)",
            exponent,
            "",
            "linear: 0.9..1.1",
            0.9 <= exponent <= 1.1,
        )
    )
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    sizes = QUICK if quick else FULL
    rows = []
    for part in (single, sweep, scale):
        started = time.perf_counter()
        rows.extend(part(sizes))
        _log(f"{part.__name__}: {time.perf_counter() - started:.0f} s")
    return rows
