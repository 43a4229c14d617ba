"""The credential cache: a revocation in this process is seen at once, by every app of the
process; one made elsewhere (another API process) within AUTH_CACHE_SECONDS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from ordex.db.users import UserRow
from ordex.security import AccessClaims, InvalidTokenError
from ordex.services import auth as auth_service
from ordex.services.auth import CredentialKind, Principal
from ordex.services.credential_cache import (
    CredentialCache,
    credentials_changed,
    credentials_revision,
)
from tests.platform.helpers import ClientFactory, bearer, login, register


async def _revoke_in_database(database_url: str) -> None:
    """What another API process's logout writes, without this process hearing of it."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE sessions SET revoked_at = now()")
    finally:
        await conn.close()


async def test_logout_in_another_app_of_the_process_ends_a_cached_session(
    client_factory: ClientFactory,
) -> None:
    async with client_factory() as first, client_factory() as second:
        token = (await register(first, "admin@havencap.io")).json()["accessToken"]
        first.cookies.clear()
        assert (await first.get("/api/auth/me", headers=bearer(token))).status_code == 200
        assert (await second.post("/api/auth/logout", headers=bearer(token))).status_code == 200
        assert (await first.get("/api/auth/me", headers=bearer(token))).status_code == 401


async def test_a_revocation_from_another_process_is_seen_once_the_entry_is_gone(
    client_factory: ClientFactory, database_url: str
) -> None:
    async with client_factory(auth_cache_seconds=60) as client:
        token = (await register(client, "admin@havencap.io")).json()["accessToken"]
        client.cookies.clear()
        assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 200
        await _revoke_in_database(database_url)
        # Trusted for at most AUTH_CACHE_SECONDS; what clears the cache ends it at once.
        assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 200
        credentials_changed()
        assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 401


async def test_without_the_cache_every_request_asks_the_database(
    client_factory: ClientFactory, database_url: str
) -> None:
    async with client_factory(auth_cache_seconds=0) as client:
        token = (await register(client, "admin@havencap.io")).json()["accessToken"]
        client.cookies.clear()
        assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 200
        await _revoke_in_database(database_url)
        assert (await client.get("/api/auth/me", headers=bearer(token))).status_code == 401


async def test_a_demoted_admin_loses_admin_routes_at_once(
    client: httpx.AsyncClient, admin_token: str
) -> None:
    admin = bearer(admin_token)
    await register(client, "second@havencap.io")
    client.cookies.clear()
    users = (await client.get("/api/admin/users", headers=admin)).json()["users"]
    second_id = next(u["id"] for u in users if u["email"] == "second@havencap.io")
    promoted = await client.patch(
        f"/api/admin/users/{second_id}", json={"role": "ADMIN"}, headers=admin
    )
    assert promoted.status_code == 200
    second = bearer((await login(client, "second@havencap.io")).json()["accessToken"])
    client.cookies.clear()
    assert (await client.get("/api/admin/users", headers=second)).status_code == 200
    demoted = await client.patch(
        f"/api/admin/users/{second_id}", json={"role": "OPERATOR"}, headers=admin
    )
    assert demoted.status_code == 200
    assert (await client.get("/api/admin/users", headers=second)).status_code == 403


def _principal() -> Principal:
    now = datetime.now(UTC)
    user = UserRow(
        id=uuid.uuid4(),
        email="a@b.io",
        name="A",
        password_hash="x",
        role="OPERATOR",
        status="ACTIVE",
        created_at=now,
        updated_at=now,
        last_login_at=None,
    )
    return Principal(user=user, kind=CredentialKind.API_TOKEN)


def test_a_lookup_overtaken_by_a_revocation_is_not_kept() -> None:
    cache = CredentialCache(60)
    revision = credentials_revision()
    credentials_changed()  # written while the lookup ran: what it read may predate it
    cache.put("token", _principal(), revision, None)
    assert cache.get("token") is None
    cache.put("token", _principal(), credentials_revision(), None)
    assert cache.get("token") is not None


def test_nothing_is_kept_past_the_credential_expiry() -> None:
    cache = CredentialCache(60)
    expired = datetime.now(UTC) - timedelta(seconds=1)
    cache.put("token", _principal(), credentials_revision(), expired)
    assert cache.get("token") is None


def test_a_remembered_token_is_refused_once_expired() -> None:
    key, token = "key", "token"
    auth_service._decoded[key, token] = AccessClaims(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        jti="jti",
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    with pytest.raises(InvalidTokenError):
        auth_service._access_claims(key, token)
    assert (key, token) not in auth_service._decoded
