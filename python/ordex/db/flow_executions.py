"""SQL for live flow executions (migrations/20261204000400_flow_executions.sql): the execution's
frozen flow and candle range, the orders it sent under their client order ids, its closed trades
and its progress. Reads for the API name the owner, so another user's execution is not found."""

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

_COLUMNS = (
    "e.session_id, e.user_id, e.flow_id, e.document::text AS document, e.timeframe, e.from_ms, "
    "e.live_from_ms, e.last_bar_ms, e.bars, e.equity, e.open_positions, e.error_count, "
    "e.last_error, s.status, s.started_at, s.initial_capital, s.exchange, s.symbol, s.venue, "
    "s.market_type"
)


@dataclass(frozen=True, slots=True)
class ExecutionRow:
    session_id: uuid.UUID
    user_id: uuid.UUID
    flow_id: uuid.UUID | None
    document: dict[str, Any]
    timeframe: str
    from_ms: int
    live_from_ms: int
    last_bar_ms: int | None
    bars: int
    equity: Decimal | None
    open_positions: int
    error_count: int
    last_error: str | None
    # of its trading session
    status: str
    started_at: datetime
    initial_capital: Decimal
    exchange: str
    symbol: str
    venue: str
    market_type: str


@dataclass(frozen=True, slots=True)
class NewExecution:
    session_id: uuid.UUID
    user_id: uuid.UUID
    flow_id: uuid.UUID | None
    document: dict[str, Any]
    timeframe: str
    from_ms: int
    live_from_ms: int


@dataclass(frozen=True, slots=True)
class OrderIntent:
    client_order_id: str
    session_id: uuid.UUID
    bar_ms: int
    node: str
    side: str
    kind: str
    quantity: Decimal
    limit_price: Decimal | None
    reason: str
    candle_close_ms: int


@dataclass(frozen=True, slots=True)
class TradeRow:
    session_id: uuid.UUID
    seq: int
    side: str
    entry_ms: int
    exit_ms: int
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal
    fees: Decimal
    exit_reason: str


def _row(record: asyncpg.Record) -> ExecutionRow:
    values = dict(record)
    values["document"] = jsonb.decode(values["document"])
    return ExecutionRow(**values)


_FROM = "FROM flow_executions e JOIN trading_sessions s ON s.id = e.session_id"


async def flow_sessions_without_execution(conn: Connection) -> list[uuid.UUID]:
    """Running sessions with a flow that no execution row stands for yet."""
    rows = await conn.fetch(
        """
        SELECT s.id FROM trading_sessions s
        WHERE s.status = 'RUNNING' AND s.flow_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM flow_executions e WHERE e.session_id = s.id)
        """
    )
    return [r["id"] for r in rows]


async def insert_execution(conn: Connection, new: NewExecution) -> None:
    await conn.execute(
        """
        INSERT INTO flow_executions (session_id, user_id, flow_id, document, timeframe, from_ms,
                                     live_from_ms)
        VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
        ON CONFLICT (session_id) DO NOTHING
        """,
        new.session_id, new.user_id, new.flow_id, jsonb.encode(new.document), new.timeframe,
        new.from_ms, new.live_from_ms,
    )  # fmt: skip


async def running_executions(conn: Connection) -> list[ExecutionRow]:
    """Executions whose session is not stopped."""
    rows = await conn.fetch(f"SELECT {_COLUMNS} {_FROM} WHERE s.status <> 'STOPPED'")
    return [_row(r) for r in rows]


async def get_execution(conn: Connection, session_id: uuid.UUID) -> ExecutionRow | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} {_FROM} WHERE e.session_id = $1", session_id)
    return None if record is None else _row(record)


async def get_user_execution(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID
) -> ExecutionRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} {_FROM} WHERE e.session_id = $1 AND e.user_id = $2",
        session_id, user_id,
    )  # fmt: skip
    return None if record is None else _row(record)


async def flow_executions(
    conn: Connection, user_id: uuid.UUID, flow_ids: Sequence[uuid.UUID]
) -> list[ExecutionRow]:
    """The executions of these flows of the user's, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} {_FROM}
        WHERE e.user_id = $1 AND e.flow_id = ANY($2::uuid[])
        ORDER BY s.started_at DESC
        """,
        user_id, list(flow_ids),
    )  # fmt: skip
    return [_row(r) for r in rows]


async def sent_client_ids(conn: Connection, session_id: uuid.UUID) -> set[str]:
    rows = await conn.fetch(
        "SELECT client_order_id FROM flow_execution_orders WHERE session_id = $1", session_id
    )
    return {r["client_order_id"] for r in rows}


async def insert_intent(conn: Connection, intent: OrderIntent) -> bool:
    """Records the order about to be sent; False when its client order id was sent already."""
    inserted = await conn.fetchval(
        """
        INSERT INTO flow_execution_orders (client_order_id, session_id, bar_ms, node, side, kind,
                                           quantity, limit_price, reason, candle_close_ms)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (client_order_id) DO NOTHING
        RETURNING true
        """,
        intent.client_order_id, intent.session_id, intent.bar_ms, intent.node, intent.side,
        intent.kind, intent.quantity, intent.limit_price, intent.reason, intent.candle_close_ms,
    )  # fmt: skip
    return bool(inserted)


async def set_intent_result(
    conn: Connection,
    client_order_id: str,
    session_order_id: uuid.UUID | None,
    error: str | None,
    *,
    count_error: bool = True,
) -> None:
    await conn.execute(
        """
        UPDATE flow_execution_orders SET session_order_id = $2, error = $3, sent_at = clock_timestamp()
        WHERE client_order_id = $1
        """,
        client_order_id, session_order_id, error,
    )  # fmt: skip
    if error is not None and count_error:
        await conn.execute(
            """
            UPDATE flow_executions SET error_count = error_count + 1, last_error = $2
            WHERE session_id = (SELECT session_id FROM flow_execution_orders
                                WHERE client_order_id = $1)
            """,
            client_order_id, error,
        )  # fmt: skip


async def list_intents(conn: Connection, session_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """
        SELECT client_order_id, bar_ms, node, side, kind, quantity, limit_price, reason,
               session_order_id, error, candle_close_ms, sent_at
        FROM flow_execution_orders WHERE session_id = $1 ORDER BY bar_ms, client_order_id
        """,
        session_id,
    )
    return [dict(r) for r in rows]


async def record_progress(
    conn: Connection,
    session_id: uuid.UUID,
    last_bar_ms: int,
    bars: int,
    equity: Decimal,
    open_positions: int,
    trades: Sequence[TradeRow],
) -> None:
    """The progress after a bar, and the trades closed since the last record (idempotent)."""
    await conn.execute(
        """
        UPDATE flow_executions SET last_bar_ms = $2, bars = $3, equity = $4, open_positions = $5,
                                   updated_at = clock_timestamp()
        WHERE session_id = $1
        """,
        session_id, last_bar_ms, bars, equity, open_positions,
    )  # fmt: skip
    if trades:
        await conn.executemany(
            """
            INSERT INTO flow_execution_trades (session_id, seq, side, entry_ms, exit_ms, quantity,
                                               entry_price, exit_price, pnl, fees, exit_reason)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (session_id, seq) DO NOTHING
            """,
            [
                (t.session_id, t.seq, t.side, t.entry_ms, t.exit_ms, t.quantity, t.entry_price,
                 t.exit_price, t.pnl, t.fees, t.exit_reason)
                for t in trades
            ],
        )  # fmt: skip


async def record_error(conn: Connection, session_id: uuid.UUID, message: str) -> None:
    await conn.execute(
        """
        UPDATE flow_executions SET error_count = error_count + 1, last_error = $2,
                                   updated_at = clock_timestamp()
        WHERE session_id = $1
        """,
        session_id, message[:2000],
    )  # fmt: skip


async def trade_count(conn: Connection, session_id: uuid.UUID) -> int:
    count = await conn.fetchval(
        "SELECT count(*) FROM flow_execution_trades WHERE session_id = $1", session_id
    )
    return int(count or 0)


async def trades_of(
    conn: Connection, session_ids: Sequence[uuid.UUID], from_ms: int | None, to_ms: int | None
) -> list[TradeRow]:
    """Closed trades of these executions exiting in [from_ms, to_ms], by exit time."""
    rows = await conn.fetch(
        """
        SELECT session_id, seq, side, entry_ms, exit_ms, quantity, entry_price, exit_price, pnl,
               fees, exit_reason
        FROM flow_execution_trades
        WHERE session_id = ANY($1::uuid[])
          AND ($2::bigint IS NULL OR exit_ms >= $2) AND ($3::bigint IS NULL OR exit_ms <= $3)
        ORDER BY exit_ms, session_id, seq
        """,
        list(session_ids), from_ms, to_ms,
    )  # fmt: skip
    return [TradeRow(**dict(r)) for r in rows]
