"""Agents, decisions and config fixtures: the workspace's app, database and Redis fixtures (open
registration, two users), a personal API token for Alice's agents, and a fast health sweep."""

from __future__ import annotations

import httpx
import pytest

from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)
from tests.workspace.conftest import alice, bob, client  # noqa: F401  (fixtures)
from tests.workspace.helpers import User


@pytest.fixture(autouse=True)
def fast_health_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before any app is created: the sweep looks for stale agents every 0.1 s."""
    monkeypatch.setenv("ORDEX_AGENT_CHECK_SECONDS", "0.1")


@pytest.fixture
async def agent_token(client: httpx.AsyncClient, alice: User) -> dict[str, str]:  # noqa: F811
    """Headers with Alice's personal API token (hc_live_...), as her agents authenticate."""
    response = await client.post("/api/user/token", headers=alice.headers)
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    assert token.startswith("hc_live_")
    return {"Authorization": f"Bearer {token}"}
