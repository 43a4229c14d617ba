"""SQL for dashboards."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.types import Connection

_COLUMNS = "id, user_id, title, description, layout::text, is_default, created_at, updated_at"
UPDATABLE = {
    "title": "title",
    "description": "description",
    "layout": "layout::jsonb",
    "isDefault": "is_default",
}


@dataclass(frozen=True, slots=True)
class DashboardRow:
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    description: str | None
    layout: dict[str, Any]
    is_default: bool
    created_at: datetime
    updated_at: datetime


def _row(record: asyncpg.Record) -> DashboardRow:
    values = dict(record)
    values["layout"] = jsonb.decode(values.pop("layout"))
    return DashboardRow(**values)


async def list_dashboards(conn: Connection, user_id: uuid.UUID) -> list[DashboardRow]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM dashboards WHERE user_id = $1 ORDER BY created_at, id", user_id
    )
    return [_row(r) for r in records]


async def get_dashboard(
    conn: Connection, user_id: uuid.UUID, dashboard_id: uuid.UUID
) -> DashboardRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM dashboards WHERE id = $1 AND user_id = $2", dashboard_id, user_id
    )
    return None if record is None else _row(record)


async def clear_default(conn: Connection, user_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE dashboards SET is_default = false, updated_at = now() "
        "WHERE user_id = $1 AND is_default",
        user_id,
    )


async def insert_dashboard(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    title: str,
    description: str | None,
    layout: dict[str, Any],
    is_default: bool,
) -> DashboardRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO dashboards (user_id, title, description, layout, is_default)
        VALUES ($1, $2, $3, $4::jsonb, $5)
        RETURNING {_COLUMNS}
        """,
        user_id, title, description, jsonb.encode(layout), is_default,
    )  # fmt: skip
    assert record is not None
    return _row(record)


async def update_dashboard(
    conn: Connection, user_id: uuid.UUID, dashboard_id: uuid.UUID, changes: Mapping[str, Any]
) -> DashboardRow | None:
    assignments, args = jsonb.set_clause(changes, UPDATABLE, first_param=3)
    record = await conn.fetchrow(
        f"UPDATE dashboards SET {assignments} WHERE id = $1 AND user_id = $2 RETURNING {_COLUMNS}",
        dashboard_id, user_id, *args,
    )  # fmt: skip
    return None if record is None else _row(record)


async def delete_dashboard(
    conn: Connection, user_id: uuid.UUID, dashboard_id: uuid.UUID
) -> DashboardRow | None:
    """Delete a dashboard; its widgets and their settings go with it (ON DELETE CASCADE)."""
    record = await conn.fetchrow(
        f"DELETE FROM dashboards WHERE id = $1 AND user_id = $2 RETURNING {_COLUMNS}",
        dashboard_id, user_id,
    )  # fmt: skip
    return None if record is None else _row(record)
