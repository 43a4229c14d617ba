"""Workspace fixtures: the platform's app, database and Redis fixtures, with open registration so
that several active users can be signed up in one test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)
from tests.platform.helpers import ClientFactory
from tests.workspace.helpers import User, sign_up


@pytest.fixture
async def client(client_factory: ClientFactory) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with client_factory(registration_mode="open") as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> User:
    return await sign_up(client, "alice@example.com", name="Alice")


@pytest.fixture
async def bob(client: httpx.AsyncClient, alice: User) -> User:
    return await sign_up(client, "bob@example.com", name="Bob")
