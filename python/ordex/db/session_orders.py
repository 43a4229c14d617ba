"""SQL for the orders of trading sessions (every venue), their fills, and the trades view that
positions and statistics are derived from.

Reads go through `session_order_view`, which shows an internal order with its exchange status and
executed quantities; writes go to `session_orders` and `session_fills`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import asyncpg

from ordex.db.types import Connection

WORKING_STATUSES = ("NEW", "PARTIALLY_FILLED")

_COLUMNS = (
    "id, user_id, session_id, venue, exchange, symbol, order_id, exchange_order_id, side, type, "
    "time_in_force, price, stop_price, quantity, status, triggered, executed_quantity, "
    "executed_quote_quantity, fees, hold_asset, hold_amount, reason, error_message, placed_at, "
    "filled_at, canceled_at, expired_at, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class SessionOrderRow:
    id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    venue: str
    exchange: str
    symbol: str
    order_id: int | None
    exchange_order_id: str | None
    side: str
    type: str
    time_in_force: str
    price: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal
    status: str
    triggered: bool
    executed_quantity: Decimal
    executed_quote_quantity: Decimal
    fees: Decimal
    hold_asset: str | None
    hold_amount: Decimal
    reason: str | None
    error_message: str | None
    placed_at: datetime
    filled_at: datetime | None
    canceled_at: datetime | None
    expired_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_working(self) -> bool:
        return self.status in WORKING_STATUSES

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.executed_quantity


@dataclass(frozen=True, slots=True)
class NewSessionOrder:
    id: uuid.UUID
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    venue: str
    exchange: str
    symbol: str
    order_id: int | None
    side: str
    type: str
    time_in_force: str
    price: Decimal | None
    stop_price: Decimal | None
    quantity: Decimal
    reason: str | None
    hold_asset: str | None = None
    hold_amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class NewFill:
    trade_key: str
    liquidity: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str | None
    executed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Execution:
    """An order's state after fills or a status change (paper and live orders)."""

    status: str
    executed_quantity: Decimal
    executed_quote_quantity: Decimal
    fees: Decimal
    hold_amount: Decimal
    triggered: bool
    exchange_order_id: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One fill of a session order, on any venue (the `session_trades` view)."""

    session_id: uuid.UUID | None
    session_order_id: uuid.UUID
    venue: str
    exchange: str
    symbol: str
    side: str
    reason: str | None
    liquidity: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    trade_key: str
    executed_at: datetime


def _order(record: asyncpg.Record) -> SessionOrderRow:
    return SessionOrderRow(**dict(record))


async def insert_order(conn: Connection, new: NewSessionOrder) -> None:
    await conn.execute(
        """
        INSERT INTO session_orders (id, user_id, session_id, venue, exchange, symbol, order_id,
                                    side, type, time_in_force, price, stop_price, quantity,
                                    reason, hold_asset, hold_amount)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
        """,
        new.id, new.user_id, new.session_id, new.venue, new.exchange, new.symbol, new.order_id,
        new.side, new.type, new.time_in_force, new.price, new.stop_price, new.quantity,
        new.reason, new.hold_asset, new.hold_amount,
    )  # fmt: skip


async def insert_executed_order(
    conn: Connection,
    new: NewSessionOrder,
    execution: Execution,
    fills: Sequence[NewFill],
    balance_changes: dict[str, tuple[Decimal, Decimal]],
) -> SessionOrderRow:
    """An order placed and (partly) executed at once, in one statement: its row in its final
    state, its fills, and the balance deltas (total, held) of its session (rows the transaction
    has locked)."""
    assets = list(balance_changes)
    record = await conn.fetchrow(
        f"""
        WITH placed AS (
            INSERT INTO session_orders (
                id, user_id, session_id, venue, exchange, symbol, order_id, side, type,
                time_in_force, price, stop_price, quantity, reason, hold_asset, hold_amount,
                status, triggered, executed_quantity, executed_quote_quantity, fees,
                exchange_order_id, error_message, filled_at, expired_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                    $17, $18, $19, $20, $21, $22, $23,
                    CASE WHEN $17 = 'FILLED' THEN clock_timestamp() END,
                    CASE WHEN $17 = 'EXPIRED' THEN clock_timestamp() END)
            RETURNING {_COLUMNS}
        ), filled AS (
            INSERT INTO session_fills (session_order_id, exchange_trade_id, liquidity, price,
                                       quantity, fee, fee_asset)
            SELECT $1, f.key, f.liquidity, f.price, f.quantity, f.fee, f.fee_asset
            FROM unnest($24::text[], $25::text[], $26::numeric[], $27::numeric[],
                        $28::numeric[], $29::text[])
                 AS f (key, liquidity, price, quantity, fee, fee_asset)
        ), moved AS (
            UPDATE session_balances AS b
            SET total = b.total + c.total, held = b.held + c.held
            FROM unnest($30::text[], $31::numeric[], $32::numeric[]) AS c (asset, total, held)
            WHERE b.session_id = $3 AND b.asset = c.asset
        )
        SELECT * FROM placed
        """,
        new.id, new.user_id, new.session_id, new.venue, new.exchange, new.symbol, new.order_id,
        new.side, new.type, new.time_in_force, new.price, new.stop_price, new.quantity,
        new.reason, new.hold_asset, new.hold_amount, execution.status, execution.triggered,
        execution.executed_quantity, execution.executed_quote_quantity, execution.fees,
        execution.exchange_order_id, execution.error_message,
        [f.trade_key for f in fills], [f.liquidity for f in fills], [f.price for f in fills],
        [f.quantity for f in fills], [f.fee for f in fills], [f.fee_asset for f in fills],
        assets, [balance_changes[a][0] for a in assets], [balance_changes[a][1] for a in assets],
    )  # fmt: skip
    assert record is not None
    return _order(record)


async def get_order(
    conn: Connection, user_id: uuid.UUID | None, order_id: uuid.UUID, *, lock: bool = False
) -> SessionOrderRow | None:
    """The user's order (any user's when `user_id` is None); `lock` takes its row lock first."""
    if lock:
        found = await conn.fetchval(
            "SELECT true FROM session_orders WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)"
            " FOR UPDATE",
            order_id, user_id,
        )  # fmt: skip
        if not found:
            return None
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM session_order_view"
        " WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)",
        order_id, user_id,
    )  # fmt: skip
    return None if record is None else _order(record)


async def list_orders(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    session_id: uuid.UUID | None,
    symbol: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[SessionOrderRow]:
    """The user's orders, newest first; the filters combine with AND."""
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM session_order_view
        WHERE user_id = $1
          AND ($2::uuid IS NULL OR session_id = $2)
          AND ($3::text IS NULL OR symbol = $3)
          AND ($4::text IS NULL OR status = $4)
        ORDER BY placed_at DESC, id DESC
        LIMIT $5 OFFSET $6
        """,
        user_id, session_id, symbol, status, limit, offset,
    )  # fmt: skip
    return [_order(r) for r in records]


async def working_orders(conn: Connection, session_id: uuid.UUID) -> list[SessionOrderRow]:
    """A session's orders still working on their venue (internal ones by their exchange status)."""
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM session_order_view
        WHERE session_id = $1 AND status IN ('NEW', 'PARTIALLY_FILLED')
        ORDER BY placed_at
        """,
        session_id,
    )
    return [_order(r) for r in records]


async def conditional_orders(conn: Connection, user_id: uuid.UUID) -> list[SessionOrderRow]:
    """The user's working stop-loss and take-profit orders (a position's stop and target)."""
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM session_order_view
        WHERE user_id = $1 AND status IN ('NEW', 'PARTIALLY_FILLED')
          AND type IN ('STOP_LOSS', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT', 'TAKE_PROFIT_LIMIT')
        ORDER BY placed_at
        """,
        user_id,
    )
    return [_order(r) for r in records]


async def watched_orders(conn: Connection, venue: str, limit: int) -> list[SessionOrderRow]:
    """Paper or live orders still working, oldest first: what the session watcher follows."""
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM session_orders
        WHERE venue = $1 AND status IN ('NEW', 'PARTIALLY_FILLED')
        ORDER BY exchange, symbol, placed_at
        LIMIT $2
        """,
        venue, limit,
    )  # fmt: skip
    return [_order(r) for r in records]


async def has_watched_orders(conn: Connection) -> bool:
    found = await conn.fetchval(
        """
        SELECT true FROM session_orders
        WHERE venue <> 'internal' AND status IN ('NEW', 'PARTIALLY_FILLED') LIMIT 1
        """
    )
    return bool(found)


async def insert_fills(
    conn: Connection, order_id: uuid.UUID, fills: Sequence[NewFill]
) -> list[NewFill]:
    """Stores the fills not stored yet (by trade key); returns those it stored."""
    if not fills:
        return []
    keys = await conn.fetch(
        """
        INSERT INTO session_fills (session_order_id, exchange_trade_id, liquidity, price,
                                   quantity, fee, fee_asset, executed_at)
        SELECT $1, f.key, f.liquidity, f.price, f.quantity, f.fee, f.fee_asset,
               COALESCE(f.executed_at, clock_timestamp())
        FROM unnest($2::text[], $3::text[], $4::numeric[], $5::numeric[], $6::numeric[],
                    $7::text[], $8::timestamptz[])
             AS f (key, liquidity, price, quantity, fee, fee_asset, executed_at)
        ON CONFLICT (session_order_id, exchange_trade_id) DO NOTHING
        RETURNING exchange_trade_id
        """,
        order_id,
        [f.trade_key for f in fills],
        [f.liquidity for f in fills],
        [f.price for f in fills],
        [f.quantity for f in fills],
        [f.fee for f in fills],
        [f.fee_asset for f in fills],
        [f.executed_at for f in fills],
    )
    stored = {r["exchange_trade_id"] for r in keys}
    return [f for f in fills if f.trade_key in stored]


async def update_execution(conn: Connection, order_id: uuid.UUID, execution: Execution) -> None:
    """The order's new state (its final status stamps the matching time once)."""
    await conn.execute(
        """
        UPDATE session_orders
        SET status = $2, executed_quantity = $3, executed_quote_quantity = $4, fees = $5,
            hold_amount = $6, triggered = $7,
            exchange_order_id = COALESCE($8, exchange_order_id),
            error_message = COALESCE($9, error_message),
            filled_at = CASE WHEN $2 = 'FILLED' THEN COALESCE(filled_at, clock_timestamp()) END,
            canceled_at = CASE WHEN $2 = 'CANCELED'
                               THEN COALESCE(canceled_at, clock_timestamp()) END,
            expired_at = CASE WHEN $2 = 'EXPIRED' THEN COALESCE(expired_at, clock_timestamp()) END,
            updated_at = clock_timestamp()
        WHERE id = $1
        """,
        order_id, execution.status, execution.executed_quantity,
        execution.executed_quote_quantity, execution.fees, execution.hold_amount,
        execution.triggered, execution.exchange_order_id, execution.error_message,
    )  # fmt: skip


async def fill_keys(conn: Connection, order_id: uuid.UUID) -> set[str]:
    records = await conn.fetch(
        "SELECT exchange_trade_id FROM session_fills WHERE session_order_id = $1", order_id
    )
    return {r["exchange_trade_id"] for r in records}


async def delete_order(conn: Connection, order_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM session_orders WHERE id = $1", order_id)


async def trades(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    session_ids: Sequence[uuid.UUID | None] | None = None,
    symbol: str | None = None,
) -> list[TradeRow]:
    """The user's session fills in the order they happened, optionally of some sessions (None in
    `session_ids` stands for orders without a session) and one symbol."""
    ids = [s for s in session_ids or () if s is not None]
    sessionless = session_ids is None or None in session_ids
    records = await conn.fetch(
        """
        SELECT session_id, session_order_id, venue, exchange, symbol, side, reason, liquidity,
               price, quantity, fee, trade_key, executed_at
        FROM session_trades
        WHERE user_id = $1
          AND ($2::boolean IS NULL OR session_id = ANY($3::uuid[])
               OR ($4 AND session_id IS NULL))
          AND ($5::text IS NULL OR symbol = $5)
        ORDER BY executed_at, fill_id
        """,
        user_id, None if session_ids is None else True, ids, sessionless, symbol,
    )  # fmt: skip
    return [TradeRow(**dict(r)) for r in records]


async def latest_position_trades(
    conn: Connection, user_id: uuid.UUID, session_id: uuid.UUID | None, symbol: str
) -> list[TradeRow]:
    """The fills of a session's latest position in a symbol: those after the last time the
    session was flat before its latest fill (the position a new fill changed)."""
    records = await conn.fetch(
        """
        WITH t AS (
            SELECT session_id, session_order_id, venue, exchange, symbol, side, reason,
                   liquidity, price, quantity, fee, trade_key, executed_at,
                   sum(CASE WHEN side = 'BUY' THEN quantity ELSE -quantity END)
                       OVER (ORDER BY executed_at, fill_id) AS running,
                   row_number() OVER (ORDER BY executed_at, fill_id) AS n
            FROM session_trades
            WHERE user_id = $1 AND session_id IS NOT DISTINCT FROM $2 AND symbol = $3
        ), last_flat AS (
            SELECT COALESCE(max(n), 0) AS n FROM t
            WHERE running = 0 AND n < (SELECT max(n) FROM t)
        )
        SELECT session_id, session_order_id, venue, exchange, symbol, side, reason, liquidity,
               price, quantity, fee, trade_key, executed_at
        FROM t WHERE n > (SELECT n FROM last_flat)
        ORDER BY n
        """,
        user_id, session_id, symbol,
    )  # fmt: skip
    return [TradeRow(**dict(r)) for r in records]
