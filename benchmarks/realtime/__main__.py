"""python -m benchmarks.realtime [--quick] [--json PATH]"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks.realtime import run
from benchmarks.suite_cli import suite_main


def main(argv: Sequence[str] | None = None) -> int:
    return suite_main("realtime", run, "50 clients: shows everything runs", argv)


if __name__ == "__main__":
    sys.exit(main())
