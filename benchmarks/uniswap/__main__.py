"""python -m benchmarks.uniswap [--quick] [--json PATH]"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks.suite_cli import suite_main
from benchmarks.uniswap import run


def main(argv: Sequence[str] | None = None) -> int:
    return suite_main("uniswap", run, "2,000 calls per function: shows it runs", argv)


if __name__ == "__main__":
    sys.exit(main())
