"""SQL for backtests: the flow document a backtest runs, stored backtests and their trades."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.types import Connection

_SUMMARY_COLUMNS = (
    "id, user_id, flow_id, exchange, symbol, timeframe, start_date, end_date, status, "
    "metrics::text, bars, created_at"
)
_COLUMNS = _SUMMARY_COLUMNS + ", flow_snapshot::text, equity_curve::text"
_TRADE_COLUMNS = (
    "seq", "side", "entry_time", "exit_time", "entry_bar", "exit_bar", "quantity", "entry_price",
    "exit_price", "pnl", "fees", "exit_reason",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BacktestSummaryRow:
    id: uuid.UUID
    user_id: uuid.UUID
    flow_id: uuid.UUID | None
    exchange: str
    symbol: str
    timeframe: str
    start_date: datetime
    end_date: datetime
    status: str
    metrics: dict[str, Any]
    bars: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BacktestRow(BacktestSummaryRow):
    flow_snapshot: dict[str, Any]
    equity_curve: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class BacktestTradeRow:
    seq: int
    side: str
    entry_time: datetime
    exit_time: datetime
    entry_bar: int
    exit_bar: int
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    exit_reason: str


@dataclass(frozen=True, slots=True)
class NewBacktest:
    user_id: uuid.UUID
    flow_id: uuid.UUID | None
    exchange: str
    symbol: str
    timeframe: str
    start_date: datetime
    end_date: datetime
    status: str
    flow_snapshot: dict[str, Any]
    metrics: dict[str, Any]
    equity_curve: list[dict[str, Any]]
    bars: int


def _decode(record: asyncpg.Record) -> dict[str, Any]:
    values = dict(record)
    for name in ("metrics", "flow_snapshot", "equity_curve"):
        if name in values:
            values[name] = jsonb.decode(values[name])
    return values


async def flow_document(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID
) -> dict[str, Any] | None:
    """The user's flow as the evaluator reads it: schemaVersion, settings, nodes, edges."""
    record = await conn.fetchrow(
        """
        SELECT schema_version, settings::text, nodes::text, edges::text
        FROM flows WHERE id = $1 AND user_id = $2
        """,
        flow_id,
        user_id,
    )
    if record is None:
        return None
    return {
        "schemaVersion": record["schema_version"],
        "settings": jsonb.decode(record["settings"]),
        "nodes": jsonb.decode(record["nodes"]),
        "edges": jsonb.decode(record["edges"]),
    }


async def insert_backtest(conn: Connection, backtest: NewBacktest) -> BacktestRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO backtests (user_id, flow_id, exchange, symbol, timeframe, start_date,
                               end_date, status, flow_snapshot, metrics, equity_curve, bars)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12)
        RETURNING {_COLUMNS}
        """,
        backtest.user_id,
        backtest.flow_id,
        backtest.exchange,
        backtest.symbol,
        backtest.timeframe,
        backtest.start_date,
        backtest.end_date,
        backtest.status,
        jsonb.encode(backtest.flow_snapshot),
        jsonb.encode(backtest.metrics),
        jsonb.encode(backtest.equity_curve),
        backtest.bars,
    )
    assert record is not None
    return BacktestRow(**_decode(record))


async def insert_trades(
    conn: Connection, backtest_id: uuid.UUID, trades: Sequence[BacktestTradeRow]
) -> None:
    if not trades:
        return
    records = [
        (
            backtest_id, t.seq, t.side, t.entry_time, t.exit_time, t.entry_bar, t.exit_bar,
            t.quantity, t.entry_price, t.exit_price, t.pnl, t.fees, t.exit_reason,
        )
        for t in trades
    ]  # fmt: skip
    await conn.copy_records_to_table(
        "backtest_trades", columns=("backtest_id", *_TRADE_COLUMNS), records=records
    )


async def get_backtest(
    conn: Connection, user_id: uuid.UUID, backtest_id: uuid.UUID
) -> BacktestRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM backtests WHERE id = $1 AND user_id = $2", backtest_id, user_id
    )
    return None if record is None else BacktestRow(**_decode(record))


async def list_trades(conn: Connection, backtest_id: uuid.UUID) -> list[BacktestTradeRow]:
    records = await conn.fetch(
        f"SELECT {', '.join(_TRADE_COLUMNS)} FROM backtest_trades "
        "WHERE backtest_id = $1 ORDER BY seq",
        backtest_id,
    )
    return [BacktestTradeRow(**dict(r)) for r in records]


async def list_backtests(
    conn: Connection,
    user_id: uuid.UUID,
    flow_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[BacktestSummaryRow], int]:
    """The user's backtests newest first (of one flow when `flow_id` is given), and how many
    there are in all."""
    records = await conn.fetch(
        f"""
        SELECT {_SUMMARY_COLUMNS}, count(*) OVER () AS total
        FROM backtests
        WHERE user_id = $1 AND ($2::uuid IS NULL OR flow_id = $2)
        ORDER BY created_at DESC, id DESC
        LIMIT $3 OFFSET $4
        """,
        user_id,
        flow_id,
        limit,
        offset,
    )
    if not records:
        total = await conn.fetchval(
            "SELECT count(*) FROM backtests WHERE user_id = $1 AND ($2::uuid IS NULL OR flow_id = $2)",
            user_id,
            flow_id,
        )
        return [], int(total)
    rows = []
    total = 0
    for record in records:
        values = _decode(record)
        total = values.pop("total")
        rows.append(BacktestSummaryRow(**values))
    return rows, int(total)
