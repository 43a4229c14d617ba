"""Browser fixtures: the real app (embedded workers, so orders match) served by granian on a
loopback port, ccxt's `binance` pointed at the local Binance-like server, and Debian's Chromium
driven by Playwright (no browser download: `executable_path`)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from playwright import async_api as pw

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.market_data import CcxtExchanges, MarketDataService
from tests.marketdata.fake_binance import FakeBinance
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.platform.helpers import PASSWORD
from tests.realtime.conftest import fake_binance, serve  # noqa: F401  (fixture)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WEB_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Hooks of a conftest see every collected item: only this folder's browser tests are skipped.
    if CHROMIUM is not None:
        return
    skip = pytest.mark.skip(
        reason="the web terminal tests need Debian's chromium (apt-get install chromium); "
        ".ci/run installs it"
    )
    for item in items:
        if WEB_TESTS in Path(str(item.path)).parents and "browser" in item.fixturenames:
            item.add_marker(skip)


VIEWPORT = {"width": 1280, "height": 800}
EXPECT_TIMEOUT_MS = 20_000
# Explicit waits, never sleeps: every `expect` retries up to this long (CI shares 2 cores).
pw.expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@dataclass
class WebServer:
    app: FastAPI
    url: str
    fake_binance: FakeBinance

    async def api_user(self, email: str) -> httpx.AsyncClient:
        """A signed-in HTTP client (the cookie) of a new user; needs open registration."""
        client = httpx.AsyncClient(base_url=self.url)
        response = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 201, response.text
        if "user" not in response.json():
            raise AssertionError("api_user needs an approved account")
        return client


@pytest.fixture
def registration_mode() -> str:
    """Open by default; a test parametrizes it to "approval" to go through the admin."""
    return "open"


@pytest.fixture
async def web(
    settings: Settings,  # noqa: F811
    fake_binance: FakeBinance,  # noqa: F811
    registration_mode: str,
) -> AsyncIterator[WebServer]:
    app = create_app(
        settings.model_copy(
            update={
                "registration_mode": registration_mode,
                "access_log": False,
                "ordex_run_workers": True,
                "db_pool_max": 8,
                "register_rate_limit": 50,
                "login_rate_limit": 50,
            }
        )
    )
    app.state.market_data = MarketDataService(
        CcxtExchanges(base_urls={"binance": fake_binance.url}, timeout_ms=3000)
    )
    async with serve(app) as url:
        yield WebServer(app, url, fake_binance)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    assert CHROMIUM is not None
    async with pw.async_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        instance = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Screenshots of each flow, under the test's own output folder."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


async def new_page(browser: Any, web: WebServer, **options: Any) -> Any:
    context = await browser.new_context(
        base_url=web.url, viewport=options.pop("viewport", VIEWPORT), **options
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    page.errors = errors  # uncaught script errors and CSP violations, checked by the tests
    return page


async def sign_up(page: Any, email: str, password: str = PASSWORD) -> None:
    await page.goto("/")
    await page.get_by_role("tab", name="Create account").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Create account").click()
