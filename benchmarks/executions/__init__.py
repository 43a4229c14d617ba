"""Live flow execution benchmarks: candle close to order sent for 100 executions on the paper
venue."""

from __future__ import annotations

from typing import Any

from benchmarks.executions import candle_to_order


def run(quick: bool) -> list[dict[str, Any]]:
    return candle_to_order.run(quick)
