"""Auth examples of the workspace (profitmaker) and exchange contracts."""

from __future__ import annotations

import httpx

from tests.platform.helpers import PASSWORD, ClientFactory, bearer, register


async def test_workspace_register_login_me_logout_with_bearer(client: httpx.AsyncClient) -> None:
    registered = await register(client, "trader@example.com", name="Trader")
    assert registered.status_code == 201
    body = registered.json()
    assert {"id", "email", "name"} <= set(body["user"])
    assert body["user"]["name"] == "Trader"
    assert body["token"]
    client.cookies.clear()

    logged_in = await client.post(
        "/api/auth/login", json={"email": "trader@example.com", "password": PASSWORD}
    )
    assert logged_in.status_code == 200
    token = logged_in.json()["token"]
    client.cookies.clear()

    me = await client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["user"]["id"] == body["user"]["id"]

    out = await client.post("/api/auth/logout", headers=bearer(token))
    assert out.status_code == 200
    assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 401


async def test_exchange_register_and_login(client: httpx.AsyncClient) -> None:
    registered = await client.post(
        "/auth/register", json={"email": "trader@example.com", "password": "long-password"}
    )
    assert registered.status_code == 201
    user_id = registered.json()["userId"]
    assert registered.json() == {"userId": user_id}

    logged_in = await client.post(
        "/auth/login", json={"email": "trader@example.com", "password": "long-password"}
    )
    assert logged_in.status_code == 200
    assert set(logged_in.json()) == {"token", "userId"}
    assert logged_in.json()["userId"] == user_id

    me = await client.get("/api/auth/me", headers=bearer(logged_in.json()["token"]))
    assert me.json()["user"]["userId"] == user_id


async def test_exchange_errors_use_the_root_envelope(client: httpx.AsyncClient) -> None:
    await client.post(
        "/auth/register", json={"email": "t@example.com", "password": "long-password"}
    )
    wrong = await client.post(
        "/auth/login", json={"email": "t@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {"code": "UNAUTHENTICATED", "message": "Invalid email or password"}
    }
    taken = await client.post(
        "/auth/register", json={"email": "T@example.com", "password": "long-password"}
    )
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "EMAIL_TAKEN"
    invalid = await client.post("/auth/register", json={"email": "t@example.com"})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "VALIDATION_ERROR"
    assert invalid.json()["error"]["field"] == "password"


async def test_pending_exchange_user_cannot_log_in(client: httpx.AsyncClient) -> None:
    await client.post(
        "/auth/register", json={"email": "a@example.com", "password": "long-password"}
    )
    second = await client.post(
        "/auth/register", json={"email": "b@example.com", "password": "long-password"}
    )
    assert second.status_code == 201
    denied = await client.post(
        "/auth/login", json={"email": "b@example.com", "password": "long-password"}
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "ACCOUNT_PENDING"


async def test_open_registration_gives_operators_a_token(client_factory: ClientFactory) -> None:
    async with client_factory(registration_mode="open") as c:
        await register(c, "admin@example.com")
        second = await register(c, "op@example.com")
        assert second.status_code == 201
        assert second.json()["user"]["role"] == "OPERATOR"
        assert second.json()["accessToken"]
