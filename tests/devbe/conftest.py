"""Fixtures of the index read routes (`/api/v1`, `/api/devbe`): the real app with a signed-in
client, over a database seeded with `seed.py` or filled by the ingest from the dev chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from ordex.api.app import create_app
from ordex.config import Settings
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.workspace.helpers import sign_up


@dataclass(frozen=True)
class Reader:
    http: httpx.AsyncClient
    app: FastAPI


@pytest.fixture
async def reader(settings: Settings) -> AsyncIterator[Reader]:  # noqa: F811
    app = create_app(settings.model_copy(update={"registration_mode": "open"}))
    app.state.eth_rpc_url = ""  # no node unless a test points it at a dev chain
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            user = await sign_up(http, "reader@example.com")
            http.headers.update(user.headers)
            yield Reader(http, app)
