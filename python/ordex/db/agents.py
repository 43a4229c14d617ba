"""SQL for agents: upserts by heartbeat, reads with their health, and the health-change sweep.

Health is computed here, in one expression used by every read: an agent is fresh while its last
heartbeat is at most `unhealthy_after` of its intervals old; healthy when fresh and not reporting
`error`; and its status is the one it reported while fresh, `inactive` once it has gone stale.
Every query names the owner, so another user's agent is simply not found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.types import Connection

_FRESH = "(a.last_seen_at >= now() - make_interval(secs => a.heartbeat_seconds * $1))"
# (status, healthy) as they are now, from the row itself (so a re-checked row is judged anew);
# $1 is the unhealthy-after multiple.
_STATUS = f"(CASE WHEN {_FRESH} THEN a.status ELSE 'inactive' END)"
_HEALTHY = f"({_FRESH} AND a.status <> 'error')"
_JUDGED = f"{_STATUS} AS effective_status, {_HEALTHY} AS healthy"
_COLUMNS = (
    "a.user_id, a.name, a.kind, a.status, a.metadata::text, a.heartbeat_seconds, a.last_seen_at, "
    "a.published_status, a.published_healthy, a.created_at"
)


@dataclass(frozen=True, slots=True)
class AgentRow:
    user_id: uuid.UUID
    name: str
    kind: str
    reported_status: str  # as the agent last sent it
    status: str  # what the API shows: reported while fresh, `inactive` once stale
    healthy: bool
    metadata: dict[str, Any]
    heartbeat_seconds: float
    last_seen_at: datetime
    created_at: datetime
    published_status: str | None
    published_healthy: bool | None

    @property
    def state_changed(self) -> bool:
        """Whether (status, healthy) differ from what was last published as agent_status."""
        return (self.status, self.healthy) != (self.published_status, self.published_healthy)


def _agent(record: asyncpg.Record) -> AgentRow:
    return AgentRow(
        user_id=record["user_id"],
        name=record["name"],
        kind=record["kind"],
        reported_status=record["status"],
        status=record["effective_status"],
        healthy=record["healthy"],
        metadata=jsonb.decode(record["metadata"]),
        heartbeat_seconds=record["heartbeat_seconds"],
        last_seen_at=record["last_seen_at"],
        created_at=record["created_at"],
        published_status=record["published_status"],
        published_healthy=record["published_healthy"],
    )


async def heartbeat(
    conn: Connection,
    user_id: uuid.UUID,
    name: str,
    *,
    unhealthy_after: float,
    kind: str,
    status: str,
    metadata: dict[str, Any] | None,
    heartbeat_seconds: float,
) -> tuple[AgentRow, bool]:
    """Register the agent or record its heartbeat: (the agent now, whether it was created).
    `metadata` None keeps what the agent reported before."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO agents AS a (user_id, name, kind, status, metadata, heartbeat_seconds,
                                 last_seen_at)
        VALUES ($2, $3, $4, $5, coalesce($6::jsonb, '{{}}'::jsonb), $7, now())
        ON CONFLICT (user_id, name) DO UPDATE
        SET kind = EXCLUDED.kind, status = EXCLUDED.status,
            metadata = coalesce($6::jsonb, a.metadata),
            heartbeat_seconds = EXCLUDED.heartbeat_seconds, last_seen_at = now(),
            updated_at = clock_timestamp()
        RETURNING {_COLUMNS}, {_JUDGED}, (xmax = 0) AS created
        """,
        unhealthy_after, user_id, name, kind, status,
        None if metadata is None else jsonb.encode(metadata), heartbeat_seconds,
    )  # fmt: skip
    assert record is not None
    return _agent(record), bool(record["created"])


async def refresh_runners(conn: Connection) -> int:
    """Record a heartbeat for every session runner whose trading session is not stopped (the
    runner lives in the API processes as long as its session does); how many."""
    result = await conn.execute(
        """
        UPDATE agents AS a SET last_seen_at = now()
        FROM trading_sessions AS s
        WHERE a.kind = 'runner' AND a.status = 'active' AND a.user_id = s.user_id
          AND a.metadata ->> 'session_id' = s.id::text AND s.status <> 'STOPPED'
        """
    )
    return int(result.split()[-1])


async def mark_published(conn: Connection, agent: AgentRow) -> bool:
    """Record the agent's current state as published; False when it already was (another
    writer published this very change), so each change is broadcast once."""
    updated = await conn.fetchval(
        """
        UPDATE agents SET published_status = $3, published_healthy = $4
        WHERE user_id = $1 AND name = $2
          AND (published_status IS DISTINCT FROM $3 OR published_healthy IS DISTINCT FROM $4)
        RETURNING true
        """,
        agent.user_id, agent.name, agent.status, agent.healthy,
    )  # fmt: skip
    return bool(updated)


async def list_agents(
    conn: Connection, user_id: uuid.UUID, *, unhealthy_after: float
) -> list[AgentRow]:
    records = await conn.fetch(
        f"SELECT {_COLUMNS}, {_JUDGED} FROM agents a WHERE a.user_id = $2 ORDER BY a.name",
        unhealthy_after, user_id,
    )  # fmt: skip
    return [_agent(r) for r in records]


async def get_agent(
    conn: Connection, user_id: uuid.UUID, name: str, *, unhealthy_after: float
) -> AgentRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS}, {_JUDGED} FROM agents a WHERE a.user_id = $2 AND a.name = $3",
        unhealthy_after, user_id, name,
    )  # fmt: skip
    return None if record is None else _agent(record)


async def delete_agent(conn: Connection, user_id: uuid.UUID, name: str) -> bool:
    deleted = await conn.fetchval(
        "DELETE FROM agents WHERE user_id = $1 AND name = $2 RETURNING true", user_id, name
    )
    return bool(deleted)


async def publish_changes(conn: Connection, *, unhealthy_after: float) -> list[AgentRow]:
    """Every agent whose (status, healthy) differs from what was last published, marked as
    published in the same statement: the caller broadcasts exactly these. The state is judged
    from the row itself, so a row a concurrent heartbeat has just changed is judged again as it
    now is, and a change is never returned twice."""
    records = await conn.fetch(
        f"""
        UPDATE agents a
        SET published_status = {_STATUS}, published_healthy = {_HEALTHY}
        WHERE a.published_status IS DISTINCT FROM {_STATUS}
           OR a.published_healthy IS DISTINCT FROM {_HEALTHY}
        RETURNING {_COLUMNS}, {_JUDGED}
        """,
        unhealthy_after,
    )
    return [_agent(r) for r in records]
