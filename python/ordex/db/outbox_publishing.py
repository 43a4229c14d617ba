"""SQL of the outbox publisher."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

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


_CLAIM = (
    "UPDATE outbox SET published_at = now() WHERE id IN ("
    " SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1)"
    # Checked again on the newest version of a row another publisher updated meanwhile.
    " AND published_at IS NULL"
)


async def claim_unpublished(conn: Connection, limit: int) -> list[OutboxRow]:
    """Marks the oldest unpublished rows published and returns them in id order. Takes effect at
    the commit, which the publisher makes only once the rows are in their streams. The caller
    holds the lock (`lock`)."""
    rows = await conn.fetch(f"{_CLAIM} RETURNING id, market_id, payload::text AS payload", limit)
    return _in_order(rows)


async def try_claim_unpublished(conn: Connection, limit: int) -> list[OutboxRow]:
    """`try_lock` and `claim_unpublished` in one round trip: no rows while another publisher
    holds the lock. The lock is taken before the rows are read (a one-time filter of the
    statement), and a row that publisher claimed meanwhile fails the recheck of `published_at`."""
    rows = await conn.fetch(
        f"WITH locked AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(hashtext('ordex.outbox'))"
        f" AS ok FROM {_ASYNC_COMMIT} AS c)"
        f" {_CLAIM} AND (SELECT ok FROM locked)"
        " RETURNING id, market_id, payload::text AS payload",
        limit,
    )
    return _in_order(rows)


def _in_order(rows: list[Any]) -> list[OutboxRow]:
    return sorted(
        (OutboxRow(r["id"], r["market_id"], r["payload"]) for r in rows), key=attrgetter("id")
    )


async def pending_count(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return count
