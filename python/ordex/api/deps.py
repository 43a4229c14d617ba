"""Request dependencies, as `Annotated` aliases: settings, database connection, Redis, principal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPBearer
from fastapi.security.base import SecurityBase

from ordex.api.middleware import REQUEST_CONNECTION
from ordex.config import Settings
from ordex.db.types import Connection
from ordex.db.users import UserRow
from ordex.redis_client import RedisClient
from ordex.services import auth as auth_service
from ordex.services import ratelimit
from ordex.services.auth import Principal
from ordex.services.credential_cache import CredentialCache, credentials_revision
from ordex.services.errors import unauthenticated
from ordex.services.users import Role

AUTH_COOKIE = "auth_token"


# The accessors are `async def`: FastAPI runs a plain `def` dependency in its thread pool, two
# thread hand-offs per request for reading an attribute.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_db(request: Request) -> Connection:
    """The request's connection, acquired on first use; `ReleaseConnection` gives it back."""
    scope = request.scope
    held = scope.get(REQUEST_CONNECTION)
    if held is None:
        pool: asyncpg.Pool = request.app.state.pool
        held = scope[REQUEST_CONNECTION] = (pool, await pool.acquire())
    conn: Connection = held[1]
    return conn


DbConn = Annotated[Connection, Depends(get_db)]


async def get_redis(request: Request) -> RedisClient:
    redis: RedisClient = request.app.state.redis
    return redis


RedisDep = Annotated[RedisClient, Depends(get_redis)]


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


# The credentials as the OpenAPI document declares them (so /docs can authorize). They are not
# dependencies of get_principal: FastAPI would solve three more dependencies on every request
# for what presented_credential() does anyway.
CREDENTIAL_SCHEMES: tuple[SecurityBase, ...] = (
    HTTPBearer(auto_error=False, description="access token, hc_live_ token or API_TOKEN"),
    APIKeyHeader(name="X-API-Key", auto_error=False),
    APIKeyCookie(name=AUTH_COOKIE, auto_error=False),
)


def _needs_principal(dependant: Dependant) -> bool:
    return any(dep.call is get_principal or _needs_principal(dep) for dep in dependant.dependencies)


def document_credentials(
    app: FastAPI, public: Iterable[APIRouter], protected: Iterable[APIRouter]
) -> None:
    """Declare CREDENTIAL_SCHEMES in the OpenAPI document, required by every route of the
    `protected` routers and every route of the `public` ones that asks for the principal."""
    build = app.openapi
    requirement: list[dict[str, list[str]]] = [
        {scheme.scheme_name: []} for scheme in CREDENTIAL_SCHEMES
    ]
    routes = [(route, True) for router in protected for route in router.routes]
    routes += [(route, False) for router in public for route in router.routes]
    operations = [
        (route.path_format, method.lower())
        for route, guarded in routes
        if isinstance(route, APIRoute)
        and route.include_in_schema
        and (guarded or _needs_principal(route.dependant))
        for method in route.methods or ()
    ]

    def openapi() -> dict[str, Any]:
        schema = build()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for scheme in CREDENTIAL_SCHEMES:
            schemes[scheme.scheme_name] = jsonable_encoder(
                scheme.model, by_alias=True, exclude_none=True
            )
        for path, method in operations:
            operation = schema["paths"].get(path, {}).get(method)
            if operation is not None:
                operation["security"] = requirement
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


async def get_principal(request: Request, conn: DbConn) -> Principal:
    # `conn` is the request's own connection (FastAPI hands the same one to the route): a second
    # one acquired here while the route holds the first could wait forever on a full pool.
    token = presented_credential(request)
    if token is None:
        raise unauthenticated()
    state = request.app.state
    cache: CredentialCache = state.credential_cache
    principal = cache.get(token)
    if principal is None:
        revision = credentials_revision()
        principal, valid_until = await auth_service.resolve_until(conn, state.settings, token)
        cache.put(token, principal, revision, valid_until)
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
