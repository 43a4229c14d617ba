"""SQL for ordex's public market data: the persisted book, recent trades, candles, 24h statistics.

A trade is its taker fill (every engine trade event has exactly one), so trades and candles count
each trade once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ordex.db.types import Connection

LIVE_STATUSES = ("OPEN", "PARTIALLY_FILLED")


@dataclass(frozen=True, slots=True)
class BookLevel:
    side: str
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class TradeRow:
    id: int
    seq: int
    order_id: int
    side: str  # the taker's side
    price: Decimal
    quantity: Decimal
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Candle:
    bucket: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class DayStats:
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None
    base_volume: Decimal
    quote_volume: Decimal


async def book_levels(conn: Connection, market_id: str, depth: int) -> list[BookLevel]:
    """Open quantity per price of the resting limit orders, best levels first on each side."""
    records = await conn.fetch(
        """
        WITH levels AS (
            SELECT side, price, sum(quantity - filled_quantity) AS quantity
            FROM orders
            WHERE market_id = $1 AND status = ANY($2::text[]) AND price IS NOT NULL
            GROUP BY side, price
            HAVING sum(quantity - filled_quantity) > 0
        )
        (SELECT side, price, quantity FROM levels WHERE side = 'BUY'
         ORDER BY price DESC LIMIT $3)
        UNION ALL
        (SELECT side, price, quantity FROM levels WHERE side = 'SELL'
         ORDER BY price ASC LIMIT $3)
        """,
        market_id,
        list(LIVE_STATUSES),
        depth,
    )
    return [BookLevel(**dict(r)) for r in records]


async def recent_trades(conn: Connection, market_id: str, limit: int) -> list[TradeRow]:
    """The newest trades, returned oldest first."""
    records = await conn.fetch(
        """
        SELECT id, seq, order_id, side, price, quantity, created_at FROM fills
        WHERE market_id = $1 AND liquidity = 'TAKER'
        ORDER BY id DESC LIMIT $2
        """,
        market_id,
        limit,
    )
    return [TradeRow(**dict(r)) for r in reversed(records)]


async def candles(
    conn: Connection, market_id: str, interval: timedelta, limit: int
) -> list[Candle]:
    """The newest `limit` candles that had trades, oldest first."""
    records = await conn.fetch(
        """
        SELECT bucket,
               (array_agg(price ORDER BY id))[1] AS open,
               max(price) AS high,
               min(price) AS low,
               (array_agg(price ORDER BY id DESC))[1] AS close,
               sum(quantity) AS volume
        FROM (
            SELECT id, price, quantity,
                   date_bin($2::interval, created_at, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                       AS bucket
            FROM fills
            WHERE market_id = $1 AND liquidity = 'TAKER'
              AND created_at >= now() - $2::interval * $3
        ) AS trades
        GROUP BY bucket ORDER BY bucket DESC LIMIT $3
        """,
        market_id,
        interval,
        limit,
    )
    return [Candle(**dict(r)) for r in reversed(records)]


async def day_stats(conn: Connection, market_id: str) -> DayStats:
    record = await conn.fetchrow(
        """
        SELECT (array_agg(price ORDER BY id))[1] AS open,
               max(price) AS high,
               min(price) AS low,
               (array_agg(price ORDER BY id DESC))[1] AS close,
               coalesce(sum(quantity), 0) AS base_volume,
               coalesce(sum(quantity * price), 0) AS quote_volume
        FROM fills
        WHERE market_id = $1 AND liquidity = 'TAKER' AND created_at >= now() - interval '24 hours'
        """,
        market_id,
    )
    assert record is not None
    return DayStats(**dict(record))
