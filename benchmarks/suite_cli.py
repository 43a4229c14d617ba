"""The command line every suite shares: `python -m benchmarks.<suite> [--quick] [--json PATH]`
prints the suite's rows as the ratio table, their details, and the machine's load."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.exchange.__main__ import table
from ordex.logging import configure_logging


def suite_main(
    suite: str,
    run: Callable[[bool], list[dict[str, Any]]],
    quick_help: str,
    argv: Sequence[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{suite}", description=f"The {suite} benchmarks."
    )
    parser.add_argument("--quick", action="store_true", help=quick_help)
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
