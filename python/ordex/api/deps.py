"""Request dependencies, as `Annotated` aliases: settings, database connection, Redis, principal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import asyncpg
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis

from ordex.config import Settings
from ordex.db.types import Connection
from ordex.db.users import UserRow
from ordex.services import auth as auth_service
from ordex.services import ratelimit
from ordex.services.auth import Principal
from ordex.services.errors import unauthenticated
from ordex.services.users import Role

AUTH_COOKIE = "auth_token"


# The accessors are `async def`: FastAPI runs a plain `def` dependency in its thread pool, two
# thread hand-offs per request for reading an attribute.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_db(request: Request) -> AsyncIterator[Connection]:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        yield conn


DbConn = Annotated[Connection, Depends(get_db)]


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


RedisDep = Annotated[Redis, Depends(get_redis)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


def presented_credential(request: Request) -> str | None:
    """Authorization: Bearer, then X-API-Key, then the auth_token cookie."""
    return (
        bearer_token(request)
        or (request.headers.get("x-api-key") or "").strip()
        or request.cookies.get(AUTH_COOKIE)
        or None
    )


# Declared for the OpenAPI document (so /docs can authorize); presented_credential() does the work.
_bearer_scheme = HTTPBearer(
    auto_error=False, description="access token, hc_live_ token or API_TOKEN"
)
_api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)
_cookie_scheme = APIKeyCookie(name=AUTH_COOKIE, auto_error=False)


async def get_principal(
    request: Request,
    conn: DbConn,
    settings: SettingsDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)] = None,
    _api_key: Annotated[str | None, Security(_api_key_scheme)] = None,
    _cookie: Annotated[str | None, Security(_cookie_scheme)] = None,
) -> Principal:
    token = presented_credential(request)
    if token is None:
        raise unauthenticated()
    principal = await auth_service.resolve(conn, settings, token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: CurrentPrincipal) -> UserRow:
    return principal.user


CurrentUser = Annotated[UserRow, Depends(get_current_user)]


async def require_admin(principal: CurrentPrincipal) -> Principal:
    auth_service.ensure_role(principal, Role.ADMIN)
    return principal


AdminPrincipal = Annotated[Principal, Depends(require_admin)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def rate_limited(action: str, limit_setting: str) -> Callable[..., Awaitable[None]]:
    """Dependency that counts one attempt of `action` per client address."""

    async def dependency(request: Request, redis: RedisDep, settings: SettingsDep) -> None:
        await ratelimit.hit(
            redis,
            f"{action}:{client_ip(request)}",
            limit=int(getattr(settings, limit_setting)),
            window_seconds=settings.rate_limit_window_seconds,
        )

    return dependency


LoginRateLimit = Depends(rate_limited("login", "login_rate_limit"))
RegisterRateLimit = Depends(rate_limited("register", "register_rate_limit"))
