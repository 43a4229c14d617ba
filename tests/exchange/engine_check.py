"""Feed outbox payloads to a real engine of the market: proves they are valid engine commands."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

import ordex
from ordex.services.markets import MarketRegistry


async def engine_for(db: asyncpg.Connection, market_id: str) -> ordex.Engine:
    registry = await MarketRegistry.load(db)
    return ordex.Engine(registry.resolve(market_id).config)


def run(engine: ordex.Engine, *payloads: str) -> list[dict[str, Any]]:
    return [json.loads(e) for e in engine.process_json([p.encode() for p in payloads])]


async def outbox_payloads(db: asyncpg.Connection) -> list[tuple[int, str, str, str]]:
    """`(id, market_id, kind, payload)` of every outbox row, in id order."""
    rows = await db.fetch(
        "SELECT id, market_id, kind, payload::text AS payload FROM outbox ORDER BY id"
    )
    return [(r["id"], r["market_id"], r["kind"], r["payload"]) for r in rows]
