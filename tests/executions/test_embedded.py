"""The embedded default: with the workers in the API process, the app runs the flow worker, which
picks a new execution up and warms it up on the candles before its start."""

from __future__ import annotations

import asyncio

import httpx
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.market_data import CcxtExchanges, MarketDataService
from tests.executions.helpers import rsi_flow
from tests.marketdata.fake_binance import FakeBinance
from tests.sessions.conftest import session_settings
from tests.workspace.helpers import sign_up


async def test_the_app_runs_the_flow_worker_when_workers_are_embedded(
    settings: Settings, fake_binance: FakeBinance
) -> None:
    app = create_app(
        settings.model_copy(
            update={"registration_mode": "open", "db_pool_max": 8, "ordex_run_workers": True}
        )
    )
    app.state.market_data = MarketDataService(
        CcxtExchanges(base_urls={"binance": fake_binance.url}, timeout_ms=2000)
    )
    app.state.session_settings = session_settings()
    async with LifespanManager(app):
        assert app.state.flow_runner is not None
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user = await sign_up(http, "carol@example.com")
            created = await http.post(
                "/api/flows", json={"name": "RSI", **rsi_flow()}, headers=user.headers
            )
            assert created.status_code == 201, created.text
            started = await http.post(
                "/api/v1/trade/start",
                json={"symbol": "BTC/USDT", "initial_capital": 100_000, "mode": "PAPER",
                      "flow_id": created.json()["id"]},
                headers=user.headers,
            )  # fmt: skip
            assert started.status_code == 200, started.text
            session_id = started.json()["session_id"]
            async with asyncio.timeout(30):
                while True:
                    status = await http.get(
                        "/api/engine/status",
                        params={"executionId": session_id},
                        headers=user.headers,
                    )
                    if status.status_code == 200 and status.json()["currentTick"] > 0:
                        break
                    await asyncio.sleep(0.1)
            body = status.json()
            # Warmed up on the candles before the start; nothing sent for them.
            assert body["status"] == "running" and body["lastCandleAt"] is not None
            assert body["totalTrades"] == 0 and body["errorCount"] == 0
