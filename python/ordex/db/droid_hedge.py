"""SQL of the droids' delta hedge: its configuration columns on `droids`, the owner's perp
position, and the hedge orders (`droid_hedge_orders`, one per (session, cycle) at most)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ordex.db.types import Connection

LIVE_ORDER_STATUSES = ("PENDING", "OPEN", "PARTIALLY_FILLED", "UNTRIGGERED")


@dataclass(frozen=True, slots=True)
class HedgeConfig:
    droid_id: int
    user_id: uuid.UUID
    enabled: bool
    market_id: str | None
    threshold: Decimal
    base_symbol: str | None
    """The pool's volatile (base) token's symbol, by the droid's price convention."""


@dataclass(frozen=True, slots=True)
class PerpMarket:
    id: str
    kind: str
    base_asset: str
    status: str


@dataclass(frozen=True, slots=True)
class HedgeOrder:
    droid_id: int
    session_id: int
    cycle: int
    account_id: int
    market_id: str
    side: str
    quantity: Decimal
    limit_price: Decimal
    exposure: Decimal
    position: Decimal


_CONFIG = """
SELECT d.id AS droid_id, d.user_id, d.hedge_enabled AS enabled, d.hedge_market AS market_id,
       d.hedge_threshold AS threshold,
       CASE WHEN p.price_inverted THEN p.token1_symbol ELSE p.token0_symbol END AS base_symbol
FROM droids d JOIN droid_pools p ON p.id = d.pool_id
"""


async def hedge_config(conn: Connection, droid_id: int) -> HedgeConfig | None:
    record = await conn.fetchrow(_CONFIG + "WHERE d.id = $1", droid_id)
    return None if record is None else HedgeConfig(**dict(record))


async def lock_hedge_config(
    conn: Connection, user_id: uuid.UUID, droid_id: int
) -> HedgeConfig | None:
    record = await conn.fetchrow(
        _CONFIG + "WHERE d.id = $1 AND d.user_id = $2 FOR UPDATE OF d", droid_id, user_id
    )
    return None if record is None else HedgeConfig(**dict(record))


async def update_hedge_config(
    conn: Connection, droid_id: int, enabled: bool, market_id: str | None, threshold: Decimal
) -> None:
    await conn.execute(
        """
        UPDATE droids SET hedge_enabled = $2, hedge_market = $3, hedge_threshold = $4,
                          updated_at = now()
        WHERE id = $1
        """,
        droid_id,
        enabled,
        market_id,
        threshold,
    )


async def find_market(conn: Connection, name: str) -> PerpMarket | None:
    """A market by id or alias (case-insensitive)."""
    record = await conn.fetchrow(
        """
        SELECT m.id, m.kind, m.base_asset, m.status
        FROM market_aliases a JOIN markets m ON m.id = a.market_id
        WHERE a.alias = upper($1)
        """,
        name.strip(),
    )
    return None if record is None else PerpMarket(**dict(record))


async def position_size(conn: Connection, account_id: int, market_id: str) -> Decimal:
    """Signed size (long > 0) of the account's position; 0 when it has none."""
    size: Decimal | None = await conn.fetchval(
        "SELECT size FROM positions WHERE account_id = $1 AND market_id = $2",
        account_id,
        market_id,
    )
    return size if size is not None else Decimal(0)


async def live_hedge_orders(conn: Connection, droid_id: int) -> int:
    """Hedge orders of the droid the exchange has not finished with yet."""
    count: int = await conn.fetchval(
        """
        SELECT count(*) FROM droid_hedge_orders h JOIN orders o ON o.id = h.order_id
        WHERE h.droid_id = $1 AND o.status = ANY($2::text[])
        """,
        droid_id,
        list(LIVE_ORDER_STATUSES),
    )
    return count


async def insert_hedge_order(conn: Connection, client_order_id: str, order: HedgeOrder) -> bool:
    """False when the (session, cycle) already has its hedge order."""
    inserted: Any = await conn.fetchval(
        """
        INSERT INTO droid_hedge_orders (client_order_id, droid_id, session_id, cycle, account_id,
            market_id, side, quantity, limit_price, exposure, position)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (client_order_id) DO NOTHING
        RETURNING 1
        """,
        client_order_id,
        order.droid_id,
        order.session_id,
        order.cycle,
        order.account_id,
        order.market_id,
        order.side,
        order.quantity,
        order.limit_price,
        order.exposure,
        order.position,
    )
    return inserted is not None


async def set_hedge_result(
    conn: Connection, client_order_id: str, order_id: int | None, error: str | None
) -> None:
    await conn.execute(
        "UPDATE droid_hedge_orders SET order_id = $2, error = $3 WHERE client_order_id = $1",
        client_order_id,
        order_id,
        error,
    )
