"""`POST /admin/drain`: ADMIN only; runs the embedded workers, a no-op in production."""

from __future__ import annotations

from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from tests.exchange.helpers import Trader, sign_up


class RecordingRuntime:
    """Stands in for the embedded workers' runtime: the route only needs its `drain()`."""

    def __init__(self) -> None:
        self.drains = 0

    async def drain(self) -> dict[str, Any]:
        self.drains += 1
        return {"markets": {"BTC-PERP": {"lastSeq": 0}}}

    async def stop(self) -> None:
        """The app's lifespan stops the runtime it finds on shutdown."""


async def test_drain_is_admin_only_and_a_no_op_in_production(
    client: httpx.AsyncClient, admin: Trader, trader: Trader
) -> None:
    forbidden = await client.post("/admin/drain", headers=trader.headers)
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "error": {"code": "FORBIDDEN", "message": "Insufficient permissions"}
    }
    response = await client.post("/admin/drain", headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {"drained": False, "mode": "production"}


async def test_drain_runs_the_embedded_runtime(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"registration_mode": "open"}))
    async with LifespanManager(app) as manager:
        runtime = RecordingRuntime()
        app.state.exchange_runtime = runtime
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            admin = await sign_up(client, "admin@example.com")
            response = await client.post("/admin/drain", headers=admin.headers)
    assert response.status_code == 200
    assert response.json() == {
        "drained": True,
        "mode": "embedded",
        "markets": {"BTC-PERP": {"lastSeq": 0}},
    }
    assert runtime.drains == 1
