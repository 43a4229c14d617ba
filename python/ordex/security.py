"""Password hashing (argon2id), access JWTs (HS256 with expiry) and personal API token hashing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

JWT_ALGORITHM = "HS256"
JWT_ISSUER = "ordex"
API_TOKEN_PREFIX = "hc_live_"

_hasher = PasswordHasher()  # argon2id with the RFC 9106 low-memory profile
_dummy_hash: str | None = None


def _dummy() -> str:
    """Verified against when the email is unknown, so a miss costs as much as a wrong password.
    Made on first use: hashing at import time would slow every process start."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    return _dummy_hash


def configure_password_hashing(time_cost: int, memory_kib: int, parallelism: int) -> None:
    """Set the argon2id cost for new hashes; existing hashes verify with their own parameters."""
    global _hasher, _dummy_hash
    if (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism) == (
        time_cost,
        memory_kib,
        parallelism,
    ):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    jti: str
    expires_at: datetime


class InvalidTokenError(Exception):
    pass


def new_jti() -> str:
    return secrets.token_urlsafe(16)


def encode_access_token(
    key: str, user_id: uuid.UUID, session_id: uuid.UUID, jti: str, ttl_seconds: int
) -> str:
    now = datetime.now(UTC)
    payload: dict[str, Any] = {
        "iss": JWT_ISSUER,
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": jti,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
        "typ": "access",
    }
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM)


def decode_access_token(key: str, token: str, *, allow_expired: bool = False) -> AccessClaims:
    """Check signature, issuer and (unless refreshing) expiry; raise InvalidTokenError otherwise."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            options={"require": ["exp", "sub", "sid", "jti"], "verify_exp": not allow_expired},
        )
        if payload.get("typ") != "access":
            raise InvalidTokenError("not an access token")
        return AccessClaims(
            user_id=uuid.UUID(str(payload["sub"])),
            session_id=uuid.UUID(str(payload["sid"])),
            jti=str(payload["jti"]),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidTokenError("token expired") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise InvalidTokenError("invalid token") from exc


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_hex(20)


def hash_api_token(token: str) -> str:
    # Tokens carry 160 random bits, so a fast hash is enough; the database never sees the token.
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
