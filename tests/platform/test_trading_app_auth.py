"""The trading-app contract's auth examples: cookie flow, approval, admin users, refresh."""

from __future__ import annotations

import re

import httpx

from tests.platform.helpers import PASSWORD, bearer, login, register

ISO_MILLIS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def test_first_user_is_admin_with_token_and_cookie(client: httpx.AsyncClient) -> None:
    response = await register(client, "trader@havencap.io")
    assert response.status_code == 201
    body = response.json()
    user = body["user"]
    assert user["role"] == "ADMIN"
    assert user["email"] == "trader@havencap.io"
    assert user["userId"] == user["id"]
    assert ISO_MILLIS.match(user["createdAt"])
    assert body["accessToken"].startswith("eyJ")
    assert body["token"] == body["accessToken"]
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("auth_token=")
    assert "HttpOnly" in set_cookie
    assert "samesite=lax" in set_cookie.lower()


async def test_later_users_wait_for_approval(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await register(client, "trader@havencap.io")
    assert response.status_code == 201
    assert response.json() == {
        "message": "Registration successful. Your account is pending admin approval."
    }
    assert "set-cookie" not in response.headers

    denied = await login(client, "trader@havencap.io")
    assert denied.status_code == 403
    assert denied.json()["code"] == "ACCOUNT_PENDING"

    users = (await client.get("/api/admin/users", headers=bearer(admin_token))).json()["users"]
    assert [(u["email"], u["role"], u["status"]) for u in users] == [
        ("admin@havencap.io", "ADMIN", "ACTIVE"),
        ("trader@havencap.io", "PENDING", "PENDING"),
    ]
    pending_id = users[1]["userId"]
    approved = await client.patch(
        f"/api/admin/users/{pending_id}",
        json={"role": "OPERATOR", "status": "ACTIVE"},
        headers=bearer(admin_token),
    )
    assert approved.status_code == 200
    assert approved.json()["user"] == {**users[1], "role": "OPERATOR", "status": "ACTIVE"}

    allowed = await login(client, "trader@havencap.io")
    assert allowed.status_code == 200
    assert allowed.json()["user"]["role"] == "OPERATOR"


async def test_cookie_flow_login_me_logout(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": "admin@havencap.io", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"user", "accessToken"}
    assert body["user"]["role"] == "ADMIN"
    assert client.cookies.get("auth_token") == body["accessToken"]

    me = await client.get("/api/auth/me")  # cookie only, no header
    assert me.status_code == 200
    assert me.json()["user"]["email"] == "admin@havencap.io"

    out = await client.post("/api/auth/logout")
    assert out.status_code == 200
    assert out.json() == {"message": "Logged out"}
    assert client.cookies.get("auth_token") is None

    # The session is revoked server-side, so the old token is refused at once.
    again = await client.get("/api/auth/me", headers=bearer(body["accessToken"]))
    assert again.status_code == 401
    assert again.json()["code"] == "UNAUTHENTICATED"


async def test_post_refresh_rotates_the_token(client: httpx.AsyncClient) -> None:
    first = (await register(client, "trader@havencap.io")).json()["accessToken"]
    refreshed = await client.post("/api/auth/refresh")  # cookie from register
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["user"]["email"] == "trader@havencap.io"
    new = body["accessToken"]
    assert new != first
    assert client.cookies.get("auth_token") == new

    assert (await client.get("/api/auth/me", headers=bearer(first))).status_code == 401
    assert (await client.get("/api/auth/me", headers=bearer(new))).status_code == 200


async def test_replaying_a_rotated_token_ends_the_session(client: httpx.AsyncClient) -> None:
    first = (await register(client, "trader@havencap.io")).json()["accessToken"]
    client.cookies.clear()
    new = (await client.post("/api/auth/refresh", headers=bearer(first))).json()["accessToken"]
    replay = await client.post("/api/auth/refresh", headers=bearer(first))
    assert replay.status_code == 401
    assert (await client.get("/api/auth/me", headers=bearer(new))).status_code == 401


async def test_get_refresh_redirects_to_callback(client: httpx.AsyncClient) -> None:
    old = (await register(client, "trader@havencap.io")).json()["accessToken"]
    response = await client.get("/api/auth/refresh", params={"callbackUrl": "/markets"})
    assert response.status_code == 302
    assert response.headers["location"] == "/markets"
    assert client.cookies.get("auth_token") not in (None, old)


async def test_get_refresh_refuses_foreign_callbacks(client: httpx.AsyncClient) -> None:
    await register(client, "trader@havencap.io")
    for target in ("https://evil.example/x", "//evil.example", "/\\evil.example", "markets"):
        response = await client.get("/api/auth/refresh", params={"callbackUrl": target})
        assert response.status_code == 400, target
        assert response.json()["code"] == "INVALID_CALLBACK_URL"


async def test_get_refresh_without_session(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/auth/refresh", params={"callbackUrl": "/markets"})
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"


async def test_login_wrong_password(client: httpx.AsyncClient, admin_token: str) -> None:
    response = await login(client, "admin@havencap.io", "wrong-password")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid email or password", "code": "UNAUTHENTICATED"}
    unknown = await login(client, "nobody@havencap.io")
    assert unknown.status_code == 401
