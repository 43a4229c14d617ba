"""SQL for widgets. Every statement is scoped by the owner's id."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.types import Connection

_COLUMNS = (
    "id, dashboard_id, user_id, type, default_title, user_title, position::text, "
    "pre_collapse_position::text, config::text, group_id, show_group_selector, is_visible, "
    "is_minimized, created_at, updated_at"
)
UPDATABLE = {
    "defaultTitle": "default_title",
    "userTitle": "user_title",
    "position": "position::jsonb",
    "preCollapsePosition": "pre_collapse_position::jsonb",
    "config": "config::jsonb",
    "groupId": "group_id",
    "showGroupSelector": "show_group_selector",
    "isVisible": "is_visible",
    "isMinimized": "is_minimized",
}


@dataclass(frozen=True, slots=True)
class WidgetRow:
    id: uuid.UUID
    dashboard_id: uuid.UUID
    user_id: uuid.UUID
    type: str
    default_title: str
    user_title: str | None
    position: dict[str, Any]
    pre_collapse_position: dict[str, Any] | None
    config: dict[str, Any]
    group_id: uuid.UUID | None
    show_group_selector: bool
    is_visible: bool
    is_minimized: bool
    created_at: datetime
    updated_at: datetime


def _row(record: asyncpg.Record) -> WidgetRow:
    values = dict(record)
    for name in ("position", "pre_collapse_position", "config"):
        values[name] = jsonb.decode(values[name])
    return WidgetRow(**values)


async def list_for_dashboard(
    conn: Connection, user_id: uuid.UUID, dashboard_id: uuid.UUID
) -> list[WidgetRow]:
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM widgets WHERE dashboard_id = $1 AND user_id = $2
        ORDER BY created_at, id
        """,
        dashboard_id, user_id,
    )  # fmt: skip
    return [_row(r) for r in records]


async def get_widget(
    conn: Connection, user_id: uuid.UUID, widget_id: uuid.UUID
) -> WidgetRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM widgets WHERE id = $1 AND user_id = $2", widget_id, user_id
    )
    return None if record is None else _row(record)


async def insert_widget(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    dashboard_id: uuid.UUID,
    type: str,
    default_title: str,
    user_title: str | None,
    position: Mapping[str, Any],
    pre_collapse_position: Mapping[str, Any] | None,
    config: Mapping[str, Any],
    group_id: uuid.UUID | None,
    show_group_selector: bool,
    is_visible: bool,
    is_minimized: bool,
) -> WidgetRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO widgets (
            dashboard_id, user_id, type, default_title, user_title, position,
            pre_collapse_position, config, group_id, show_group_selector, is_visible, is_minimized)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, $10, $11, $12)
        RETURNING {_COLUMNS}
        """,
        dashboard_id, user_id, type, default_title, user_title, jsonb.encode(position),
        None if pre_collapse_position is None else jsonb.encode(pre_collapse_position),
        jsonb.encode(config), group_id, show_group_selector, is_visible, is_minimized,
    )  # fmt: skip
    assert record is not None
    return _row(record)


async def update_widget(
    conn: Connection, user_id: uuid.UUID, widget_id: uuid.UUID, changes: Mapping[str, Any]
) -> WidgetRow | None:
    """Partial update. A position is merged into the stored one (`||`), so fields the caller left
    out, such as zIndex, keep their value."""
    changes = dict(changes)
    position = changes.pop("position", None)
    assignments, args = jsonb.set_clause(changes, UPDATABLE, first_param=4)
    record = await conn.fetchrow(
        f"""
        UPDATE widgets SET {assignments},
            position = CASE WHEN $3::jsonb IS NULL THEN position ELSE position || $3::jsonb END
        WHERE id = $1 AND user_id = $2
        RETURNING {_COLUMNS}
        """,
        widget_id, user_id, None if position is None else jsonb.encode(position), *args,
    )  # fmt: skip
    return None if record is None else _row(record)


async def update_positions(
    conn: Connection, user_id: uuid.UUID, positions: Sequence[tuple[uuid.UUID, Mapping[str, Any]]]
) -> list[WidgetRow]:
    """Merge new positions into the owner's widgets in one statement; rows not owned are skipped
    (the caller compares the count and rolls back)."""
    records = await conn.fetch(
        f"""
        UPDATE widgets AS w
        SET position = w.position || p.position::jsonb, updated_at = now()
        FROM unnest($2::uuid[], $3::text[]) AS p(id, position)
        WHERE w.id = p.id AND w.user_id = $1
        RETURNING {", ".join("w." + c.strip() for c in _COLUMNS.split(","))}
        """,
        user_id,
        [widget_id for widget_id, _ in positions],
        [jsonb.encode(position) for _, position in positions],
    )
    return [_row(r) for r in records]


async def delete_widget(
    conn: Connection, user_id: uuid.UUID, widget_id: uuid.UUID
) -> WidgetRow | None:
    record = await conn.fetchrow(
        f"DELETE FROM widgets WHERE id = $1 AND user_id = $2 RETURNING {_COLUMNS}",
        widget_id, user_id,
    )  # fmt: skip
    return None if record is None else _row(record)
