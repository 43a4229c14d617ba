"""SQL for the assistant's chat messages, stored per flow. Every query names the owner, so another
user's conversation is simply not there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ordex.db.types import Connection

_COLUMNS = "id, role, content, created_at"


@dataclass(frozen=True, slots=True)
class ChatMessageRow:
    id: uuid.UUID
    role: str
    content: str
    created_at: datetime


async def insert_message(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID, *, role: str, content: str
) -> ChatMessageRow:
    record = await conn.fetchrow(
        f"INSERT INTO chat_messages (user_id, flow_id, role, content) VALUES ($1, $2, $3, $4) "
        f"RETURNING {_COLUMNS}",
        user_id, flow_id, role, content,
    )  # fmt: skip
    assert record is not None
    return ChatMessageRow(**dict(record))


async def list_messages(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID
) -> list[ChatMessageRow]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS} FROM chat_messages WHERE flow_id = $1 AND user_id = $2 ORDER BY seq",
        flow_id, user_id,
    )  # fmt: skip
    return [ChatMessageRow(**dict(r)) for r in records]


async def delete_messages(conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID) -> int:
    status: str = await conn.execute(
        "DELETE FROM chat_messages WHERE flow_id = $1 AND user_id = $2", flow_id, user_id
    )
    return int(status.rsplit(" ", 1)[-1])
