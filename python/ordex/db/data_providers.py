"""SQL for data providers, listed by priority (lowest number first)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.types import Connection

_COLUMNS = "id, user_id, name, type, status, exchanges::text, priority, config::text, created_at, updated_at"
UPDATABLE = {
    "name": "name",
    "type": "type",
    "status": "status",
    "exchanges": "exchanges::jsonb",
    "priority": "priority",
    "config": "config::jsonb",
}


@dataclass(frozen=True, slots=True)
class ProviderRow:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    type: str
    status: str
    exchanges: list[str]
    priority: int
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _row(record: asyncpg.Record) -> ProviderRow:
    values = dict(record)
    values["exchanges"] = jsonb.decode(values["exchanges"])
    values["config"] = jsonb.decode(values["config"])
    return ProviderRow(**values)


async def list_providers(conn: Connection, user_id: uuid.UUID) -> list[ProviderRow]:
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM data_providers WHERE user_id = $1
        ORDER BY priority, created_at, id
        """,
        user_id,
    )
    return [_row(r) for r in records]


async def insert_provider(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    name: str,
    type: str,
    status: str,
    exchanges: list[str],
    priority: int,
    config: Mapping[str, Any],
) -> ProviderRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO data_providers (user_id, name, type, status, exchanges, priority, config)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7::jsonb)
        RETURNING {_COLUMNS}
        """,
        user_id, name, type, status, jsonb.encode(exchanges), priority, jsonb.encode(config),
    )  # fmt: skip
    assert record is not None
    return _row(record)


async def update_provider(
    conn: Connection, user_id: uuid.UUID, provider_id: uuid.UUID, changes: Mapping[str, Any]
) -> ProviderRow | None:
    assignments, args = jsonb.set_clause(changes, UPDATABLE, first_param=3)
    record = await conn.fetchrow(
        f"""
        UPDATE data_providers SET {assignments} WHERE id = $1 AND user_id = $2
        RETURNING {_COLUMNS}
        """,
        provider_id, user_id, *args,
    )  # fmt: skip
    return None if record is None else _row(record)


async def delete_provider(
    conn: Connection, user_id: uuid.UUID, provider_id: uuid.UUID
) -> ProviderRow | None:
    record = await conn.fetchrow(
        f"DELETE FROM data_providers WHERE id = $1 AND user_id = $2 RETURNING {_COLUMNS}",
        provider_id, user_id,
    )  # fmt: skip
    return None if record is None else _row(record)
