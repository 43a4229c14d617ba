"""SQL of the outbox publisher."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    market_id: str
    payload: str


# A round's commit need not wait for its WAL flush: should the server lose it in a crash, the
# rows are unpublished again and published twice, which the matcher's cmd_id window absorbs.
# Set in the locking statement, so it costs no round trip of its own.
_ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true)"


async def try_lock(conn: Connection) -> bool:
    """Transaction-scoped: only one publisher moves rows at a time, which keeps them in order."""
    locked: bool = await conn.fetchval(
        f"SELECT pg_try_advisory_xact_lock(hashtext('ordex.outbox')) FROM {_ASYNC_COMMIT} AS c"
    )
    return locked


async def lock(conn: Connection) -> None:
    """Like `try_lock`, but waits for the publisher that holds it to commit."""
    await conn.execute(
        f"SELECT pg_advisory_xact_lock(hashtext('ordex.outbox')) FROM {_ASYNC_COMMIT} AS c"
    )


async def claim_unpublished(conn: Connection, limit: int) -> list[OutboxRow]:
    """Marks the oldest unpublished rows published and returns them in id order. Takes effect at
    the commit, which the publisher makes only once the rows are in their streams."""
    rows = await conn.fetch(
        "UPDATE outbox SET published_at = now() WHERE id IN ("
        " SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1)"
        " RETURNING id, market_id, payload::text AS payload",
        limit,
    )
    return sorted(
        (OutboxRow(r["id"], r["market_id"], r["payload"]) for r in rows), key=attrgetter("id")
    )


async def pending_count(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return count
