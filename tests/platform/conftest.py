"""API fixtures: the real app (lifespan and all) over httpx's ASGI transport, per-test data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic import SecretStr

from ordex.api.app import create_app
from ordex.config import RegistrationMode, Settings
from tests.platform.helpers import SERVER_API_TOKEN, ClientFactory, register


@pytest.fixture
def settings(database_url: str, redis_url: str, ordex_home: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=redis_url,
        ordex_home=ordex_home,
        jwt_secret=SecretStr("test-jwt-secret-0123456789abcdef0123456789"),
        api_token=SecretStr(SERVER_API_TOKEN),
        registration_mode=RegistrationMode.APPROVAL,
        # Cheap argon2id keeps the suite fast; production cost is the default.
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        db_pool_min=1,
        db_pool_max=4,
    )


@pytest.fixture
def client_factory(settings: Settings) -> ClientFactory:
    """Build a client for the app with some settings overridden (same database and Redis)."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(settings.model_copy(update=overrides))
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c

    return factory


@pytest.fixture
async def client(client_factory: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_factory() as c:
        yield c


@pytest.fixture
async def admin_token(client: httpx.AsyncClient) -> str:
    """Register the first user (ADMIN) and return their access token; cookies are cleared."""
    response = await register(client, "admin@havencap.io")
    assert response.status_code == 201, response.text
    client.cookies.clear()
    token: str = response.json()["accessToken"]
    return token
