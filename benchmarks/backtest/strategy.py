"""The one strategy every backtester runs, its ordex flow, and the trade record they are compared on.

EMA(10) crossing above EMA(30) with RSI(14) under 70 enters long (1 unit, with a 2% stop loss);
EMA(10) crossing below EMA(30) exits. Fees 10 bps and slippage 5 bps on every market fill; orders
decided at a bar's close fill at the next bar's open (docs/flows.md, "Per-bar rules").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import talib

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Rules:
    fast: int = 10
    slow: int = 30
    rsi_period: int = 14
    rsi_below: float = 70.0
    stop_pct: float = 0.02
    fee_bps: float = 10.0
    slippage_bps: float = 5.0
    size: float = 1.0
    initial_capital: float = 1_000_000.0

    @property
    def fee(self) -> float:
        return self.fee_bps / 10_000

    @property
    def slippage(self) -> float:
        return self.slippage_bps / 10_000

    @property
    def warm_up(self) -> int:
        """First bar an action may fire on: TA-Lib's longest lookback."""
        return max(self.fast - 1, self.slow - 1, self.rsi_period)

    def with_periods(self, fast: int, slow: int) -> Rules:
        return replace(self, fast=fast, slow=slow)


@dataclass(frozen=True)
class Trade:
    """A closed trade: bars are candle indexes, prices are fills (slippage included)."""

    entry_bar: int
    exit_bar: int
    entry_price: float
    exit_price: float
    pnl: float  # net of both fills' fees
    stopped: bool  # closed by the stop loss rather than the exit signal


def signals(close: Floats, rules: Rules) -> tuple[Bools, Bools]:
    """Entry and exit decisions at each bar's close, as the flow's nodes define them.

    `logic.cross` above is `a[t-1] <= b[t-1] and a[t] > b[t]` (below mirrors it); comparisons with
    NaN are false, and nothing fires before the warm-up.
    """
    fast = talib.EMA(close, rules.fast)
    slow = talib.EMA(close, rules.slow)
    rsi = talib.RSI(close, rules.rsi_period)
    return crosses(fast, slow, rsi < rules.rsi_below, rules.warm_up)


def crosses(fast: Floats, slow: Floats, rsi_ok: Bools, warm_up: int) -> tuple[Bools, Bools]:
    """Works on columns too: `fast` and `slow` may be (bars, combinations)."""
    with np.errstate(invalid="ignore"):
        up = np.zeros(np.broadcast_shapes(fast.shape, slow.shape), dtype=np.bool_)
        down = np.zeros_like(up)
        up[1:] = (fast[:-1] <= slow[:-1]) & (fast[1:] > slow[1:])
        down[1:] = (fast[:-1] >= slow[:-1]) & (fast[1:] < slow[1:])
    entries = up & (rsi_ok if up.ndim == 1 else rsi_ok[:, None])
    entries[:warm_up] = False
    down[:warm_up] = False
    return entries, down


def flow(rules: Rules) -> dict[str, Any]:
    """The strategy as an ordex flow document."""

    def edge(n: int, source: str, handle: str, target: str, target_handle: str) -> dict[str, str]:
        return {
            "id": f"e{n}",
            "source": source,
            "sourceHandle": handle,
            "target": target,
            "targetHandle": target_handle,
        }

    return {
        "schemaVersion": 1,
        "settings": {
            "exchange": "binance",
            "symbol": "BTC/USDT",
            "timeframe": "1m",
            "initialCapital": rules.initial_capital,
            "feeBps": rules.fee_bps,
            "slippageBps": rules.slippage_bps,
            "direction": "long",
            "maxEntries": 1,
        },
        "nodes": [
            {"id": "t", "type": "trigger.candle_close", "params": {"timeframe": "1m"}},
            {"id": "fast", "type": "indicator.ema", "params": {"period": rules.fast}},
            {"id": "slow", "type": "indicator.ema", "params": {"period": rules.slow}},
            {"id": "rsi", "type": "indicator.rsi", "params": {"period": rules.rsi_period}},
            {"id": "up", "type": "logic.cross", "params": {"direction": "above"}},
            {"id": "down", "type": "logic.cross", "params": {"direction": "below"}},
            {"id": "calm", "type": "logic.compare", "params": {"op": "<", "b": rules.rsi_below}},
            {"id": "enter", "type": "logic.and", "params": {}},
            {"id": "sl", "type": "risk.stop_loss", "params": {"pct": rules.stop_pct}},
            {
                "id": "buy",
                "type": "action.buy",
                "params": {"orderType": "market", "size": {"mode": "fixed", "value": rules.size}},
            },
            {"id": "exit", "type": "action.close", "params": {"orderType": "market"}},
        ],
        "edges": [
            edge(1, "t", "close", "fast", "source"),
            edge(2, "t", "close", "slow", "source"),
            edge(3, "t", "close", "rsi", "source"),
            edge(4, "fast", "value", "up", "a"),
            edge(5, "slow", "value", "up", "b"),
            edge(6, "fast", "value", "down", "a"),
            edge(7, "slow", "value", "down", "b"),
            edge(8, "rsi", "value", "calm", "a"),
            edge(9, "up", "out", "enter", "a"),
            edge(10, "calm", "out", "enter", "b"),
            edge(11, "enter", "out", "buy", "when"),
            edge(12, "sl", "out", "buy", "risk"),
            edge(13, "down", "out", "exit", "when"),
        ],
    }


def flow_json(rules: Rules) -> str:
    return json.dumps(flow(rules))
