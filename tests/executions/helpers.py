"""What the execution tests share: a flow that trades the local server's 5-minute candles, its
creation through the API, the expected orders of a candle series, and waiting for the worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

import ordex
from ordex.services.flow_executions import bar_orders
from tests.sessions.helpers import SessionsApi
from tests.workspace.helpers import User

TIMEFRAME_MS = 300_000
REPLAY_BARS = 288  # a day of 5-minute candles: a few waves of the local server's price path
REPLAY_MS = REPLAY_BARS * TIMEFRAME_MS


def rsi_flow() -> dict[str, Any]:
    """Buy 30% of equity when the 5-bar RSI closes under 35 (2% stop), close over 65."""
    return {
        "schemaVersion": 1,
        "settings": {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "5m",
                     "initialCapital": 100000, "feeBps": 10, "slippageBps": 5,
                     "direction": "long", "maxEntries": 1},
        "nodes": [
            {"id": "t", "type": "trigger.candle_close", "params": {"timeframe": "5m"}},
            {"id": "rsi", "type": "indicator.rsi", "params": {"period": 5}},
            {"id": "lt", "type": "logic.compare", "params": {"op": "<", "b": 35}},
            {"id": "gt", "type": "logic.compare", "params": {"op": ">", "b": 65}},
            {"id": "sl", "type": "risk.stop_loss", "params": {"pct": 0.02}},
            {"id": "buy", "type": "action.buy", "params": {
                "orderType": "market", "size": {"mode": "pct_equity", "value": 0.3}}},
            {"id": "exit", "type": "action.close", "params": {"orderType": "market"}},
        ],
        "edges": [
            {"id": "e1", "source": "t", "sourceHandle": "close", "target": "rsi", "targetHandle": "source"},
            {"id": "e2", "source": "rsi", "sourceHandle": "value", "target": "lt", "targetHandle": "a"},
            {"id": "e3", "source": "rsi", "sourceHandle": "value", "target": "gt", "targetHandle": "a"},
            {"id": "e4", "source": "lt", "sourceHandle": "out", "target": "buy", "targetHandle": "when"},
            {"id": "e5", "source": "sl", "sourceHandle": "out", "target": "buy", "targetHandle": "risk"},
            {"id": "e6", "source": "gt", "sourceHandle": "out", "target": "exit", "targetHandle": "when"},
        ],
    }  # fmt: skip


async def create_flow(api: SessionsApi, user: User | None = None, name: str = "RSI 5m") -> str:
    response = await api.post("/api/flows", {"name": name, **rsi_flow()}, user)
    assert response.status_code == 201, response.text
    flow_id: str = response.json()["id"]
    return flow_id


async def start_execution(api: SessionsApi, flow_id: str, user: User | None = None) -> str:
    return await api.start(user, flow_id=flow_id, mode="PAPER", initial_capital=100_000)


async def execution_row(db: asyncpg.Connection, session_id: str) -> asyncpg.Record:
    row = await db.fetchrow(
        "SELECT * FROM flow_executions WHERE session_id = $1", uuid.UUID(session_id)
    )
    assert row is not None
    return row


async def wait_caught_up(db: asyncpg.Connection, session_id: str, seconds: float = 30.0) -> int:
    """Waits until the execution has stepped every candle closed before its start; its bars."""
    async with asyncio.timeout(seconds):
        while True:
            row = await db.fetchrow(
                "SELECT live_from_ms, last_bar_ms, bars FROM flow_executions WHERE session_id = $1",
                uuid.UUID(session_id),
            )
            if row is not None and row["last_bar_ms"] is not None:
                started = row["live_from_ms"] + REPLAY_MS
                if row["last_bar_ms"] + TIMEFRAME_MS > started - TIMEFRAME_MS:
                    return int(row["bars"])
            await asyncio.sleep(0.1)


async def candles_of(db: asyncpg.Connection, session_id: str, bars: int) -> dict[str, list[Any]]:
    """The cached candles the execution stepped (the worker reads them through the cache)."""
    row = await execution_row(db, session_id)
    rows = await db.fetch(
        """
        SELECT open_time, open, high, low, close, volume FROM candles
        WHERE exchange = 'binance' AND symbol = 'BTC/USDT' AND timeframe = '5m'
          AND open_time >= $1 ORDER BY open_time LIMIT $2
        """,
        row["from_ms"], bars,
    )  # fmt: skip
    return {
        "timestamp": [int(r["open_time"]) for r in rows],
        "open": [float(r["open"]) for r in rows],
        "high": [float(r["high"]) for r in rows],
        "low": [float(r["low"]) for r in rows],
        "close": [float(r["close"]) for r in rows],
        "volume": [float(r["volume"]) for r in rows],
    }


def expected_orders(
    document: Mapping[str, Any], candles: Mapping[str, list[Any]], live_from_ms: int
) -> list[tuple[int, str, str, str]]:
    """(bar open time, node, side, kind) of every order a run over the candles sends."""
    run = ordex.flow_run(document)
    out: list[tuple[int, str, str, str]] = []
    for i, ts in enumerate(candles["timestamp"]):
        step = run.step(
            ts, candles["open"][i], candles["high"][i], candles["low"][i], candles["close"][i],
            candles["volume"][i],
        )  # fmt: skip
        if ts + TIMEFRAME_MS >= live_from_ms:
            out.extend((ts, o.node, o.side, o.kind) for o in bar_orders(step))
    return out
