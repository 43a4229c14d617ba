"""python -m benchmarks.realtime [--quick] [--json PATH]"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.exchange.__main__ import table
from benchmarks.realtime import run
from ordex.logging import configure_logging


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.realtime", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="50 clients: shows everything runs")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    configure_logging("warning", json_output=False)
    rows = run(args.quick)
    print(table(rows))
    for r in rows:
        if r["details"]:
            print(f"  {r['benchmark']}: {r['details']}")
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
