"""SQL for personal API tokens (hashes only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from ordex.db.types import Connection
from ordex.db.users import USER_COLUMNS_U, UserRow, user_from_record


async def live_token_created_at(conn: Connection, user_id: uuid.UUID) -> datetime | None:
    created: datetime | None = await conn.fetchval(
        "SELECT created_at FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL", user_id
    )
    return created


async def revoke_user_tokens(conn: Connection, user_id: uuid.UUID) -> int:
    status: str = await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
    )
    return int(status.rsplit(" ", 1)[1])


async def insert_token(conn: Connection, user_id: uuid.UUID, token_hash: str) -> None:
    await conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash) VALUES ($1, $2)", user_id, token_hash
    )


async def user_for_token(conn: Connection, token_hash: str) -> UserRow | None:
    """Owner of a live token, in one round trip. last_used_at is refreshed at most once a
    minute to spare a write per request."""
    record = await conn.fetchrow(
        f"""
        SELECT t.id AS token_id, t.last_used_at < now() - interval '1 minute' AS stale,
               {USER_COLUMNS_U}
        FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = $1 AND t.revoked_at IS NULL
        """,
        token_hash,
    )
    if record is None:
        return None
    if record["stale"] is not False:
        await conn.execute(
            "UPDATE api_tokens SET last_used_at = now() WHERE id = $1", record["token_id"]
        )
    return user_from_record(record)
