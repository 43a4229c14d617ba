"""Session fixtures: the real app with binance pointed at the local exchange-speaking server, the
session watcher polling fast, books fetched fresh for every paper order, two signed-in users, a
database connection, and (for the internal venue) the exchange's workers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.market_data import CcxtExchanges, MarketDataService
from ordex.services.venues import SessionSettings
from ordex.workers.runtime import ExchangeRuntime, load_markets
from tests.marketdata.conftest import fake_binance  # noqa: F401  (fixture)
from tests.marketdata.fake_binance import FakeBinance
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.sessions.helpers import SessionsApi
from tests.workspace.helpers import sign_up


def session_settings(**overrides: object) -> SessionSettings:
    values: dict[str, object] = {
        "ordex_paper_book_max_age_ms": 0,
        "ordex_session_watch_seconds": 0.05,
        "ordex_session_cancel_wait_ms": 5_000,
        **overrides,
    }
    return SessionSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def app(
    settings: Settings,  # noqa: F811
    fake_binance: FakeBinance,  # noqa: F811
) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update={"registration_mode": "open", "db_pool_max": 8}))
    app.state.market_data = MarketDataService(
        CcxtExchanges(base_urls={"binance": fake_binance.url}, timeout_ms=2000)
    )
    app.state.session_settings = session_settings()
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def api(
    app: FastAPI,
    redis_url: str,
    fake_binance: FakeBinance,  # noqa: F811
) -> AsyncIterator[SessionsApi]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        alice = await sign_up(http, "alice@example.com")
        bob = await sign_up(http, "bob@example.com")
        yield SessionsApi(http, alice, bob, redis_url, fake_binance)


@pytest.fixture
async def exchange_runtime(app: FastAPI) -> AsyncIterator[ExchangeRuntime]:
    """The exchange's workers (outbox, matchers, persister) for orders of the internal venue."""
    async with app.state.pool.acquire() as conn:
        markets = await load_markets(conn)
    runtime = ExchangeRuntime(app.state.pool, app.state.redis, markets)
    await runtime.start()
    app.state.exchange_runtime = runtime
    try:
        yield runtime
    finally:
        await runtime.stop()
        app.state.exchange_runtime = None
