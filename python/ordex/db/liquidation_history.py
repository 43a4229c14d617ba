"""SQL of what the routes show of liquidations and auto-deleveraging: an account's own rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class LiquidationRow:
    id: int
    order_id: int
    market_id: str
    side: str
    quantity: Decimal
    mark_price: Decimal
    limit_price: Decimal
    bankruptcy_price: Decimal
    equity: Decimal
    maintenance: Decimal
    status: str
    deleveraged: Decimal
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeleveragingRow:
    market_id: str
    seq: int
    deleveraged: bool  # the account's position was the one closed (else: the counterparty's)
    side: str  # the account's side of it
    quantity: Decimal
    price: Decimal
    realized_pnl: Decimal
    created_at: datetime


async def list_liquidations(
    conn: Connection, account_id: int, market_id: str | None, limit: int
) -> list[LiquidationRow]:
    rows = await conn.fetch(
        """
        SELECT id, order_id, market_id, side, quantity, mark_price, limit_price, bankruptcy_price,
               equity, maintenance, status, deleveraged, created_at
        FROM liquidations
        WHERE account_id = $1 AND ($2::text IS NULL OR market_id = $2)
        ORDER BY id DESC LIMIT $3
        """,
        account_id, market_id, limit,
    )  # fmt: skip
    return [LiquidationRow(*r) for r in rows]


async def list_deleveraging(
    conn: Connection, account_id: int, market_id: str | None, limit: int
) -> list[DeleveragingRow]:
    rows = await conn.fetch(
        """
        SELECT market_id, seq, account_id = $1,
               CASE WHEN account_id = $1 THEN side
                    WHEN side = 'BUY' THEN 'SELL' ELSE 'BUY' END,
               quantity, price,
               CASE WHEN account_id = $1 THEN realized_pnl ELSE counterparty_realized END,
               created_at
        FROM adl_events
        WHERE (account_id = $1 OR counterparty_id = $1) AND ($2::text IS NULL OR market_id = $2)
        ORDER BY created_at DESC, seq DESC LIMIT $3
        """,
        account_id, market_id, limit,
    )  # fmt: skip
    return [DeleveragingRow(*r) for r in rows]
