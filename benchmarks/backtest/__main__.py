"""python -m benchmarks.backtest [--quick] [--json PATH]"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.backtest import parity, run
from benchmarks.exchange.__main__ import table


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.backtest", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: shows everything runs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    try:
        rows = run(args.quick)
    except parity.ParityError as exc:
        print(f"PARITY FAILED, nothing timed: {exc}", file=sys.stderr)
        return 2
    print(table(rows))
    for r in rows:
        if r["details"]:
            details = "; ".join(f"{k} {_short(v)}" for k, v in r["details"].items())
            print(f"  {r['benchmark']}: {details}")
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
