"""SQL of the trade notifier: per market, the cursor of fills already notified, and the new fills
of session orders (the internal venue's) up to what the persister has committed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class MarketBacklog:
    market_id: str
    after_seq: int  # notified up to here
    until_seq: int  # the persister has committed every event up to here


@dataclass(frozen=True, slots=True)
class SessionOrderFill:
    session_order_id: uuid.UUID
    seq: int
    liquidity: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    created_at: datetime
    filled_through: Decimal  # the order's filled quantity once this fill was applied


async def lock_backlogs(conn: Connection) -> list[MarketBacklog]:
    """Markets whose committed events go past their cursor, cursors locked (FOR UPDATE) until the
    transaction ends: two notifiers serialise here, and the second finds nothing left. A market
    without a cursor yet (added after the notifier's migration) gets one at 0 first."""
    await conn.execute(
        """
        INSERT INTO trade_notification_cursors (market_id, last_seq)
        SELECT p.market_id, 0 FROM market_progress p
        WHERE NOT EXISTS (
            SELECT 1 FROM trade_notification_cursors c WHERE c.market_id = p.market_id
        )
        ON CONFLICT (market_id) DO NOTHING
        """
    )
    records = await conn.fetch(
        """
        SELECT c.market_id, c.last_seq AS after_seq, p.last_seq AS until_seq
        FROM trade_notification_cursors c
        JOIN market_progress p ON p.market_id = c.market_id
        WHERE p.last_seq > c.last_seq
        ORDER BY c.market_id
        FOR UPDATE OF c
        """
    )
    return [MarketBacklog(**dict(r)) for r in records]


async def has_backlog(conn: Connection) -> bool:
    """Cheap check without locks: is any market's committed progress past its cursor?"""
    return bool(
        await conn.fetchval(
            """
            SELECT EXISTS (
                SELECT 1 FROM market_progress p
                LEFT JOIN trade_notification_cursors c ON c.market_id = p.market_id
                WHERE p.last_seq > COALESCE(c.last_seq, 0)
            )
            """
        )
    )


async def session_order_fills(
    conn: Connection, market_id: str, after_seq: int, until_seq: int
) -> list[SessionOrderFill]:
    """The fills of session orders in (after_seq, until_seq], in engine order."""
    records = await conn.fetch(
        """
        SELECT so.id AS session_order_id, f.seq, f.liquidity, f.price, f.quantity, f.fee,
               f.fee_asset, f.created_at,
               (SELECT sum(g.quantity) FROM fills g
                WHERE g.order_id = f.order_id AND g.seq <= f.seq) AS filled_through
        FROM fills f
        JOIN session_orders so ON so.order_id = f.order_id
        WHERE f.market_id = $1 AND f.seq > $2 AND f.seq <= $3
        ORDER BY f.seq
        """,
        market_id, after_seq, until_seq,
    )  # fmt: skip
    return [SessionOrderFill(**dict(r)) for r in records]


async def advance(conn: Connection, market_id: str, last_seq: int) -> None:
    await conn.execute(
        "UPDATE trade_notification_cursors SET last_seq = $2 WHERE market_id = $1",
        market_id, last_seq,
    )  # fmt: skip
