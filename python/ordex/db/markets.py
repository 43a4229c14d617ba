"""SQL for markets and their aliases (read-only: markets are seeded and changed by migrations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class MarketRow:
    id: str
    kind: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    lot_size: Decimal
    min_quantity: Decimal
    quote_decimals: int
    price_band: Decimal
    max_leverage: int
    initial_margin_rate: Decimal
    maintenance_margin_rate: Decimal
    maker_fee_rate: Decimal
    taker_fee_rate: Decimal
    funding_interval_hours: int
    funding_rate_cap: Decimal
    status: str
    created_at: datetime


_COLUMNS = (
    "id, kind, base_asset, quote_asset, tick_size, lot_size, min_quantity, quote_decimals, "
    "price_band, max_leverage, initial_margin_rate, maintenance_margin_rate, maker_fee_rate, "
    "taker_fee_rate, funding_interval_hours, funding_rate_cap, status, created_at"
)


async def list_markets(conn: Connection) -> list[MarketRow]:
    records = await conn.fetch(f"SELECT {_COLUMNS} FROM markets ORDER BY id")
    return [MarketRow(**dict(r)) for r in records]


async def list_aliases(conn: Connection) -> list[tuple[str, str]]:
    """`(alias, market_id)` pairs."""
    records = await conn.fetch("SELECT alias, market_id FROM market_aliases ORDER BY alias")
    return [(r["alias"], r["market_id"]) for r in records]
