"""SQL of the trading-app manual orders (`/api/orders`): rows of the one `orders` table, with the
GTD expiry and how far the persister has applied the market's engine events; the lease of a
process listening to the persister's progress."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class ManualOrderRow:
    id: int
    account_id: int
    market_id: str
    venue: str
    side: str
    type: str
    time_in_force: str
    price: Decimal | None
    trigger_price: Decimal | None
    quantity: Decimal
    filled_quantity: Decimal
    average_price: Decimal | None
    status: str
    reject_reason: str | None
    cancel_reason: str | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


COLUMNS = (
    "o.id, o.account_id, o.market_id, o.venue, o.side, o.type, o.time_in_force, o.price, "
    "o.trigger_price, o.quantity, o.filled_quantity, o.average_price, o.status, o.reject_reason, "
    "o.cancel_reason, o.expires_at, o.created_at, o.updated_at"
)


async def set_expires_at(conn: Connection, order_id: int, expires_at: datetime) -> None:
    """Records a GTD order's expiry (in the transaction that inserted the order)."""
    await conn.execute("UPDATE orders SET expires_at = $2 WHERE id = $1", order_id, expires_at)


async def get_order(
    conn: Connection, account_id: int, order_id: int
) -> tuple[ManualOrderRow, int] | None:
    """The account's order and the last event seq the persister applied in its market."""
    record = await conn.fetchrow(
        f"""
        SELECT {COLUMNS}, coalesce(p.last_seq, 0) AS applied_seq
        FROM orders o LEFT JOIN market_progress p ON p.market_id = o.market_id
        WHERE o.id = $1 AND o.account_id = $2
        """,
        order_id, account_id,
    )  # fmt: skip
    if record is None:
        return None
    values = dict(record)
    applied = int(values.pop("applied_seq"))
    return ManualOrderRow(**values), applied


async def list_orders(
    conn: Connection,
    account_id: int,
    *,
    market_id: str | None,
    status: str | None,
    side: str | None,
    limit: int,
    offset: int,
) -> list[ManualOrderRow]:
    """The account's orders, newest first; the filters combine with AND."""
    records = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM orders o
        WHERE o.account_id = $1
          AND ($2::text IS NULL OR o.market_id = $2)
          AND ($3::text IS NULL OR o.status = $3)
          AND ($4::text IS NULL OR o.side = $4)
        ORDER BY o.id DESC
        LIMIT $5 OFFSET $6
        """,
        account_id, market_id, status, side, limit, offset,
    )  # fmt: skip
    return [ManualOrderRow(**dict(r)) for r in records]


async def hold_progress_lease(conn: Connection, listener_id: uuid.UUID, seconds: float) -> None:
    """Asks the persister's trigger to announce its commits for `seconds` more (a listening
    process renews it); leases expired long ago (a process that died) are swept."""
    await conn.execute(
        """
        WITH swept AS (
            DELETE FROM market_progress_listeners WHERE expires_at < now() - interval '1 hour'
        )
        INSERT INTO market_progress_listeners (id, expires_at)
        VALUES ($1, now() + make_interval(secs => $2))
        ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at
        """,
        listener_id, seconds,
    )  # fmt: skip


async def drop_progress_lease(conn: Connection, listener_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM market_progress_listeners WHERE id = $1", listener_id)
