"""Per-user state revisions and `state:changed` events.

Every change to a user's workspace runs inside `recording()`: one transaction that row-locks the
user's revision counter first (so a user's changes serialise and revisions follow commit order,
whichever API process makes them), then advances it by one per recorded change. After the commit the
events are published on Redis, channel `state:changed:{userId}`, as JSON:

    {"type": "state:changed", "userId", "domain", "action", "id", "data", "origin", "rev"}

`origin` is the writer's `X-Client-Id` header, so a client can skip its own echo; `rev` lets
listeners order events and notice gaps (then re-read state). A failed publish is logged, never
undoes the committed change.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.exceptions import RedisError

from ordex.db import state_revisions as revisions_repo
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient

log = get_logger(__name__)

CHANNEL_PREFIX = "state:changed:"
EVENT_TYPE = "state:changed"


def channel_for(user_id: uuid.UUID) -> str:
    return f"{CHANNEL_PREFIX}{user_id}"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is changing state: the owner, the client they wrote from, where events go."""

    user_id: uuid.UUID
    origin: str | None = None
    redis: RedisClient | None = None  # None: nobody can be listening yet (a user being registered)


@dataclass(frozen=True, slots=True)
class StateEvent:
    user_id: uuid.UUID
    domain: str
    action: str
    id: str
    data: Any
    origin: str | None
    rev: int

    def payload(self) -> dict[str, Any]:
        return {
            "type": EVENT_TYPE,
            "userId": str(self.user_id),
            "domain": self.domain,
            "action": self.action,
            "id": self.id,
            "data": self.data,
            "origin": self.origin,
            "rev": self.rev,
        }


@dataclass(slots=True)
class ChangeSet:
    """Changes recorded inside one transaction, in order."""

    entries: list[tuple[str, str, str, Any]] = field(default_factory=list)
    events: list[StateEvent] = field(default_factory=list)

    def add(self, domain: str, action: str, id: str | uuid.UUID, data: Any) -> None:
        self.entries.append((domain, action, str(id), data))


@asynccontextmanager
async def recording(conn: Connection, actor: Actor) -> AsyncIterator[ChangeSet]:
    """A transaction that records changes; revisions advance with it and events go out after it."""
    changes = ChangeSet()
    async with conn.transaction():
        base = await revisions_repo.lock_revision(conn, actor.user_id)
        yield changes
        if changes.entries:
            await revisions_repo.advance_revision(conn, actor.user_id, len(changes.entries))
    changes.events = [
        StateEvent(actor.user_id, domain, action, id_, data, actor.origin, base + offset)
        for offset, (domain, action, id_, data) in enumerate(changes.entries, start=1)
    ]
    await publish(actor.redis, changes.events)


async def publish(redis: RedisClient | None, events: list[StateEvent]) -> None:
    if redis is None or not events:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.publish(channel_for(event.user_id), orjson.dumps(event.payload()))
            await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("state:changed not published", error=str(exc), count=len(events))


async def current_revision(conn: Connection, user_id: uuid.UUID) -> int:
    return await revisions_repo.current_revision(conn, user_id)
