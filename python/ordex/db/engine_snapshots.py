"""SQL for the matchers' engine snapshots."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ordex.db.types import Connection

KEEP_PER_MARKET = 3


@dataclass(frozen=True, slots=True)
class Snapshot:
    stream_id: str
    seq: int
    recent_cmd_ids: list[int]
    state_hash: str
    state: bytes


async def latest(conn: Connection, market_id: str) -> Snapshot | None:
    row = await conn.fetchrow(
        "SELECT stream_id, seq, recent_cmd_ids, state_hash, state FROM engine_snapshots"
        " WHERE market_id = $1 ORDER BY id DESC LIMIT 1",
        market_id,
    )
    if row is None:
        return None
    return Snapshot(
        row["stream_id"],
        row["seq"],
        list(row["recent_cmd_ids"]),
        row["state_hash"],
        bytes(row["state"]),
    )


async def save(
    conn: Connection,
    market_id: str,
    *,
    stream_id: str,
    seq: int,
    recent_cmd_ids: list[int],
    state_hash: str,
    state: bytes,
) -> None:
    # The ids go as one JSON text PostgreSQL parses: asyncpg's array encoder checks every element
    # of a 100,000-id window in Python, which took longer than the rest of the snapshot.
    ids = orjson.dumps(recent_cmd_ids).decode()
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO engine_snapshots (market_id, stream_id, seq, recent_cmd_ids, state_hash, state)"
            " VALUES ($1, $2, $3, ('{' || btrim($4::text, '[]') || '}')::bigint[], $5, $6)",
            market_id,
            stream_id,
            seq,
            ids,
            state_hash,
            state,
        )
        # Older snapshots are only a fallback; a few are enough.
        await conn.execute(
            "DELETE FROM engine_snapshots WHERE market_id = $1 AND id NOT IN"
            " (SELECT id FROM engine_snapshots WHERE market_id = $1 ORDER BY id DESC LIMIT $2)",
            market_id,
            KEEP_PER_MARKET,
        )
