"""SQL for key-value user settings and per-widget per-user settings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ordex.db import jsonb
from ordex.db.types import Connection


async def all_settings(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    records = await conn.fetch(
        "SELECT key, value::text FROM user_settings WHERE user_id = $1 ORDER BY key", user_id
    )
    return {r["key"]: jsonb.decode(r["value"]) for r in records}


async def get_setting(conn: Connection, user_id: uuid.UUID, key: str) -> tuple[bool, Any]:
    """(found, value): a stored JSON null is a value, so presence is reported apart."""
    text: str | None = await conn.fetchval(
        "SELECT value::text FROM user_settings WHERE user_id = $1 AND key = $2", user_id, key
    )
    return (text is not None, jsonb.decode(text))


async def upsert_settings(
    conn: Connection, user_id: uuid.UUID, values: Mapping[str, Any]
) -> dict[str, bool]:
    """Insert or replace settings in one statement; key -> True when the key was new."""
    records = await conn.fetch(
        """
        INSERT INTO user_settings AS s (user_id, key, value)
        SELECT $1, k, v::jsonb FROM unnest($2::text[], $3::text[]) AS t(k, v)
        ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value, updated_at = now()
        RETURNING key, (xmax = 0) AS inserted
        """,
        user_id, list(values), [jsonb.encode(v) for v in values.values()],
    )  # fmt: skip
    return {r["key"]: r["inserted"] for r in records}


async def delete_setting(conn: Connection, user_id: uuid.UUID, key: str) -> bool:
    status: str = await conn.execute(
        "DELETE FROM user_settings WHERE user_id = $1 AND key = $2", user_id, key
    )
    return status == "DELETE 1"


async def get_widget_settings(
    conn: Connection, user_id: uuid.UUID, widget_id: uuid.UUID
) -> dict[str, Any] | None:
    text: str | None = await conn.fetchval(
        "SELECT settings::text FROM widget_settings WHERE widget_id = $1 AND user_id = $2",
        widget_id, user_id,
    )  # fmt: skip
    return None if text is None else dict(jsonb.decode(text))


async def put_widget_settings(
    conn: Connection, user_id: uuid.UUID, widget_id: uuid.UUID, settings: Mapping[str, Any]
) -> bool:
    """Replace a widget's settings for this user; True when they did not exist before."""
    inserted: bool = await conn.fetchval(
        """
        INSERT INTO widget_settings (widget_id, user_id, settings) VALUES ($1, $2, $3::jsonb)
        ON CONFLICT (widget_id, user_id)
        DO UPDATE SET settings = excluded.settings, updated_at = now()
        RETURNING (xmax = 0)
        """,
        widget_id, user_id, jsonb.encode(settings),
    )  # fmt: skip
    return inserted
