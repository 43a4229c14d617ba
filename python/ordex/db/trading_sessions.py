"""SQL for trading sessions and the simulated balances of paper sessions.

Every session query names its owner, so another user's session is simply not found. Order intake
reads its session `FOR SHARE` inside the order's transaction and a pause/stop takes it `FOR UPDATE`:
an order either commits before the pause or sees the session paused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg

from ordex.db.types import Connection

Lock = Literal["share", "update"] | None

_COLUMNS = (
    "id, user_id, mode, venue, exchange, market_type, symbol, base_asset, quote_asset, "
    "exchange_account_id, initial_capital, status, flow_id, agent, final_capital, "
    "reported_final_capital, total_pnl, total_trades, winning_trades, losing_trades, "
    "max_drawdown, max_drawdown_percent, sharpe_ratio, started_at, paused_at, stopped_at, "
    "created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: uuid.UUID
    user_id: uuid.UUID
    mode: str
    venue: str
    exchange: str
    market_type: str
    symbol: str
    base_asset: str
    quote_asset: str
    exchange_account_id: uuid.UUID | None
    initial_capital: Decimal
    status: str
    flow_id: uuid.UUID | None
    agent: str | None
    final_capital: Decimal | None
    reported_final_capital: Decimal | None
    total_pnl: Decimal | None
    total_trades: int | None
    winning_trades: int | None
    losing_trades: int | None
    max_drawdown: Decimal | None
    max_drawdown_percent: Decimal | None
    sharpe_ratio: Decimal | None
    started_at: datetime
    paused_at: datetime | None
    stopped_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    user_id: uuid.UUID
    mode: str
    venue: str
    exchange: str
    market_type: str
    symbol: str
    base_asset: str
    quote_asset: str
    exchange_account_id: uuid.UUID | None
    initial_capital: Decimal
    flow_id: uuid.UUID | None
    agent: str | None


@dataclass(frozen=True, slots=True)
class StoppedStats:
    final_capital: Decimal
    total_pnl: Decimal
    total_trades: int
    winning_trades: int
    losing_trades: int
    max_drawdown: Decimal
    max_drawdown_percent: Decimal
    sharpe_ratio: Decimal | None


@dataclass(frozen=True, slots=True)
class Balance:
    total: Decimal
    held: Decimal

    @property
    def free(self) -> Decimal:
        return self.total - self.held


def _row(record: asyncpg.Record) -> SessionRow:
    return SessionRow(**dict(record))


async def insert_session(conn: Connection, new: NewSession) -> SessionRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO trading_sessions (user_id, mode, venue, exchange, market_type, symbol,
                                      base_asset, quote_asset, exchange_account_id,
                                      initial_capital, flow_id, agent)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        RETURNING {_COLUMNS}
        """,
        new.user_id, new.mode, new.venue, new.exchange, new.market_type, new.symbol,
        new.base_asset, new.quote_asset, new.exchange_account_id, new.initial_capital,
        new.flow_id, new.agent,
    )  # fmt: skip
    assert record is not None
    return _row(record)


async def flow_exists(conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID) -> bool:
    found = await conn.fetchval(
        "SELECT true FROM flows WHERE id = $1 AND user_id = $2", flow_id, user_id
    )
    return bool(found)


async def get_session(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID, *, lock: Lock = None
) -> SessionRow | None:
    suffix = {None: "", "share": " FOR SHARE", "update": " FOR UPDATE"}[lock]
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM trading_sessions WHERE id = $1 AND user_id = $2{suffix}",
        session_id, user_id,
    )  # fmt: skip
    return None if record is None else _row(record)


async def get_sessions(conn: Connection, session_ids: Iterable[uuid.UUID]) -> list[SessionRow]:
    """Sessions by id, whoever owns them (the session watcher's view)."""
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM trading_sessions WHERE id = ANY($1::uuid[])", list(session_ids)
    )
    return [_row(r) for r in records]


async def list_sessions(
    conn: Connection, user_id: uuid.UUID, *, status: str | None, limit: int, offset: int
) -> list[SessionRow]:
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM trading_sessions
        WHERE user_id = $1 AND ($2::text IS NULL OR status = $2)
        ORDER BY created_at DESC, id DESC
        LIMIT $3 OFFSET $4
        """,
        user_id, status, limit, offset,
    )  # fmt: skip
    return [_row(r) for r in records]


async def active_sessions_for_symbol(
    conn: Connection, user_id: uuid.UUID, symbol: str
) -> list[SessionRow]:
    """The user's sessions on `symbol` that are not stopped (running or paused)."""
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM trading_sessions
        WHERE user_id = $1 AND symbol = $2 AND status <> 'STOPPED'
        ORDER BY created_at DESC
        """,
        user_id, symbol,
    )  # fmt: skip
    return [_row(r) for r in records]


async def set_status(conn: Connection, session_id: uuid.UUID, status: str) -> SessionRow:
    """RUNNING or PAUSED (a stop goes through `stop_session`)."""
    record = await conn.fetchrow(
        f"""
        UPDATE trading_sessions
        SET status = $2,
            paused_at = CASE WHEN $2 = 'PAUSED' THEN clock_timestamp() END,
            updated_at = clock_timestamp()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        session_id, status,
    )  # fmt: skip
    assert record is not None
    return _row(record)


async def mark_stopped(
    conn: Connection, session_id: uuid.UUID, reported_final_capital: Decimal | None
) -> SessionRow:
    """STOPPED from now on: no order is accepted any more (its statistics come next)."""
    record = await conn.fetchrow(
        f"""
        UPDATE trading_sessions
        SET status = 'STOPPED', stopped_at = clock_timestamp(), paused_at = NULL,
            reported_final_capital = $2, updated_at = clock_timestamp()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        session_id, reported_final_capital,
    )  # fmt: skip
    assert record is not None
    return _row(record)


async def record_stats(conn: Connection, session_id: uuid.UUID, stats: StoppedStats) -> SessionRow:
    """The statistics of a stopped session, as of its stop."""
    record = await conn.fetchrow(
        f"""
        UPDATE trading_sessions
        SET final_capital = $2, total_pnl = $3, total_trades = $4, winning_trades = $5,
            losing_trades = $6, max_drawdown = $7, max_drawdown_percent = $8, sharpe_ratio = $9,
            updated_at = clock_timestamp()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        session_id, stats.final_capital, stats.total_pnl, stats.total_trades,
        stats.winning_trades, stats.losing_trades, stats.max_drawdown,
        stats.max_drawdown_percent, stats.sharpe_ratio,
    )  # fmt: skip
    assert record is not None
    return _row(record)


# --- paper balances --------------------------------------------------------------------------


async def insert_balance(
    conn: Connection, session_id: uuid.UUID, asset: str, total: Decimal
) -> None:
    await conn.execute(
        "INSERT INTO session_balances (session_id, asset, total) VALUES ($1, $2, $3)",
        session_id, asset, total,
    )  # fmt: skip


async def lock_balances(
    conn: Connection, session_id: uuid.UUID, assets: Sequence[str]
) -> dict[str, Balance]:
    """The session's balances of `assets` (created at zero when missing), locked for the rest
    of the transaction."""
    await conn.execute(
        """
        INSERT INTO session_balances (session_id, asset)
        SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING
        """,
        session_id, sorted(set(assets)),
    )  # fmt: skip
    records = await conn.fetch(
        """
        SELECT asset, total, held FROM session_balances
        WHERE session_id = $1 AND asset = ANY($2::text[])
        ORDER BY asset FOR UPDATE
        """,
        session_id, sorted(set(assets)),
    )  # fmt: skip
    return {r["asset"]: Balance(r["total"], r["held"]) for r in records}


async def lock_for_order(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID, assets: Sequence[str]
) -> tuple[str | None, dict[str, Balance]]:
    """In one statement: the session's status (its row shared-locked: a pause or stop waits for
    the order's transaction) and its balances of `assets` locked. (None, {}) when the session is
    not the user's or one of the balance rows does not exist yet (`lock_balances` creates it)."""
    wanted = sorted(set(assets))
    records = await conn.fetch(
        """
        SELECT s.status, b.asset, b.total, b.held
        FROM trading_sessions s
        JOIN session_balances b ON b.session_id = s.id AND b.asset = ANY($3::text[])
        WHERE s.id = $1 AND s.user_id = $2
        ORDER BY b.asset
        FOR SHARE OF s FOR UPDATE OF b
        """,
        session_id, user_id, wanted,
    )  # fmt: skip
    if len(records) != len(wanted):
        return None, {}
    return records[0]["status"], {r["asset"]: Balance(r["total"], r["held"]) for r in records}


async def read_balances(conn: Connection, session_id: uuid.UUID) -> dict[str, Balance]:
    records = await conn.fetch(
        "SELECT asset, total, held FROM session_balances WHERE session_id = $1 ORDER BY asset",
        session_id,
    )
    return {r["asset"]: Balance(r["total"], r["held"]) for r in records}


async def change_balances(
    conn: Connection, session_id: uuid.UUID, changes: dict[str, tuple[Decimal, Decimal]]
) -> None:
    """Adds (total, held) deltas to balances the transaction has locked (`lock_balances`)."""
    changed = {asset: delta for asset, delta in changes.items() if any(delta)}
    if not changed:
        return
    await conn.execute(
        """
        UPDATE session_balances AS b SET total = b.total + c.total, held = b.held + c.held
        FROM unnest($2::text[], $3::numeric[], $4::numeric[]) AS c (asset, total, held)
        WHERE b.session_id = $1 AND b.asset = c.asset
        """,
        session_id,
        list(changed),
        [total for total, _ in changed.values()],
        [held for _, held in changed.values()],
    )
