"""SQL for users' notifications. Every query names the owner, so another user's notification is
simply not found."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.types import Connection

_COLUMNS = "id, user_id, type, event, title, message, data::text, action_url, read_at, created_at"


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: uuid.UUID
    user_id: uuid.UUID
    type: str
    event: str
    title: str
    message: str
    data: dict[str, Any]
    action_url: str | None
    read_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewNotification:
    user_id: uuid.UUID
    type: str
    event: str
    title: str
    message: str
    data: dict[str, Any]
    action_url: str | None


def _row(record: asyncpg.Record) -> NotificationRow:
    return NotificationRow(
        id=record["id"],
        user_id=record["user_id"],
        type=record["type"],
        event=record["event"],
        title=record["title"],
        message=record["message"],
        data=jsonb.decode(record["data"]) or {},
        action_url=record["action_url"],
        read_at=record["read_at"],
        created_at=record["created_at"],
    )


async def insert(conn: Connection, new: NewNotification) -> NotificationRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO notifications (user_id, type, event, title, message, data, action_url)
        VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
        RETURNING {_COLUMNS}
        """,
        new.user_id, new.type, new.event, new.title, new.message, jsonb.encode(new.data),
        new.action_url,
    )  # fmt: skip
    assert record is not None
    return _row(record)


async def list_page(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    type: str | None,
    unread_only: bool,
    limit: int,
    offset: int,
) -> tuple[list[NotificationRow], int]:
    """One page, newest first, and how many match in all."""
    where = "user_id = $1 AND ($2::text IS NULL OR type = $2) AND (NOT $3 OR read_at IS NULL)"
    total: int = await conn.fetchval(
        f"SELECT count(*) FROM notifications WHERE {where}", user_id, type, unread_only
    )
    records = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM notifications WHERE {where}
        ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5
        """,
        user_id, type, unread_only, limit, offset,
    )  # fmt: skip
    return [_row(r) for r in records], total


async def mark_all_read(conn: Connection, user_id: uuid.UUID) -> int:
    status: str = await conn.execute(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL", user_id
    )
    return int(status.rsplit(" ", 1)[-1])


async def mark_read(conn: Connection, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
    """False when the user has no such notification; reading a read one again keeps its time."""
    found: bool | None = await conn.fetchval(
        """
        UPDATE notifications SET read_at = coalesce(read_at, now())
        WHERE user_id = $1 AND id = $2 RETURNING true
        """,
        user_id, notification_id,
    )  # fmt: skip
    return bool(found)


async def delete(conn: Connection, user_id: uuid.UUID, notification_id: uuid.UUID) -> bool:
    status: str = await conn.execute(
        "DELETE FROM notifications WHERE user_id = $1 AND id = $2", user_id, notification_id
    )
    return status == "DELETE 1"
