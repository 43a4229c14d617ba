"""SQL for the users' AI provider keys. The key arrives here already sealed (bytea); only the hint
is ever read back for display."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class SealedAiKey:
    user_id: uuid.UUID
    provider: str
    key_enc: bytes
    hint: str
    updated_at: datetime


async def get_key(conn: Connection, user_id: uuid.UUID) -> SealedAiKey | None:
    record = await conn.fetchrow(
        "SELECT user_id, provider, key_enc, hint, updated_at FROM ai_keys WHERE user_id = $1",
        user_id,
    )
    return None if record is None else SealedAiKey(**dict(record))


async def get_hint(conn: Connection, user_id: uuid.UUID) -> str | None:
    hint: str | None = await conn.fetchval("SELECT hint FROM ai_keys WHERE user_id = $1", user_id)
    return hint


async def upsert_key(
    conn: Connection, user_id: uuid.UUID, *, provider: str, key_enc: bytes, hint: str
) -> None:
    await conn.execute(
        """
        INSERT INTO ai_keys (user_id, provider, key_enc, hint) VALUES ($1, $2, $3, $4)
        ON CONFLICT (user_id) DO UPDATE
        SET provider = EXCLUDED.provider, key_enc = EXCLUDED.key_enc, hint = EXCLUDED.hint,
            updated_at = clock_timestamp()
        """,
        user_id, provider, key_enc, hint,
    )  # fmt: skip


async def delete_key(conn: Connection, user_id: uuid.UUID) -> bool:
    status: str = await conn.execute("DELETE FROM ai_keys WHERE user_id = $1", user_id)
    return status != "DELETE 0"


async def lock_all_sealed(conn: Connection) -> list[tuple[uuid.UUID, bytes]]:
    """Every sealed key with its owner, locked for the rest of the transaction (key rotation)."""
    records = await conn.fetch("SELECT user_id, key_enc FROM ai_keys ORDER BY user_id FOR UPDATE")
    return [(r["user_id"], r["key_enc"]) for r in records]


async def replace_sealed(conn: Connection, rows: list[tuple[uuid.UUID, bytes]]) -> None:
    await conn.executemany("UPDATE ai_keys SET key_enc = $2 WHERE user_id = $1", rows)
