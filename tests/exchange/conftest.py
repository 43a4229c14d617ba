"""Exchange fixtures: the platform's app over a real PostgreSQL and Redis, open registration (the
first user is ADMIN, later ones OPERATOR), a direct database connection and a Redis client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.exchange.helpers import Trader, sign_up
from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)
from tests.platform.helpers import ClientFactory


@pytest.fixture
async def client(client_factory: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with client_factory(registration_mode="open", db_pool_max=6) as c:
        yield c


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> Trader:
    return await sign_up(client, "admin@example.com")


@pytest.fixture
async def trader(client: httpx.AsyncClient, admin: Trader) -> Trader:
    return await sign_up(client, "trader@example.com")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()
