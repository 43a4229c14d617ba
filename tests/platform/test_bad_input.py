"""Bad JSON, wrong types, missing fields, oversize bodies, unknown routes: a clear 4xx, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from tests.platform.helpers import ClientFactory

CASES = [
    ("bad json", b"{not json", "application/json", "INVALID_JSON"),
    ("array body", b"[1,2]", "application/json", "VALIDATION_ERROR"),
    ("wrong types", b'{"email": 5, "password": ["x"]}', "application/json", "VALIDATION_ERROR"),
    ("missing fields", b"{}", "application/json", "VALIDATION_ERROR"),
    (
        "short password",
        b'{"email": "a@b.io", "password": "short"}',
        "application/json",
        "VALIDATION_ERROR",
    ),
    (
        "not an email",
        b'{"email": "nobody", "password": "long-password"}',
        "application/json",
        "VALIDATION_ERROR",
    ),
    (
        "form body",
        b"email=a@b.io&password=long-password",
        "application/x-www-form-urlencoded",
        "VALIDATION_ERROR",
    ),
    ("empty body", b"", "application/json", "VALIDATION_ERROR"),
    ("invalid utf-8", b'{"email": "\xff"}', "application/json", None),
]


PATHS = ["/api/auth/register", "/auth/register", "/api/auth/login", "/auth/login"]
# Login accepts any password length; only registration enforces the minimum.
MATRIX = [
    pytest.param(path, *case, id=f"{path}-{case[0]}")
    for path in PATHS
    for case in CASES
    if not (case[0] == "short password" and path.endswith("/login"))
]


@pytest.mark.parametrize(("path", "label", "content", "content_type", "code"), MATRIX)
async def test_bad_bodies_get_400(
    client: httpx.AsyncClient,
    path: str,
    label: str,
    content: bytes,
    content_type: str,
    code: str | None,
) -> None:
    response = await client.post(path, content=content, headers={"content-type": content_type})
    assert response.status_code == 400, (label, response.text)
    body = response.json()
    actual = body["code"] if path.startswith("/api") else body["error"]["code"]
    if code is not None:
        assert actual == code


async def test_oversize_bodies_get_413(client_factory: ClientFactory) -> None:
    async with client_factory(max_body_bytes=2048) as client:
        big = b'{"email": "a@b.io", "password": "' + b"x" * 4096 + b'"}'
        declared = await client.post(
            "/api/auth/login", content=big, headers={"content-type": "application/json"}
        )
        assert declared.status_code == 413
        assert declared.json()["code"] == "PAYLOAD_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b"x" * 1024

        streamed = await client.post(
            "/auth/login", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "Not found", "code": "NOT_FOUND"}
    root_missing = await client.get("/nothing-here")
    assert root_missing.json() == {"error": {"code": "NOT_FOUND", "message": "Not found"}}
    wrong_method = await client.delete("/api/auth/login")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_malformed_credentials_get_401(client: httpx.AsyncClient) -> None:
    for headers in (
        {"Authorization": "Bearer"},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Bearer eyJ.garbage.token"},
        {"X-API-Key": "hc_live_" + "0" * 40},
        {"Cookie": "auth_token=%%%"},
    ):
        response = await client.get("/api/auth/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "UNAUTHENTICATED"


async def test_unexpected_errors_give_an_envelope_without_a_trace(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/api/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("secret internal detail")

    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error", "code": "INTERNAL_ERROR"}
    assert "secret" not in response.text
