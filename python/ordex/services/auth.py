"""Sessions and credentials: issue, resolve, refresh (rotating) and revoke access tokens.

Accepted credentials: an access JWT bound to a live session, a personal API token (hc_live_...),
or the server API_TOKEN, which acts as the oldest active admin.
Whatever revokes a session or token here calls `credentials_changed()` once it is written, so
no `CredentialCache` of the process trusts it any longer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ordex.config import Settings
from ordex.db import api_tokens as tokens_repo
from ordex.db import sessions as sessions_repo
from ordex.db import users as users_repo
from ordex.db.types import Connection
from ordex.db.users import UserRow
from ordex.security import (
    API_TOKEN_PREFIX,
    AccessClaims,
    InvalidTokenError,
    constant_time_equals,
    decode_access_token,
    encode_access_token,
    hash_api_token,
    new_jti,
)
from ordex.services.credential_cache import credentials_changed
from ordex.services.errors import ServiceError, unauthenticated
from ordex.services.users import Status


class CredentialKind(StrEnum):
    SESSION = "session"
    API_TOKEN = "api_token"
    SERVER_TOKEN = "server_token"


@dataclass(frozen=True, slots=True)
class Principal:
    user: UserRow
    kind: CredentialKind
    session_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    session_id: uuid.UUID
    max_age_seconds: int


def _issue(settings: Settings, user_id: uuid.UUID, session_id: uuid.UUID, jti: str) -> str:
    return encode_access_token(
        settings.jwt_key(), user_id, session_id, jti, settings.access_token_ttl_seconds
    )


async def open_session(
    conn: Connection,
    settings: Settings,
    user: UserRow,
    *,
    user_agent: str | None,
    ip: str | None,
) -> IssuedToken:
    jti = new_jti()
    await sessions_repo.delete_stale_sessions(conn, user.id)
    session = await sessions_repo.insert_session(
        conn,
        user_id=user.id,
        jti=jti,
        ttl_seconds=settings.session_ttl_seconds,
        user_agent=(user_agent or "")[:512] or None,
        ip=ip,
    )
    return IssuedToken(
        token=_issue(settings, user.id, session.id, jti),
        session_id=session.id,
        max_age_seconds=settings.session_ttl_seconds,
    )


def _active_user(user: UserRow | None) -> UserRow:
    if user is None or user.status != Status.ACTIVE:
        raise unauthenticated("Invalid or expired credentials")
    return user


_decoded: dict[tuple[str, str], AccessClaims] = {}
DECODED_MAX = 10_000


def _access_claims(key: str, token: str) -> AccessClaims:
    """The claims of a valid, unexpired access token, each token's signature checked once per
    process: what a token says never changes, and whether its session still lives is asked
    of the database (or the credential cache) every time."""
    claims = _decoded.get((key, token))
    if claims is None:
        claims = decode_access_token(key, token)
        if len(_decoded) >= DECODED_MAX:
            _decoded.clear()
        _decoded[key, token] = claims
    elif claims.expires_at <= datetime.now(UTC):
        del _decoded[key, token]
        raise InvalidTokenError("token expired")
    return claims


async def resolve(conn: Connection, settings: Settings, token: str) -> Principal:
    """Turn a presented credential into a principal, or raise 401."""
    principal, _ = await resolve_until(conn, settings, token)
    return principal


async def resolve_until(
    conn: Connection, settings: Settings, token: str
) -> tuple[Principal, datetime | None]:
    """`resolve`, and until when the credential can be valid at most (None: no expiry)."""
    token = token.strip()
    if not token:
        raise unauthenticated()
    if token.startswith(API_TOKEN_PREFIX):
        owner = await tokens_repo.user_for_token(conn, hash_api_token(token))
        if owner is None:
            raise unauthenticated("Invalid or revoked API token")
        return Principal(user=_active_user(owner), kind=CredentialKind.API_TOKEN), None
    if settings.api_token is not None and constant_time_equals(
        token, settings.api_token.get_secret_value()
    ):
        admin = await users_repo.first_active_admin(conn)
        if admin is None:
            raise unauthenticated("API_TOKEN is valid but no admin user exists yet")
        return Principal(user=admin, kind=CredentialKind.SERVER_TOKEN), None
    try:
        claims = _access_claims(settings.jwt_key(), token)
    except InvalidTokenError as exc:
        raise unauthenticated(f"Invalid credentials: {exc}") from exc
    found = await sessions_repo.live_session_user(conn, claims.session_id)
    if found is None:
        raise unauthenticated("Session revoked or expired")
    session, user = found
    if session.user_id != claims.user_id or session.current_jti != claims.jti:
        raise unauthenticated("Session revoked or expired")
    principal = Principal(
        user=_active_user(user), kind=CredentialKind.SESSION, session_id=session.id
    )
    return principal, min(claims.expires_at, session.expires_at)


async def refresh(conn: Connection, settings: Settings, token: str) -> tuple[UserRow, IssuedToken]:
    """Rotate a session's access token. An expired token is accepted while its session lives,
    and the presented token stops working once a new one is issued."""
    try:
        claims = decode_access_token(settings.jwt_key(), token.strip(), allow_expired=True)
    except InvalidTokenError as exc:
        raise unauthenticated(f"Cannot refresh: {exc}") from exc
    async with conn.transaction():
        session = await sessions_repo.get_live_session(conn, claims.session_id)
        if session is None or session.user_id != claims.user_id:
            raise unauthenticated("Session revoked or expired")
        user = _active_user(await users_repo.get_by_id(conn, claims.user_id))
        jti = new_jti()
        rotated = await sessions_repo.rotate_jti(conn, session.id, claims.jti, jti)
    credentials_changed()
    if not rotated:
        # The token was already rotated away: a replay, so the whole session ends.
        await sessions_repo.revoke_session(conn, session.id)
        credentials_changed()
        raise unauthenticated("Token already refreshed; session ended")
    max_age = int((session.expires_at - datetime.now(UTC)).total_seconds())
    issued = IssuedToken(
        token=_issue(settings, user.id, session.id, jti),
        session_id=session.id,
        max_age_seconds=max(1, min(settings.session_ttl_seconds, max_age)),
    )
    return user, issued


async def logout(conn: Connection, settings: Settings, token: str | None) -> None:
    """Revoke the session behind an access token; other credentials have nothing to end."""
    if not token:
        return
    try:
        claims = decode_access_token(settings.jwt_key(), token.strip(), allow_expired=True)
    except InvalidTokenError:
        return
    session = await sessions_repo.get_live_session(conn, claims.session_id)
    if session is not None and session.current_jti == claims.jti:
        await sessions_repo.revoke_session(conn, session.id)
        credentials_changed()


def ensure_role(principal: Principal, *roles: str) -> None:
    if principal.user.role not in roles:
        raise ServiceError(403, "FORBIDDEN", "Insufficient permissions")
