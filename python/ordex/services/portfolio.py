"""What an account holds: balances, perpetual positions and fills, as the persister left them."""

from __future__ import annotations

from ordex.db import balances as balances_repo
from ordex.db import fills as fills_repo
from ordex.db import positions as positions_repo
from ordex.db.balances import BalanceRow
from ordex.db.fills import FillRow
from ordex.db.positions import PositionRow
from ordex.db.types import Connection
from ordex.services.markets import Market


async def list_balances(conn: Connection, account_id: int | None) -> list[BalanceRow]:
    return [] if account_id is None else await balances_repo.list_balances(conn, account_id)


async def list_positions(conn: Connection, account_id: int | None) -> list[PositionRow]:
    if account_id is None:
        return []
    return await positions_repo.list_positions(conn, account_id)


async def list_fills(
    conn: Connection,
    account_id: int | None,
    *,
    market: Market | None = None,
    order_id: int | None = None,
    limit: int = 100,
) -> list[FillRow]:
    if account_id is None:
        return []
    return await fills_repo.list_fills(
        conn, account_id, market_id=market.id if market else None, order_id=order_id, limit=limit
    )
