"""SQL for perpetual positions (written by the persister, read by the API and the risk check),
and their margin mode and isolated margin (docs/exchange.md, "Isolated margin")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection

CROSS = "CROSS"
ISOLATED = "ISOLATED"


@dataclass(frozen=True, slots=True)
class PositionRow:
    account_id: int
    market_id: str
    size: Decimal
    cost: Decimal
    realized_pnl: Decimal
    updated_at: datetime
    margin_mode: str = CROSS
    isolated_margin: Decimal = Decimal(0)


POSITION_COLUMNS = (
    "account_id, market_id, size, cost, realized_pnl, updated_at, margin_mode, isolated_margin"
)


async def list_positions(
    conn: Connection, account_id: int, *, open_only: bool = False
) -> list[PositionRow]:
    records = await conn.fetch(
        f"""
        SELECT {POSITION_COLUMNS} FROM positions
        WHERE account_id = $1 AND (NOT $2 OR size <> 0)
        ORDER BY market_id
        """,
        account_id, open_only,
    )  # fmt: skip
    return [PositionRow(**dict(r)) for r in records]


async def lock_position(conn: Connection, account_id: int, market_id: str) -> PositionRow | None:
    """The position row, locked (the persister locks positions before balances: so do we)."""
    record = await conn.fetchrow(
        f"SELECT {POSITION_COLUMNS} FROM positions WHERE account_id = $1 AND market_id = $2 FOR UPDATE",
        account_id,
        market_id,
    )
    return None if record is None else PositionRow(**dict(record))


async def lock_balance(conn: Connection, account_id: int, asset: str) -> tuple[Decimal, Decimal]:
    """`(total, held)` of the asset, locked as order intake locks it ((0, 0) without a row)."""
    record = await conn.fetchrow(
        "SELECT total, held FROM balances WHERE account_id = $1 AND asset = $2 FOR UPDATE",
        account_id,
        asset,
    )
    return (Decimal(0), Decimal(0)) if record is None else (record["total"], record["held"])


async def live_orders(conn: Connection, account_id: int, market_id: str) -> int:
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM orders WHERE account_id = $1 AND market_id = $2"
            " AND status IN ('PENDING', 'OPEN', 'PARTIALLY_FILLED', 'UNTRIGGERED')",
            account_id,
            market_id,
        )
    )


async def set_margin_mode(conn: Connection, account_id: int, market_id: str, mode: str) -> None:
    await conn.execute(
        "INSERT INTO positions (account_id, market_id, margin_mode) VALUES ($1, $2, $3)"
        " ON CONFLICT (account_id, market_id) DO UPDATE"
        " SET margin_mode = EXCLUDED.margin_mode, updated_at = now()",
        account_id,
        market_id,
        mode,
    )


async def set_isolated_margin(
    conn: Connection, account_id: int, market_id: str, margin: Decimal
) -> None:
    await conn.execute(
        "UPDATE positions SET isolated_margin = $3, updated_at = now()"
        " WHERE account_id = $1 AND market_id = $2",
        account_id,
        market_id,
        margin,
    )
    # The account's cross collateral moved with it: the risk worker reads changed balances.
    await conn.execute(
        "UPDATE balances SET updated_at = now() WHERE account_id = $1"
        " AND asset = (SELECT quote_asset FROM markets WHERE id = $2)",
        account_id,
        market_id,
    )
