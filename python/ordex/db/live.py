"""SQL the live streams need: whose trading accounts the engine names, an order's persisted state,
how far the persister got in a market, a position after it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class OrderState:
    id: int
    account_id: int
    market_id: str
    side: str
    type: str
    quantity: Decimal
    filled_quantity: Decimal


async def users_of_accounts(conn: Connection, account_ids: list[int]) -> dict[int, uuid.UUID]:
    records = await conn.fetch(
        "SELECT id, user_id FROM trading_accounts WHERE id = ANY($1::bigint[]) AND user_id IS NOT NULL",
        account_ids,
    )
    return {r["id"]: r["user_id"] for r in records}


async def order_state(conn: Connection, order_id: int) -> tuple[OrderState | None, int]:
    """The order as persisted, and the last event seq the persister applied in its market."""
    record = await conn.fetchrow(
        """
        SELECT o.id, o.account_id, o.market_id, o.side, o.type, o.quantity, o.filled_quantity,
               coalesce(p.last_seq, 0) AS last_seq
        FROM orders o LEFT JOIN market_progress p ON p.market_id = o.market_id
        WHERE o.id = $1
        """,
        order_id,
    )
    if record is None:
        return None, 0
    values = dict(record)
    last_seq = int(values.pop("last_seq"))
    return OrderState(**values), last_seq


async def applied_seq(conn: Connection, market_id: str) -> int:
    value = await conn.fetchval(
        "SELECT last_seq FROM market_progress WHERE market_id = $1", market_id
    )
    return int(value or 0)


async def position(
    conn: Connection, account_id: int, market_id: str
) -> tuple[Decimal, Decimal, Decimal] | None:
    """(size, cost, realized_pnl) of the account's position in the market."""
    record = await conn.fetchrow(
        "SELECT size, cost, realized_pnl FROM positions WHERE account_id = $1 AND market_id = $2",
        account_id,
        market_id,
    )
    return None if record is None else (record["size"], record["cost"], record["realized_pnl"])
