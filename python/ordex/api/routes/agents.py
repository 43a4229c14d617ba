"""`/api/v1/agents`: the caller's agents (list, detail, lightweight status), their heartbeats
(which register them) and their removal.

An agent that stops sending heartbeats goes unhealthy without any request: this router's lifespan
runs a small sweep in every API process, and the one holding the Redis lease `agents:health`
publishes the `agent_status` of every agent whose health changed (`services.agents`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, FastAPI, Path, Response

from ordex.api.automation_deps import AutomationSettingsDep, automation_settings_of
from ordex.api.deps import CurrentUser, DbConn, RedisDep
from ordex.api.schemas import API_ERRORS
from ordex.api.schemas_agents import (
    AGENT_ERRORS,
    AgentDeleted,
    AgentEnvelope,
    AgentList,
    AgentStatusOut,
    HeartbeatBody,
)
from ordex.config import Settings
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import agents
from ordex.services.automation_config import AutomationSettings
from ordex.workers.lease import Lease

log = get_logger(__name__)

HEALTH_LEASE = "agents:health"


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def sweep_agent_health(
    pool: asyncpg.Pool,
    redis: RedisClient,
    settings: AutomationSettings,
    lease_ms: int,
    stop: asyncio.Event,
) -> None:
    """While this process holds the lease: publish the agents' health changes every
    ORDEX_AGENT_CHECK_SECONDS. A database or Redis outage pauses the sweep, never ends it."""
    every = settings.ordex_agent_check_seconds
    # The lease must outlive the pause between two renewals.
    lease = Lease(redis, HEALTH_LEASE, ttl_ms=max(lease_ms, int(every * 3000)))
    try:
        while not stop.is_set():
            try:
                if not await lease.acquire(stop):
                    return
                while not stop.is_set() and await lease.keep():
                    async with pool.acquire() as conn:
                        await agents.publish_health_changes(conn, redis, settings)
                    await _pause(stop, every)
            except Exception as exc:  # a database or Redis outage: keep sweeping once it is over
                log.warning("agent health sweep failed; retrying", error=repr(exc))
                await _pause(stop, every)
    finally:
        with contextlib.suppress(Exception):
            await lease.release()


@asynccontextmanager
async def _health_sweep(app: FastAPI) -> AsyncIterator[None]:
    """Runs inside the app's own lifespan (FastAPI nests a router's), so the pool and the Redis
    client exist, and stops before they close."""
    app_settings: Settings = app.state.settings
    stop = asyncio.Event()
    task = asyncio.create_task(
        sweep_agent_health(
            app.state.pool,
            app.state.redis,
            automation_settings_of(app),
            app_settings.ordex_lease_ms,
            stop,
        ),
        name="agent-health-sweep",
    )
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=5)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# The handlers check the name (400 naming it); the document states the rule.
AgentName = Annotated[str, Path(json_schema_extra={"pattern": agents.NAME_PATTERN})]

router = APIRouter(
    prefix="/api/v1/agents", tags=["agents"], responses=API_ERRORS, lifespan=_health_sweep
)


@router.get("", response_model=AgentList)
async def list_agents(
    user: CurrentUser, conn: DbConn, settings: AutomationSettingsDep
) -> dict[str, Any]:
    """Every agent of the caller with its health: fresh heartbeats and not `error`."""
    found = await agents.list_agents(conn, settings, user.id)
    return {"agents": found, "count": len(found)}


@router.get("/{name}", response_model=AgentEnvelope, responses=AGENT_ERRORS)
async def get_agent(
    name: AgentName, user: CurrentUser, conn: DbConn, settings: AutomationSettingsDep
) -> dict[str, Any]:
    return {"agent": await agents.get_agent(conn, settings, user.id, name)}


@router.get("/{name}/status", response_model=AgentStatusOut, responses=AGENT_ERRORS)
async def get_agent_status(
    name: AgentName, user: CurrentUser, conn: DbConn, settings: AutomationSettingsDep
) -> dict[str, Any]:
    """The lightweight status: name, status, last_seen_at, healthy."""
    return await agents.get_status(conn, settings, user.id, name)


@router.post(
    "/{name}/heartbeat",
    response_model=AgentEnvelope,
    responses={201: {"model": AgentEnvelope, "description": "The agent was registered"}},
)
async def heartbeat(
    name: AgentName,
    response: Response,
    user: CurrentUser,
    conn: DbConn,
    redis: RedisDep,
    settings: AutomationSettingsDep,
    body: HeartbeatBody | None = None,
) -> dict[str, Any]:
    """Register the agent (201) or record its heartbeat (200), with a personal API token like
    every agent call. A change of its status or health is broadcast as `agent_status` on
    `/api/v1/ws`. Names: 1 to 100 printable characters without '/'."""
    body = body or HeartbeatBody()
    agent, created = await agents.heartbeat(
        conn,
        redis,
        settings,
        user.id,
        name,
        status=body.status,
        metadata=body.metadata,
        interval_seconds=body.interval_seconds,
    )
    if created:
        response.status_code = 201
    return {"agent": agent}


@router.delete("/{name}", response_model=AgentDeleted, responses=AGENT_ERRORS)
async def delete_agent(name: AgentName, user: CurrentUser, conn: DbConn) -> dict[str, str]:
    """Forget an agent (a retired bot); its decisions stay in the journal. A later heartbeat
    registers it again."""
    await agents.delete_agent(conn, user.id, name)
    return {"message": "Agent removed"}
