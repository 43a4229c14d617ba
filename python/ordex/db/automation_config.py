"""SQL for each user's automation config: the settings they changed, as one jsonb object."""

from __future__ import annotations

import uuid
from typing import Any

from ordex.db import jsonb
from ordex.db.types import Connection


async def get_overrides(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    """The settings the user has changed ({} when none)."""
    text = await conn.fetchval(
        "SELECT settings::text FROM automation_config WHERE user_id = $1", user_id
    )
    found: dict[str, Any] = jsonb.decode(text) or {}
    return found


async def merge_overrides(
    conn: Connection, user_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge `changes` into the user's settings in one statement (concurrent PATCHes of different
    fields both land) and return the settings as stored."""
    text = await conn.fetchval(
        """
        INSERT INTO automation_config AS c (user_id, settings) VALUES ($1, $2::jsonb)
        ON CONFLICT (user_id) DO UPDATE
        SET settings = c.settings || EXCLUDED.settings, updated_at = clock_timestamp()
        RETURNING settings::text
        """,
        user_id, jsonb.encode(changes),
    )  # fmt: skip
    merged: dict[str, Any] = jsonb.decode(text)
    return merged
