"""`/api/v1/agents`: registration and heartbeats with a personal API token, the contract's list,
detail and status shapes, health from the heartbeat's age, `agent_status` on every change (also
when nothing but time passes), session runners as agents, isolation and bad input."""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg
import httpx
import pytest

from ordex.db.pool import create_pool
from ordex.services import agents as agents_service
from ordex.services.automation_config import AutomationSettings
from ordex.services.errors import ServiceError
from tests.agents.helpers import live_messages, next_of_type
from tests.platform.helpers import ClientFactory
from tests.workspace.helpers import User, api_error, sign_up

TECHNICAL = {"version": "1.0.0", "type": "analysis"}


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _beat(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, expect: int = 200, **body: object
) -> dict[str, object]:
    response = await client.post(f"/api/v1/agents/{name}/heartbeat", json=body, headers=headers)
    assert response.status_code == expect, response.text
    agent: dict[str, object] = response.json()["agent"]
    return agent


async def test_register_list_detail_and_status_as_documented(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    first = await _beat(client, agent_token, "technical-agent", 201, metadata=TECHNICAL)
    assert first["status"] == "active" and first["is_healthy"] is True
    assert first["kind"] == "external" and first["heartbeat_interval_seconds"] == 30
    await _beat(
        client, agent_token, "technical-agent", 200,
        status="active", metadata={**TECHNICAL, "signals_generated": 42,
                                   "last_signal_at": "2025-01-15T10:29:45Z"},
    )  # fmt: skip
    await _beat(client, agent_token, "trend-agent", 201,
                metadata={"version": "1.0.0", "type": "strategy"})  # fmt: skip

    listed = await client.get("/api/v1/agents", headers=agent_token)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["count"] == 2
    assert [a["name"] for a in body["agents"]] == ["technical-agent", "trend-agent"]
    for agent in body["agents"]:
        assert {"name", "status", "last_seen_at", "is_healthy", "metadata"} <= agent.keys()
        assert agent["status"] == "active" and agent["is_healthy"] is True
        _timestamp(agent["last_seen_at"])
    assert body["agents"][1]["metadata"] == {"version": "1.0.0", "type": "strategy"}

    detail = await client.get("/api/v1/agents/technical-agent", headers=agent_token)
    assert detail.status_code == 200
    assert detail.json()["agent"]["metadata"] == {
        "version": "1.0.0", "type": "analysis", "signals_generated": 42,
        "last_signal_at": "2025-01-15T10:29:45Z",
    }  # fmt: skip

    status = await client.get("/api/v1/agents/technical-agent/status", headers=agent_token)
    assert status.status_code == 200
    assert status.json().keys() == {"name", "status", "last_seen_at", "healthy"}
    assert status.json()["name"] == "technical-agent" and status.json()["healthy"] is True


async def test_heartbeat_without_body_keeps_metadata_and_an_error_is_unhealthy(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    await _beat(client, agent_token, "bot", 201, metadata={"v": 1}, interval_seconds=5)
    response = await client.post("/api/v1/agents/bot/heartbeat", headers=agent_token)
    assert response.status_code == 200, response.text
    agent = response.json()["agent"]
    assert agent["metadata"] == {"v": 1} and agent["heartbeat_interval_seconds"] == 30
    errored = await _beat(client, agent_token, "bot", 200, status="ERROR")
    assert errored["status"] == "error" and errored["is_healthy"] is False
    replaced = await _beat(client, agent_token, "bot", 200, metadata={})
    assert replaced["metadata"] == {} and replaced["is_healthy"] is True


async def test_health_follows_the_heartbeat_age_and_changes_are_published(
    client: httpx.AsyncClient, agent_token: dict[str, str], alice: User, database_url: str,
    redis_url: str,
) -> None:  # fmt: skip
    async with live_messages(redis_url, alice.id) as inbox:
        await _beat(client, agent_token, "technical-agent", 201, metadata={"signals": 1},
                    interval_seconds=10)  # fmt: skip
        registered = await next_of_type(inbox, "agent_status")
        assert registered["data"] == {
            "name": "technical-agent",
            "status": "active",
            "last_seen_at": registered["data"]["last_seen_at"],
            "is_healthy": True,
            "metadata": {"signals": 1},
        }
        _timestamp(registered["timestamp"])

        # A heartbeat that changes nothing publishes nothing.
        await _beat(client, agent_token, "technical-agent", 200, interval_seconds=10)

        # The last heartbeat ages past 3 intervals: no request is made, the sweep notices.
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE agents SET last_seen_at = now() - interval '31 seconds'"
                " WHERE name = 'technical-agent'"
            )
        finally:
            await conn.close()
        stale = await next_of_type(inbox, "agent_status")
        assert stale["data"]["name"] == "technical-agent"
        assert stale["data"]["is_healthy"] is False and stale["data"]["status"] == "inactive"
        status = await client.get("/api/v1/agents/technical-agent/status", headers=agent_token)
        assert status.json()["healthy"] is False and status.json()["status"] == "inactive"

        await _beat(client, agent_token, "technical-agent", 200, interval_seconds=10)
        back = await next_of_type(inbox, "agent_status")
        assert back["data"]["is_healthy"] is True and back["data"]["status"] == "active"
        await asyncio.sleep(0.4)  # several sweeps
        assert inbox.drain() == []  # each change went out once


async def test_an_agent_that_stops_beating_goes_unhealthy_in_real_time(
    client_factory: ClientFactory, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before the app starts, as a deployment sets it for every API process.
    monkeypatch.setenv("ORDEX_AGENT_UNHEALTHY_AFTER", "1")
    async with client_factory(registration_mode="open") as client:
        carol = await sign_up(client, "carol@example.com")
        async with live_messages(redis_url, carol.id) as inbox:
            await _beat(client, carol.headers, "short-lived", 201, interval_seconds=1)
            assert (await next_of_type(inbox, "agent_status"))["data"]["is_healthy"] is True
            started = asyncio.get_running_loop().time()
            stale = await next_of_type(inbox, "agent_status")
            waited = asyncio.get_running_loop().time() - started
        assert stale["data"]["is_healthy"] is False
        assert 0.5 < waited < 2.5, waited


async def test_session_runners_are_agents(
    client: httpx.AsyncClient, alice: User, database_url: str, redis_url: str
) -> None:
    from redis.asyncio import Redis

    pool = await create_pool(database_url, min_size=1, max_size=1)
    redis = Redis.from_url(redis_url)
    try:
        async with live_messages(redis_url, alice.id) as inbox, pool.acquire() as conn:
            agent = await agents_service.register_runner(
                conn, alice.id, "session-1234 BTC-USDT", {"session_id": "1234", "mode": "PAPER"},
                redis=redis,
            )  # fmt: skip
            assert agent["kind"] == "runner" and agent["is_healthy"] is True
            assert (await next_of_type(inbox, "agent_status"))["data"]["status"] == "active"
            again = await agents_service.register_runner(
                conn, alice.id, "session-1234 BTC-USDT", {"session_id": "1234", "trades": 3}
            )
            assert again["metadata"] == {"session_id": "1234", "trades": 3}
            stopped = await agents_service.runner_stopped(
                conn, alice.id, "session-1234 BTC-USDT", redis=redis,
                settings=AutomationSettings(_env_file=None),  # type: ignore[call-arg]
            )  # fmt: skip
            assert stopped["status"] == "inactive"
            assert (await next_of_type(inbox, "agent_status"))["data"]["status"] == "inactive"
    finally:
        await redis.aclose()
        await pool.close()
    listed = await client.get("/api/v1/agents", headers=alice.headers)
    assert [(a["name"], a["kind"]) for a in listed.json()["agents"]] == [
        ("session-1234 BTC-USDT", "runner")
    ]
    detail = await client.get("/api/v1/agents/session-1234 BTC-USDT", headers=alice.headers)
    assert detail.json()["agent"]["status"] == "inactive"


async def test_runner_names_are_path_segments(database_url: str, alice: User) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            with pytest.raises(ServiceError) as refused:
                await agents_service.register_runner(conn, alice.id, "BTC/USDT runner", {})
    finally:
        await pool.close()
    assert refused.value.status_code == 400 and refused.value.field == "name"


async def test_another_users_agent_is_not_found(
    client: httpx.AsyncClient, agent_token: dict[str, str], bob: User
) -> None:
    await _beat(client, agent_token, "technical-agent", 201)
    for path in ("/api/v1/agents/technical-agent", "/api/v1/agents/technical-agent/status"):
        api_error(await client.get(path, headers=bob.headers), 404, "AGENT_NOT_FOUND")
    assert (await client.get("/api/v1/agents", headers=bob.headers)).json() == {
        "agents": [], "count": 0,
    }  # fmt: skip
    api_error(await client.delete("/api/v1/agents/technical-agent", headers=bob.headers), 404)
    # Bob's agent of the same name is his own.
    await _beat(client, bob.headers, "technical-agent", 201, metadata={"owner": "bob"})
    mine = await client.get("/api/v1/agents/technical-agent", headers=agent_token)
    assert mine.json()["agent"]["metadata"] == {}


async def test_delete_forgets_the_agent(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    await _beat(client, agent_token, "retired", 201)
    deleted = await client.delete("/api/v1/agents/retired", headers=agent_token)
    assert deleted.status_code == 200, deleted.text
    api_error(await client.get("/api/v1/agents/retired", headers=agent_token), 404)
    await _beat(client, agent_token, "retired", 201)


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        (" padded", {}, "name"),
        ("a" * 101, {}, "name"),
        ("ok", {"status": "sleeping"}, "status"),
        ("ok", {"metadata": ["not", "an", "object"]}, "metadata"),
        ("ok", {"metadata": {"blob": "x" * 20_000}}, "metadata"),
        ("ok", {"metadata": {"huge": 10**30}}, "metadata"),
        ("ok", {"interval_seconds": 0}, "interval_seconds"),
        ("ok", {"interval_seconds": "soon"}, "interval_seconds"),
        ("ok", {"surprise": 1}, "surprise"),
    ],
)
async def test_bad_heartbeats_are_400_naming_the_field(
    client: httpx.AsyncClient, agent_token: dict[str, str], name: str, body: dict[str, object],
    field: str,
) -> None:  # fmt: skip
    response = await client.post(f"/api/v1/agents/{name}/heartbeat", json=body, headers=agent_token)
    error = api_error(response, 400)
    assert error["field"] == field, error
    assert (await client.get("/api/v1/agents", headers=agent_token)).json()["count"] == 0


async def test_unknown_agent_and_missing_credential(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    api_error(
        await client.get("/api/v1/agents/nobody", headers=agent_token), 404, "AGENT_NOT_FOUND"
    )
    api_error(await client.get("/api/v1/agents/nobody/status", headers=agent_token), 404)
    api_error(await client.post("/api/v1/agents/x/heartbeat", json={}), 401)
