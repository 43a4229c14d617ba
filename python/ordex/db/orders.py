"""SQL for orders and the outbox of engine commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import orjson

from ordex.db.types import Connection

LIVE_STATUSES = ("PENDING", "OPEN", "PARTIALLY_FILLED", "UNTRIGGERED")
FINAL_STATUSES = ("FILLED", "CANCELLED", "REJECTED", "EXPIRED")
OUTBOX_CHANNEL = "outbox"


@dataclass(frozen=True, slots=True)
class OrderRow:
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
    client_order_id: str | None
    reduce_only: bool
    post_only: bool
    leverage: int | None
    hold_asset: str
    hold_amount: Decimal
    hold_released: Decimal
    created_at: datetime
    updated_at: datetime

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


@dataclass(frozen=True, slots=True)
class LiveOrderTotals:
    """An account's live orders in one market: open quantities per side and the highest price."""

    market_id: str
    open_buy: Decimal
    open_sell: Decimal
    max_price: Decimal | None


ORDER_COLUMNS = (
    "id, account_id, market_id, venue, side, type, time_in_force, price, trigger_price, quantity, "
    "filled_quantity, average_price, status, reject_reason, cancel_reason, client_order_id, "
    "reduce_only, post_only, leverage, hold_asset, hold_amount, hold_released, created_at, "
    "updated_at"
)


async def get_order(
    conn: Connection, account_id: int, order_id: int, *, for_update: bool = False
) -> OrderRow | None:
    lock = " FOR UPDATE" if for_update else ""
    record = await conn.fetchrow(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 AND account_id = $2{lock}",
        order_id, account_id,
    )  # fmt: skip
    return None if record is None else OrderRow(**dict(record))


async def list_orders(
    conn: Connection,
    account_id: int,
    *,
    market_id: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[OrderRow]:
    """The account's orders, newest first."""
    records = await conn.fetch(
        f"""
        SELECT {ORDER_COLUMNS} FROM orders
        WHERE account_id = $1
          AND ($2::text IS NULL OR market_id = $2)
          AND ($3::text IS NULL OR status = $3)
        ORDER BY id DESC
        LIMIT $4
        """,
        account_id, market_id, status, limit,
    )  # fmt: skip
    return [OrderRow(**dict(r)) for r in records]


async def insert_outbox(
    conn: Connection, market_id: str, kind: str, command: dict[str, object]
) -> tuple[int, str]:
    """Insert an engine command; its `cmd_id` is the outbox row's own id. Returns `(id, payload)`.

    The id is drawn first so the stored payload already carries it: the publisher sends the
    payload as it is. The same statement wakes the outbox publisher (`pg_notify`, delivered when
    the transaction commits), so queueing a command costs one round trip.
    """
    record = await conn.fetchrow(
        """
        WITH queued AS (
            INSERT INTO outbox (id, market_id, kind, payload) OVERRIDING SYSTEM VALUE
            SELECT n.id, $1, $2, $3::jsonb || jsonb_build_object('cmd_id', n.id)
            FROM (SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS id) AS n
            RETURNING id, payload::text AS payload
        )
        SELECT id, payload, pg_notify($4, $1) FROM queued
        """,
        market_id, kind, orjson.dumps(command).decode(), OUTBOX_CHANNEL,
    )  # fmt: skip
    assert record is not None
    return record["id"], record["payload"]
