"""Manual-order fixtures: the platform's app over a real PostgreSQL and Redis with the exchange
workers running in the API process (outbox, matchers, persister), as the embedded default runs
them; open registration (the first user is ADMIN, later ones OPERATOR)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.exchange.helpers import Trader, sign_up
from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)
from tests.platform.helpers import ClientFactory


@pytest.fixture
async def client(
    client_factory: ClientFactory,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[httpx.AsyncClient]:
    # Generous: a slow shared machine must not turn an answer into a timeout.
    monkeypatch.setenv("ORDEX_ORDER_WAIT_MS", "10000")
    async with client_factory(registration_mode="open", ordex_run_workers=True, db_pool_max=8) as c:
        yield c


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Trader:
    return await sign_up(client, "admin@example.com")


@pytest.fixture
async def trader(client: httpx.AsyncClient, admin: Trader) -> Trader:
    return await sign_up(client, "trader@example.com")
