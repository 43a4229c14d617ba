"""Market-data fixtures: the real app with its ccxt instances pointed at a local server that answers
like Binance, and a signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.market_data import CcxtExchanges, MarketDataService
from ordex.services.market_data_settings import MarketDataSettings
from ordex.services.proxy import CorsProxy
from tests.marketdata.fake_binance import FakeBinance, start_fake_binance
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.platform.helpers import bearer, register


@pytest.fixture
async def fake_binance() -> AsyncIterator[FakeBinance]:
    fake, runner = await start_fake_binance()
    try:
        yield fake
    finally:
        await runner.cleanup()


@dataclass
class MarketDataClient:
    http: httpx.AsyncClient
    token: str
    user_id: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    async def post(self, path: str, body: object) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.headers)

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.headers)


@pytest.fixture
async def md(
    settings: Settings,  # noqa: F811
    fake_binance: FakeBinance,
) -> AsyncIterator[MarketDataClient]:
    app = create_app(settings)
    app.state.market_data = MarketDataService(
        CcxtExchanges(base_urls={"binance": fake_binance.url}, timeout_ms=1000),
        watch_timeout_seconds=1.0,
    )
    app.state.cors_proxy = CorsProxy(
        MarketDataSettings(
            _env_file=None,  # type: ignore[call-arg]
            ordex_proxy_allowed_hosts=["127.0.0.1"],
            ordex_proxy_max_bytes=4096,
            ordex_proxy_max_timeout_ms=1000,
        )
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await register(http, "trader@example.com")
            assert response.status_code == 201, response.text
            http.cookies.clear()
            body = response.json()
            yield MarketDataClient(http, body["accessToken"], body["user"]["id"])
