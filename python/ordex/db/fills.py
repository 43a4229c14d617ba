"""SQL for fills (written by the persister, read by the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class FillRow:
    id: int
    market_id: str
    seq: int
    order_id: int
    account_id: int
    side: str
    liquidity: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    realized_pnl: Decimal
    created_at: datetime


_COLUMNS = (
    "id, market_id, seq, order_id, account_id, side, liquidity, price, quantity, fee, fee_asset, "
    "realized_pnl, created_at"
)


async def list_fills(
    conn: Connection,
    account_id: int,
    *,
    market_id: str | None = None,
    order_id: int | None = None,
    limit: int = 100,
) -> list[FillRow]:
    """The account's fills, newest first."""
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM fills
        WHERE account_id = $1
          AND ($2::text IS NULL OR market_id = $2)
          AND ($3::bigint IS NULL OR order_id = $3)
        ORDER BY id DESC
        LIMIT $4
        """,
        account_id, market_id, order_id, limit,
    )  # fmt: skip
    return [FillRow(**dict(r)) for r in records]
