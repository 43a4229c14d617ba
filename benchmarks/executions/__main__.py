"""python -m benchmarks.executions [--quick] [--json PATH]"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks.executions import run
from benchmarks.suite_cli import suite_main


def main(argv: Sequence[str] | None = None) -> int:
    return suite_main("executions", run, "5 candle rounds: shows it runs", argv)


if __name__ == "__main__":
    sys.exit(main())
