"""SQL for the table of supported exchanges (seeded by migrations)."""

from __future__ import annotations

from dataclasses import dataclass

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class ExchangeRow:
    id: str
    name: str
    ccxt_id: str
    is_active: bool
    sort_order: int


async def list_active(conn: Connection) -> list[ExchangeRow]:
    records = await conn.fetch(
        "SELECT id, name, ccxt_id, is_active, sort_order FROM exchanges "
        "WHERE is_active ORDER BY sort_order, id"
    )
    return [ExchangeRow(**dict(r)) for r in records]
