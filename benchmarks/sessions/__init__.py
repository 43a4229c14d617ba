"""Trading-session benchmarks: `POST /api/v1/orders` on the paper venue next to the exchange's
root `POST /orders`, in one run."""

from __future__ import annotations

from typing import Any

from benchmarks.sessions import paper_orders


def run(quick: bool) -> list[dict[str, Any]]:
    return paper_orders.run(quick)
