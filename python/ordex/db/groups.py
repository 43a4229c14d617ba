"""SQL for instrument-linking groups."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordex.db import jsonb
from ordex.db.types import Connection

_COLUMNS = (
    "id, user_id, name, color, trading_pair, account, exchange, market, description, "
    "created_at, updated_at"
)
UPDATABLE = {
    "name": "name",
    "color": "color",
    "tradingPair": "trading_pair",
    "account": "account",
    "exchange": "exchange",
    "market": "market",
    "description": "description",
}


@dataclass(frozen=True, slots=True)
class GroupRow:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    color: str
    trading_pair: str | None
    account: str | None
    exchange: str | None
    market: str | None
    description: str | None
    created_at: datetime
    updated_at: datetime


async def list_groups(conn: Connection, user_id: uuid.UUID) -> list[GroupRow]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM groups WHERE user_id = $1 ORDER BY created_at, id", user_id
    )
    return [GroupRow(**dict(r)) for r in records]


async def get_group(conn: Connection, user_id: uuid.UUID, group_id: uuid.UUID) -> GroupRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM groups WHERE id = $1 AND user_id = $2", group_id, user_id
    )
    return None if record is None else GroupRow(**dict(record))


async def insert_group(conn: Connection, user_id: uuid.UUID, fields: Mapping[str, Any]) -> GroupRow:
    """Insert a group from API field names (a subset of UPDATABLE)."""
    columns = [UPDATABLE[name] for name in fields]
    placeholders = ", ".join(f"${i}" for i in range(2, len(columns) + 2))
    record = await conn.fetchrow(
        f"""
        INSERT INTO groups (user_id{"".join(", " + c for c in columns)})
        VALUES ($1{", " if columns else ""}{placeholders})
        RETURNING {_COLUMNS}
        """,
        user_id, *fields.values(),
    )  # fmt: skip
    assert record is not None
    return GroupRow(**dict(record))


async def update_group(
    conn: Connection, user_id: uuid.UUID, group_id: uuid.UUID, changes: Mapping[str, Any]
) -> GroupRow | None:
    assignments, args = jsonb.set_clause(changes, UPDATABLE, first_param=3)
    record = await conn.fetchrow(
        f"UPDATE groups SET {assignments} WHERE id = $1 AND user_id = $2 RETURNING {_COLUMNS}",
        group_id, user_id, *args,
    )  # fmt: skip
    return None if record is None else GroupRow(**dict(record))


async def delete_group(
    conn: Connection, user_id: uuid.UUID, group_id: uuid.UUID
) -> GroupRow | None:
    """Delete a group; widgets linked to it are unlinked (ON DELETE SET NULL)."""
    record = await conn.fetchrow(
        f"DELETE FROM groups WHERE id = $1 AND user_id = $2 RETURNING {_COLUMNS}",
        group_id, user_id,
    )  # fmt: skip
    return None if record is None else GroupRow(**dict(record))


async def widgets_linked_to(
    conn: Connection, user_id: uuid.UUID, group_id: uuid.UUID
) -> list[uuid.UUID]:
    records = await conn.fetch(
        "SELECT id FROM widgets WHERE group_id = $1 AND user_id = $2 ORDER BY id",
        group_id, user_id,
    )  # fmt: skip
    return [r["id"] for r in records]
