"""SQL for perpetual positions (written by the persister, read by the API and the risk check)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class PositionRow:
    account_id: int
    market_id: str
    size: Decimal
    cost: Decimal
    realized_pnl: Decimal
    updated_at: datetime


_COLUMNS = "account_id, market_id, size, cost, realized_pnl, updated_at"


async def list_positions(
    conn: Connection, account_id: int, *, open_only: bool = False
) -> list[PositionRow]:
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM positions
        WHERE account_id = $1 AND (NOT $2 OR size <> 0)
        ORDER BY market_id
        """,
        account_id, open_only,
    )  # fmt: skip
    return [PositionRow(**dict(r)) for r in records]
