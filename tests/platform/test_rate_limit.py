"""Login and register attempts are limited per client address, in Redis."""

from __future__ import annotations

import asyncio

from tests.platform.helpers import PASSWORD, ClientFactory


async def test_login_rate_limit(client_factory: ClientFactory) -> None:
    async with client_factory(login_rate_limit=3) as client:
        body = {"email": "nobody@example.com", "password": PASSWORD}
        statuses = [(await client.post("/api/auth/login", json=body)).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        limited = await client.post("/auth/login", json=body)  # both families share the counter
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) >= 1


async def test_register_rate_limit_survives_app_restart(client_factory: ClientFactory) -> None:
    async with client_factory(register_rate_limit=2) as client:
        for i in range(2):
            ok = await client.post(
                "/api/auth/register", json={"email": f"u{i}@example.com", "password": PASSWORD}
            )
            assert ok.status_code == 201
    # A new app process sees the same Redis counter.
    async with client_factory(register_rate_limit=2) as client:
        limited = await client.post(
            "/api/auth/register", json={"email": "u9@example.com", "password": PASSWORD}
        )
        assert limited.status_code == 429
        assert limited.json()["code"] == "RATE_LIMITED"


async def test_the_window_closes(client_factory: ClientFactory) -> None:
    async with client_factory(login_rate_limit=1, rate_limit_window_seconds=1) as client:
        body = {"email": "nobody@example.com", "password": PASSWORD}
        assert (await client.post("/api/auth/login", json=body)).status_code == 401
        limited = await client.post("/api/auth/login", json=body)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        await asyncio.sleep(1.1)
        assert (await client.post("/api/auth/login", json=body)).status_code == 401
