"""Roles: ADMIN-only routes, approval, the last-admin guard."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from tests.platform.helpers import bearer, login, register


async def _operator_token(
    client: httpx.AsyncClient, admin_token: str, email: str
) -> tuple[str, str]:
    await register(client, email)
    users = (await client.get("/api/admin/users", headers=bearer(admin_token))).json()["users"]
    user_id = next(u["userId"] for u in users if u["email"] == email)
    await client.patch(
        f"/api/admin/users/{user_id}",
        json={"role": "OPERATOR", "status": "ACTIVE"},
        headers=bearer(admin_token),
    )
    token: str = (await login(client, email)).json()["accessToken"]
    client.cookies.clear()
    return user_id, token


async def test_operator_may_not_use_admin_routes(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    _, token = await _operator_token(client, admin_token, "op@havencap.io")
    listed = await client.get("/api/admin/users", headers=bearer(token))
    assert listed.status_code == 403
    assert listed.json() == {"error": "Insufficient permissions", "code": "FORBIDDEN"}
    patched = await client.patch(
        f"/api/admin/users/{uuid.uuid4()}", json={"role": "ADMIN"}, headers=bearer(token)
    )
    assert patched.status_code == 403


async def test_last_admin_cannot_be_demoted(client: httpx.AsyncClient, admin_token: str) -> None:
    me = (await client.get("/api/auth/me", headers=bearer(admin_token))).json()["user"]
    for change in ({"role": "OPERATOR"}, {"status": "DISABLED"}, {"role": "PENDING"}):
        response = await client.patch(
            f"/api/admin/users/{me['userId']}", json=change, headers=bearer(admin_token)
        )
        assert response.status_code == 409, change
        assert response.json()["code"] == "LAST_ADMIN"

    # With a second admin, the first may step down.
    other_id, _ = await _operator_token(client, admin_token, "second@havencap.io")
    promoted = await client.patch(
        f"/api/admin/users/{other_id}", json={"role": "ADMIN"}, headers=bearer(admin_token)
    )
    assert promoted.json()["user"]["role"] == "ADMIN"
    stepped_down = await client.patch(
        f"/api/admin/users/{me['userId']}", json={"role": "OPERATOR"}, headers=bearer(admin_token)
    )
    assert stepped_down.status_code == 200
    assert stepped_down.json()["user"]["role"] == "OPERATOR"


async def test_patch_validation(client: httpx.AsyncClient, admin_token: str) -> None:
    auth = bearer(admin_token)
    unknown = await client.patch(
        f"/api/admin/users/{uuid.uuid4()}", json={"role": "OPERATOR"}, headers=auth
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "USER_NOT_FOUND"
    assert (
        await client.patch("/api/admin/users/not-a-uuid", json={}, headers=auth)
    ).status_code == 404
    me = (await client.get("/api/auth/me", headers=auth)).json()["user"]
    bad_role = await client.patch(
        f"/api/admin/users/{me['userId']}", json={"role": "GOD"}, headers=auth
    )
    assert bad_role.status_code == 400
    assert bad_role.json()["field"] == "role"
    extra = await client.patch(
        f"/api/admin/users/{me['userId']}", json={"password": "x"}, headers=auth
    )
    assert extra.status_code == 400


async def test_approval_by_role_alone_activates(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    await register(client, "p@havencap.io")
    users = (await client.get("/api/admin/users", headers=bearer(admin_token))).json()["users"]
    response = await client.patch(
        f"/api/admin/users/{users[1]['userId']}",
        json={"role": "OPERATOR"},
        headers=bearer(admin_token),
    )
    assert response.json()["user"]["status"] == "ACTIVE"
    assert (await login(client, "p@havencap.io")).status_code == 200


async def test_concurrent_first_registrations_make_one_admin(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(register(client, f"u{i}@havencap.io") for i in range(4)))
    assert all(r.status_code == 201 for r in responses)
    admins = [r for r in responses if r.json().get("user", {}).get("role") == "ADMIN"]
    assert len(admins) == 1
