"""`agent_status` end to end: a heartbeat and a heartbeat gone stale reach the owner's WebSocket
`/api/v1/ws` client of the served app (granian), and nobody else's."""

from __future__ import annotations

import asyncpg

from ordex.config import Settings
from tests.realtime.conftest import LiveServer, fake_binance, live  # noqa: F401  (fixtures)
from tests.realtime.test_ws import receive, ws_client


async def test_agent_status_reaches_the_owners_websocket(
    live: LiveServer,  # noqa: F811
    settings: Settings,
) -> None:
    token, _ = await live.sign_up("agents@example.com")
    other_token, _ = await live.sign_up("bystander@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    api_token = (await live.http.post("/api/user/token", headers=headers)).json()["token"]
    async with ws_client(live, token) as mine, ws_client(live, other_token) as theirs:
        beat = await live.http.post(
            "/api/v1/agents/technical-agent/heartbeat",
            json={"metadata": {"signals_generated": 42}, "interval_seconds": 5},
            headers={"Authorization": f"Bearer {api_token}"},
        )
        assert beat.status_code == 201, beat.text
        message = await receive(mine, "ping")
        assert message["type"] == "agent_status"
        assert message["data"] == {
            "name": "technical-agent",
            "status": "active",
            "last_seen_at": beat.json()["agent"]["last_seen_at"],
            "is_healthy": True,
            "metadata": {"signals_generated": 42},
        }

        assert settings.database_url is not None
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute("UPDATE agents SET last_seen_at = now() - interval '1 minute'")
        finally:
            await conn.close()
        stale = await receive(mine, "ping")
        assert stale["type"] == "agent_status"
        assert (stale["data"]["status"], stale["data"]["is_healthy"]) == ("inactive", False)

        # The bystander got neither: the next thing they see is a message of their own.
        await live.http.post(
            "/api/v1/agents/their-agent/heartbeat",
            headers={"Authorization": f"Bearer {other_token}"},
        )
        assert (await receive(theirs, "ping"))["data"]["name"] == "their-agent"
