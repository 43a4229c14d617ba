"""Run the exchange benchmarks one after the other and print one table.

python -m benchmarks.exchange [--quick] [--json PATH] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.exchange import (
    accepted_to_persisted,
    http_vs_pgbench,
    intake_stream,
    matcher_relay,
    persister_alone,
    risk,
    scaleout,
)
from ordex.logging import configure_logging

BENCHMARKS: dict[str, Callable[[bool], list[dict[str, Any]]]] = {
    "http": http_vs_pgbench.run,
    "latency": accepted_to_persisted.run,
    "intake": intake_stream.run,
    "matcher": matcher_relay.run,
    "persister": persister_alone.run,
    "scaleout": scaleout.run,
    "risk": risk.run,
}


def run(quick: bool, only: Sequence[str] = ()) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, bench in BENCHMARKS.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        rows.extend({**r, "group": name} for r in bench(quick))
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return rows


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def table(rows: Sequence[dict[str, Any]]) -> str:
    header = ("benchmark", "measured", "target", "met?", "ratio")
    lines = [
        (
            r["benchmark"],
            f"{_number(r['measured'])} {r['unit']}",
            r["target"],
            {True: "yes", False: "NO", None: ""}[r["met"]],
            "" if r["ratio"] is None else f"{r['ratio']:.2f}",
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in (header, *lines)) for i in range(len(header))]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exchange", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: shows everything runs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=())
    args = parser.parse_args(argv)
    # The embedded servers log every start and stop; the table is what matters here.
    configure_logging("warning", json_output=False)
    rows = run(args.quick, args.only)
    print(table(rows))
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for r in rows:
        if cpu := r["details"].get("cpu_seconds"):
            spent = ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu.items())
            print(f"CPU seconds in the timed part of {r['benchmark']}: {spent}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
