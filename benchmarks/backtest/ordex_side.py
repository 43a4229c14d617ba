"""The strategy in ordex: the flow document run by `ordex.backtest` and `ordex.sweep`."""

from __future__ import annotations

from typing import Any

import ordex
from benchmarks.backtest.data import Candles
from benchmarks.backtest.strategy import Rules, Trade, flow


def run(candles: Candles, flow_text: str) -> Any:
    """One backtest from the flow's JSON text (parsed, validated and compiled inside) to metrics."""
    result = ordex.backtest(flow_text, candles.as_mapping())
    result.metrics  # noqa: B018  (the metrics are built on access: part of the work timed)
    return result


def trades(result: Any) -> list[Trade]:
    return [
        Trade(
            int(t["entryBar"]),
            int(t["exitBar"]),
            float(t["entryPrice"]),
            float(t["exitPrice"]),
            float(t["pnl"]),
            t["exitReason"] == "stop_loss",
        )
        for t in result.trades
    ]


def sweep(
    candles: Candles, rules: Rules, fasts: list[int], slows: list[int]
) -> list[dict[str, Any]]:
    """Every (fast, slow) pair, in grid order (slow varies fastest), as `vectorbt_peer.sweep`."""
    rows = ordex.sweep(
        flow(rules), candles.as_mapping(), {"fast.period": fasts, "slow.period": slows}
    )
    out = []
    for row in rows:
        if row["error"] is not None:
            raise RuntimeError(f"ordex.sweep refused {row['params']}: {row['error']}")
        out.append(
            {
                "fast": int(row["params"]["fast.period"]),
                "slow": int(row["params"]["slow.period"]),
                "totalTrades": row["totalTrades"],
                "pnl": row["pnl"],
            }
        )
    return out
