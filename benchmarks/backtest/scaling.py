"""ordex's time and memory against the number of bars, one fresh process per size.

Rust allocations are invisible to tracemalloc, so memory is the process's resident high-water mark:
reset (Linux `/proc/self/clear_refs`) once the candles are built, read after the backtest. The
difference is what the backtest itself held at its peak (its result included: the equity curve is
8 bytes a bar), beside the candle columns (48 bytes a bar) it reads in place.

    python -m benchmarks.backtest.scaling --bars 1000000 [--runs 3]   # one size, JSON on stdout
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _status_kib(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure_one(bars: int, runs: int) -> dict[str, Any]:
    from benchmarks.backtest import ordex_side
    from benchmarks.backtest.data import random_walk
    from benchmarks.backtest.strategy import Rules, flow_json

    candles = random_walk(bars)
    text = flow_json(Rules())
    gc.collect()
    if _reset_peak():
        before = _status_kib("VmRSS") or 0
        result = ordex_side.run(candles, text)
        peak = _status_kib("VmHWM") or 0
        method = "VmHWM after clear_refs"
    else:  # no /proc: the high-water mark since the process started (an upper bound)
        import resource

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = ordex_side.run(candles, text)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        method = "ru_maxrss"
    trades = result.metrics["totalTrades"]
    del result
    seconds = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        ordex_side.run(candles, text)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    return {
        "bars": bars,
        "seconds": median,
        "ns_per_bar": median / bars * 1e9,
        "peak_extra_bytes": max(peak - before, 0) * 1024,
        "bytes_per_bar": max(peak - before, 0) * 1024 / bars,
        "input_bytes_per_bar": 48,
        "trades": trades,
        "memory_method": method,
    }


def measure(sizes: list[int], runs: int) -> list[dict[str, Any]]:
    """Each size in its own process (a fresh high-water mark and heap)."""
    out = []
    for bars in sizes:
        child = [sys.executable, "-m", "benchmarks.backtest.scaling"]
        done = subprocess.run(
            [*child, "--bars", str(bars), "--runs", str(runs)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(done.stdout))
        print(f"  scaling {bars:>10,} bars: {out[-1]['ns_per_bar']:.0f} ns/bar", file=sys.stderr)
    return out


def slope(points: list[dict[str, Any]]) -> float:
    """Least-squares slope of log(time) against log(bars): 1.0 is linear."""
    xs = [math.log(p["bars"]) for p in points]
    ys = [math.log(p["seconds"]) for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backtest.scaling")
    parser.add_argument("--bars", type=int, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure_one(args.bars, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
