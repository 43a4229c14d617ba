"""Personal API tokens, the server API_TOKEN, X-API-Key, expiry and revocation."""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx
import jwt

from ordex.config import Settings
from ordex.security import encode_access_token
from tests.platform.helpers import SERVER_API_TOKEN, bearer, login, register


async def test_personal_api_token_lifecycle(
    client: httpx.AsyncClient, admin_token: str, database_url: str
) -> None:
    auth = bearer(admin_token)
    assert (await client.get("/api/user/token", headers=auth)).json() == {"exists": False}

    created = await client.post("/api/user/token", headers=auth)
    assert created.status_code == 201
    token = created.json()["token"]
    assert re.fullmatch(r"hc_live_[0-9a-f]{40}", token)

    status = (await client.get("/api/user/token", headers=auth)).json()
    assert status["exists"] is True
    assert status["createdAt"].endswith("Z")

    # Stored hashed: the raw token appears nowhere in the database.
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT token_hash FROM api_tokens")
    finally:
        await conn.close()
    assert len(rows) == 1
    assert token not in rows[0]["token_hash"]

    for headers in (bearer(token), {"X-API-Key": token}):
        me = await client.get("/api/auth/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["user"]["email"] == "admin@havencap.io"

    revoked = await client.delete("/api/user/token", headers=auth)
    assert revoked.json() == {"message": "Token revoked"}
    assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/user/token", headers=auth)).json() == {"exists": False}
    assert (await client.delete("/api/user/token", headers=auth)).status_code == 404


async def test_new_api_token_replaces_the_old(client: httpx.AsyncClient, admin_token: str) -> None:
    auth = bearer(admin_token)
    first = (await client.post("/api/user/token", headers=auth)).json()["token"]
    second = (await client.post("/api/user/token", headers=auth)).json()["token"]
    assert first != second
    assert (await client.get("/api/auth/me", headers=bearer(first))).status_code == 401
    assert (await client.get("/api/auth/me", headers=bearer(second))).status_code == 200


async def test_server_api_token_acts_as_admin(client: httpx.AsyncClient) -> None:
    # Before any admin exists the server token has nobody to act as.
    assert (await client.get("/api/auth/me", headers=bearer(SERVER_API_TOKEN))).status_code == 401
    await register(client, "admin@havencap.io")
    client.cookies.clear()
    for headers in (bearer(SERVER_API_TOKEN), {"X-API-Key": SERVER_API_TOKEN}):
        users = await client.get("/api/admin/users", headers=headers)
        assert users.status_code == 200
        assert users.json()["users"][0]["email"] == "admin@havencap.io"
    assert (await client.get("/api/auth/me", headers=bearer("wrong-token"))).status_code == 401


def _claims(token: str) -> dict[str, str]:
    claims: dict[str, str] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_expired_access_token_is_refused_but_refreshable(
    client: httpx.AsyncClient, settings: Settings, admin_token: str
) -> None:
    claims = _claims(admin_token)
    expired = encode_access_token(
        settings.jwt_key(),
        uuid.UUID(claims["sub"]),
        uuid.UUID(claims["sid"]),
        claims["jti"],
        ttl_seconds=-30,
    )
    response = await client.get("/api/auth/me", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.json()["error"]

    refreshed = await client.post("/api/auth/refresh", headers=bearer(expired))
    assert refreshed.status_code == 200
    fresh = refreshed.json()["accessToken"]
    assert (await client.get("/api/auth/me", headers=bearer(fresh))).status_code == 200


async def test_tampered_or_foreign_tokens_are_refused(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    claims = _claims(admin_token)
    forged = jwt.encode(
        {**claims, "exp": 4102444800},
        "another-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    assert (await client.get("/api/auth/me", headers=bearer(forged))).status_code == 401
    none_alg = jwt.encode(claims, "", algorithm="none")
    assert (await client.get("/api/auth/me", headers=bearer(none_alg))).status_code == 401


async def test_disabling_a_user_ends_their_access(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    admin = bearer(admin_token)
    await register(client, "op@havencap.io")
    users = (await client.get("/api/admin/users", headers=admin)).json()["users"]
    op_id = users[1]["userId"]
    await client.patch(f"/api/admin/users/{op_id}", json={"role": "OPERATOR"}, headers=admin)
    op_token = (await login(client, "op@havencap.io")).json()["accessToken"]
    client.cookies.clear()
    api_token = (await client.post("/api/user/token", headers=bearer(op_token))).json()["token"]

    disabled = await client.patch(
        f"/api/admin/users/{op_id}", json={"status": "DISABLED"}, headers=admin
    )
    assert disabled.json()["user"]["status"] == "DISABLED"
    assert (await client.get("/api/auth/me", headers=bearer(op_token))).status_code == 401
    assert (await client.get("/api/auth/me", headers=bearer(api_token))).status_code == 401
    denied = await login(client, "op@havencap.io")
    assert denied.status_code == 403
    assert denied.json()["code"] == "ACCOUNT_DISABLED"


async def test_expired_session_cannot_be_used_or_refreshed(
    client: httpx.AsyncClient, admin_token: str, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    assert (await client.get("/api/auth/me", headers=bearer(admin_token))).status_code == 401
    assert (await client.post("/api/auth/refresh", headers=bearer(admin_token))).status_code == 401
