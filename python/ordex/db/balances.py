"""SQL for balances and the ledger. Amounts are NUMERIC in and out (`Decimal`), never floats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class BalanceRow:
    account_id: int
    asset: str
    total: Decimal
    held: Decimal
    updated_at: datetime

    @property
    def available(self) -> Decimal:
        return self.total - self.held


_COLUMNS = "account_id, asset, total, held, updated_at"


async def credit_total(
    conn: Connection, account_id: int, asset: str, amount: Decimal
) -> BalanceRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO balances (account_id, asset, total) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, asset)
        DO UPDATE SET total = balances.total + EXCLUDED.total, updated_at = now()
        RETURNING {_COLUMNS}
        """,
        account_id, asset, amount,
    )  # fmt: skip
    assert record is not None
    return BalanceRow(**dict(record))


async def insert_ledger_entry(
    conn: Connection,
    *,
    account_id: int,
    asset: str,
    kind: str,
    amount: Decimal,
    market_id: str | None = None,
    fill_id: int | None = None,
) -> int:
    entry_id: int = await conn.fetchval(
        """
        INSERT INTO ledger_entries (account_id, asset, kind, amount, market_id, fill_id)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING id
        """,
        account_id, asset, kind, amount, market_id, fill_id,
    )  # fmt: skip
    return entry_id


async def get_balance(conn: Connection, account_id: int, asset: str) -> BalanceRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM balances WHERE account_id = $1 AND asset = $2", account_id, asset
    )
    return None if record is None else BalanceRow(**dict(record))


async def list_balances(conn: Connection, account_id: int) -> list[BalanceRow]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM balances WHERE account_id = $1 ORDER BY asset", account_id
    )
    return [BalanceRow(**dict(r)) for r in records]
