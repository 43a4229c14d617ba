"""Live-stream fixtures: the real app served by granian (embedded, in the test's event loop) on a
loopback port, with ccxt pointed at the local Binance-like server, and signed-in users."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from granian.constants import Interfaces
from granian.server.embed import Server

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.market_data import CcxtExchanges, MarketDataService
from tests.marketdata.fake_binance import FakeBinance, start_fake_binance
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.platform.helpers import register


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    app: FastAPI
    url: str
    ws_url: str
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Any:
        return self.app.state.realtime

    async def sign_up(self, email: str) -> tuple[str, str]:
        """(access token, user id) of a new active user."""
        response = await register(self.http, email)
        assert response.status_code == 201, response.text
        self.http.cookies.clear()
        body = response.json()
        return body["accessToken"], body["user"]["id"]


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = Server(
        app, address="127.0.0.1", port=port, interface=Interfaces.ASGI, log_enabled=False
    )
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe.get(f"{url}/health")).status_code < 500:
                        break
                await asyncio.sleep(0.05)
        yield url
    finally:
        server.stop()  # type: ignore[no-untyped-call]
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def fake_binance() -> AsyncIterator[FakeBinance]:
    fake, runner = await start_fake_binance()
    try:
        yield fake
    finally:
        await runner.cleanup()


@pytest.fixture
async def live(
    settings: Settings,  # noqa: F811
    fake_binance: FakeBinance,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[LiveServer]:
    monkeypatch.setenv("ORDEX_CCXT_POLL_SECONDS", "0.1")
    app = create_app(settings.model_copy(update={"registration_mode": "open", "access_log": False}))
    app.state.market_data = MarketDataService(
        CcxtExchanges(base_urls={"binance": fake_binance.url}, timeout_ms=2000)
    )
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        yield LiveServer(app, url, url.replace("http://", "ws://"), http)
