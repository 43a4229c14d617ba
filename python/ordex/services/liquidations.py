"""What an account sees of its liquidations and of the auto-deleveraging that closed its
positions (or closed others' against them): `GET /liquidations` and `GET /deleveraging`."""

from __future__ import annotations

from ordex.db import liquidation_history
from ordex.db.liquidation_history import DeleveragingRow, LiquidationRow
from ordex.db.types import Connection
from ordex.services.markets import Market


async def list_liquidations(
    conn: Connection, account_id: int | None, *, market: Market | None, limit: int
) -> list[LiquidationRow]:
    if account_id is None:
        return []
    market_id = market.id if market else None
    return await liquidation_history.list_liquidations(conn, account_id, market_id, limit)


async def list_deleveraging(
    conn: Connection, account_id: int | None, *, market: Market | None, limit: int
) -> list[DeleveragingRow]:
    if account_id is None:
        return []
    market_id = market.id if market else None
    return await liquidation_history.list_deleveraging(conn, account_id, market_id, limit)
