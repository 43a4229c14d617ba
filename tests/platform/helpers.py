"""Small helpers shared by the platform tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

# client_factory(**settings_overrides) -> async context manager yielding a client
ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]
SERVER_API_TOKEN = "server-api-token-for-tests"
PASSWORD = "mypassword123"


async def register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/auth/register", json={"email": email, "password": password, **extra}
    )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
