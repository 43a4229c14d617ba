"""Agents: processes that trade through ordex, known by their heartbeats.

An agent registers with its first heartbeat (`POST /api/v1/agents/{name}/heartbeat`, with a
personal API token) and keeps itself fresh by sending more, each one stating its status, metadata
and, optionally, its interval. Every running trading session's runner is an agent too: the
sessions call `register_runner` when a runner starts and on every beat of it, `runner_stopped`
when it ends.

Health is derived from the heartbeat's age (`db.agents`): unhealthy once the last heartbeat is
older than ORDEX_AGENT_UNHEALTHY_AFTER of the agent's intervals, or while it reports `error`; a
stale agent shows as `inactive`. Every change of (status, healthy) is broadcast once as
`agent_status` to the owner's live clients: by the heartbeat that causes it, or, for an agent
that simply stopped sending, by the periodic sweep (`publish_health_changes`) that one API
process runs under a Redis lease.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from ordex.db import agents as agents_repo
from ordex.db.agents import AgentRow
from ordex.db.types import Connection
from ordex.redis_client import RedisClient
from ordex.services import live_messages
from ordex.services.automation_config import AutomationSettings, environment_settings
from ordex.services.errors import ServiceError
from ordex.timestamps import iso_millis

STATUSES = ("active", "inactive", "error")
EXTERNAL = "external"
RUNNER = "runner"
MAX_NAME = 100
# No control characters, no '/' (names are path segments), no surrounding spaces.
NAME_PATTERN = rf"^[^/\s\x00-\x1f\x7f]([^/\x00-\x1f\x7f]{{0,{MAX_NAME - 2}}}[^/\s\x00-\x1f\x7f])?$"
_NAME = re.compile(NAME_PATTERN)


def agent_not_found() -> ServiceError:
    return ServiceError(404, "AGENT_NOT_FOUND", "agent not found")


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def check_name(name: str) -> str:
    """The name as given, or a 400 naming `name`."""
    if not valid_name(name):
        raise ServiceError(
            400,
            "VALIDATION_ERROR",
            f"invalid agent name: 1 to {MAX_NAME} printable characters, no '/', "
            "no surrounding spaces",
            field="name",
        )
    return name


# --- JSON shapes --------------------------------------------------------------------------------


def agent_json(row: AgentRow) -> dict[str, Any]:
    """The contract's Agent model, plus how it was registered and its heartbeat interval."""
    return {
        "name": row.name,
        "status": row.status,
        "last_seen_at": iso_millis(row.last_seen_at),
        "is_healthy": row.healthy,
        "metadata": row.metadata,
        "kind": row.kind,
        "heartbeat_interval_seconds": row.heartbeat_seconds,
        "registered_at": iso_millis(row.created_at),
    }


def status_json(row: AgentRow) -> dict[str, Any]:
    """The lightweight status of the contract."""
    return {
        "name": row.name,
        "status": row.status,
        "last_seen_at": iso_millis(row.last_seen_at),
        "healthy": row.healthy,
    }


def _message_data(row: AgentRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "status": row.status,
        "last_seen_at": iso_millis(row.last_seen_at),
        "is_healthy": row.healthy,
        "metadata": row.metadata,
    }


async def publish_status(redis: RedisClient, row: AgentRow) -> None:
    """`agent_status` to the owner's live clients in every API process."""
    await live_messages.publish(redis, "agent_status", _message_data(row), user_id=row.user_id)


# --- heartbeats ---------------------------------------------------------------------------------


async def heartbeat(
    conn: Connection,
    redis: RedisClient | None,
    settings: AutomationSettings,
    user_id: uuid.UUID,
    name: str,
    *,
    status: str = "active",
    metadata: dict[str, Any] | None = None,
    interval_seconds: float | None = None,
    kind: str = EXTERNAL,
) -> tuple[dict[str, Any], bool]:
    """Register the agent or record its heartbeat: (the agent, whether it was just registered).
    `metadata` None keeps the last reported metadata. A change of status or health is published
    (when `redis` is given; otherwise the next sweep publishes it)."""
    check_name(name)
    if status not in STATUSES:
        raise ServiceError(400, "VALIDATION_ERROR", "invalid agent status", field="status")
    interval = interval_seconds or settings.ordex_agent_heartbeat_seconds
    # One transaction: a concurrent sweep waits for the row and then sees it as published.
    async with conn.transaction():
        row, created = await agents_repo.heartbeat(
            conn,
            user_id,
            name,
            unhealthy_after=settings.ordex_agent_unhealthy_after,
            kind=kind,
            status=status,
            metadata=metadata,
            heartbeat_seconds=interval,
        )
        changed = redis is not None and row.state_changed
        if changed:
            changed = await agents_repo.mark_published(conn, row)
    if changed and redis is not None:
        await publish_status(redis, row)
    return agent_json(row), created


async def register_runner(
    conn: Connection,
    user_id: uuid.UUID,
    name: str,
    metadata: dict[str, Any],
    *,
    redis: RedisClient | None = None,
    settings: AutomationSettings | None = None,
) -> dict[str, Any]:
    """Register a trading session's runner as the user's agent `name` (kind `runner`, status
    `active`), or record its heartbeat when it is already registered. Call it when the runner
    starts and again at least every ORDEX_AGENT_HEARTBEAT_SECONDS while it runs; with `redis`
    the `agent_status` of a change goes out at once, without it the next sweep sends it.
    `name`: 1 to 100 printable characters without '/'."""
    agent, _ = await heartbeat(
        conn,
        redis,
        settings or environment_settings(),
        user_id,
        name,
        status="active",
        metadata=metadata,
        kind=RUNNER,
    )
    return agent


async def runner_stopped(
    conn: Connection,
    user_id: uuid.UUID,
    name: str,
    *,
    redis: RedisClient | None = None,
    settings: AutomationSettings | None = None,
) -> dict[str, Any]:
    """A runner that has ended reports `inactive` (its metadata stays)."""
    agent, _ = await heartbeat(
        conn, redis, settings or environment_settings(), user_id, name, status="inactive",
        kind=RUNNER,
    )  # fmt: skip
    return agent


# --- reads --------------------------------------------------------------------------------------


async def list_agents(
    conn: Connection, settings: AutomationSettings, user_id: uuid.UUID
) -> list[dict[str, Any]]:
    rows = await agents_repo.list_agents(
        conn, user_id, unhealthy_after=settings.ordex_agent_unhealthy_after
    )
    return [agent_json(row) for row in rows]


async def _find(
    conn: Connection, settings: AutomationSettings, user_id: uuid.UUID, name: str
) -> AgentRow:
    """The user's agent; a name that cannot be an agent's names nothing (404)."""
    row = None
    if valid_name(name):
        row = await agents_repo.get_agent(
            conn, user_id, name, unhealthy_after=settings.ordex_agent_unhealthy_after
        )
    if row is None:
        raise agent_not_found()
    return row


async def get_agent(
    conn: Connection, settings: AutomationSettings, user_id: uuid.UUID, name: str
) -> dict[str, Any]:
    return agent_json(await _find(conn, settings, user_id, name))


async def get_status(
    conn: Connection, settings: AutomationSettings, user_id: uuid.UUID, name: str
) -> dict[str, Any]:
    return status_json(await _find(conn, settings, user_id, name))


async def delete_agent(conn: Connection, user_id: uuid.UUID, name: str) -> None:
    """Forget the agent (its decisions stay in the journal)."""
    if not (valid_name(name) and await agents_repo.delete_agent(conn, user_id, name)):
        raise agent_not_found()


# --- the sweep ----------------------------------------------------------------------------------


async def publish_health_changes(
    conn: Connection, redis: RedisClient, settings: AutomationSettings
) -> int:
    """Publish `agent_status` for every agent whose status or health changed since it was last
    published (an agent gone stale, most often); how many. Session runners of sessions still
    running or paused get their heartbeat here first. A change is marked published before
    it is sent, so a Redis failure loses that message rather than repeating it forever."""
    await agents_repo.refresh_runners(conn)
    rows = await agents_repo.publish_changes(
        conn, unhealthy_after=settings.ordex_agent_unhealthy_after
    )
    for row in rows:
        await publish_status(redis, row)
    return len(rows)
