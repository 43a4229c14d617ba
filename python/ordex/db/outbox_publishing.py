"""SQL of the outbox publisher."""

from __future__ import annotations

from dataclasses import dataclass

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    market_id: str
    payload: str


async def try_lock(conn: Connection) -> bool:
    """Transaction-scoped: only one publisher moves rows at a time, which keeps them in order."""
    locked: bool = await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext('ordex.outbox'))")
    return locked


async def lock(conn: Connection) -> None:
    """Like `try_lock`, but waits for the publisher that holds it to commit."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ordex.outbox'))")


async def unpublished(conn: Connection, limit: int) -> list[OutboxRow]:
    rows = await conn.fetch(
        "SELECT id, market_id, payload::text AS payload FROM outbox"
        " WHERE published_at IS NULL ORDER BY id LIMIT $1",
        limit,
    )
    return [OutboxRow(r["id"], r["market_id"], r["payload"]) for r in rows]


async def mark_published(conn: Connection, ids: list[int]) -> None:
    await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", ids)


async def pending_count(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return count
