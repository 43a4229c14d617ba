"""The example flow of the automation design note: buy half the equity when the hourly RSI closes
under 30, with a 2% stop; close when it closes over 70. Shared by the flow and backtest tests."""

from __future__ import annotations

from typing import Any


def EXAMPLE_FLOW() -> dict[str, Any]:  # a function: every caller gets its own copy to change
    return {
        "schemaVersion": 1,
        "settings": {
            "exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h",
            "initialCapital": 10000, "feeBps": 10, "slippageBps": 5, "direction": "long",
            "maxEntries": 1,
        },
        "nodes": [
            {"id": "t", "type": "trigger.candle_close", "params": {"timeframe": "1h"}},
            {"id": "rsi", "type": "indicator.rsi", "params": {"period": 14}},
            {"id": "lt", "type": "logic.compare", "params": {"op": "<", "b": 30}},
            {"id": "gt", "type": "logic.compare", "params": {"op": ">", "b": 70}},
            {"id": "sl", "type": "risk.stop_loss", "params": {"pct": 0.02}},
            {"id": "buy", "type": "action.buy",
             "params": {"orderType": "market", "size": {"mode": "pct_equity", "value": 0.5}}},
            {"id": "exit", "type": "action.close", "params": {"orderType": "market"}},
        ],
        "edges": [
            {"id": "e1", "source": "t", "sourceHandle": "close", "target": "rsi",
             "targetHandle": "source"},
            {"id": "e2", "source": "rsi", "sourceHandle": "value", "target": "lt",
             "targetHandle": "a"},
            {"id": "e3", "source": "rsi", "sourceHandle": "value", "target": "gt",
             "targetHandle": "a"},
            {"id": "e4", "source": "lt", "sourceHandle": "out", "target": "buy",
             "targetHandle": "when"},
            {"id": "e5", "source": "sl", "sourceHandle": "out", "target": "buy",
             "targetHandle": "risk"},
            {"id": "e6", "source": "gt", "sourceHandle": "out", "target": "exit",
             "targetHandle": "when"},
        ],
    }  # fmt: skip
