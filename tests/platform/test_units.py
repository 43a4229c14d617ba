"""Pure functions: hashing, tokens, callback checks, URL conversion, uptime format, settings."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest

from ordex.api.routes.auth import safe_callback
from ordex.api.routes.health import format_uptime
from ordex.config import Settings, load_or_create_secret
from ordex.db.migrate import dbmate_url
from ordex.security import (
    InvalidTokenError,
    decode_access_token,
    encode_access_token,
    hash_api_token,
    hash_password,
    new_api_token,
    verify_password,
)


def test_default_password_hashing_is_argon2id() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.argon2_time_cost, settings.argon2_memory_kib) == (3, 65536)
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "wrong")
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


def test_access_token_round_trip_and_expiry() -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    key = "k" * 40
    token = encode_access_token(key, user_id, session_id, "jti-1", ttl_seconds=60)
    claims = decode_access_token(key, token)
    assert (claims.user_id, claims.session_id, claims.jti) == (user_id, session_id, "jti-1")
    expired = encode_access_token(key, user_id, session_id, "jti-1", ttl_seconds=-1)
    with pytest.raises(InvalidTokenError, match="expired"):
        decode_access_token(key, expired)
    assert decode_access_token(key, expired, allow_expired=True).jti == "jti-1"
    with pytest.raises(InvalidTokenError):
        decode_access_token("x" * 40, token)


def test_api_tokens_are_random_and_hashed() -> None:
    token = new_api_token()
    assert token.startswith("hc_live_") and len(token) == len("hc_live_") + 40
    assert new_api_token() != token
    assert hash_api_token(token) != token and len(hash_api_token(token)) == 64


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("/markets", True),
        ("/", True),
        ("/a/b?c=d#e", True),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("https://evil.example", False),
        ("javascript:alert(1)", False),
        ("markets", False),
        ("/x\r\nSet-Cookie: a=b", False),
    ],
)
def test_safe_callback(url: str, ok: bool) -> None:
    assert (safe_callback(url) is not None) is ok


def test_dbmate_url_converts_socket_host() -> None:
    assert (
        dbmate_url("postgresql://postgres@/ordex?host=/tmp/pg")
        == "postgres://postgres@/ordex?socket=%2Ftmp%2Fpg&sslmode=disable"
    )
    assert (
        dbmate_url("postgresql://u:p@db.internal:5432/ordex?sslmode=require")
        == "postgres://u:p@db.internal:5432/ordex?sslmode=require"
    )


def test_format_uptime() -> None:
    assert format_uptime(5) == "5s"
    assert format_uptime(65) == "1m5s"
    assert format_uptime(2 * 3600 + 15 * 60 + 30) == "2h15m30s"


def test_generated_secret_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "home" / "jwt_secret"
    first = load_or_create_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    settings = Settings(_env_file=None, ordex_home=tmp_path / "home").with_secrets()  # type: ignore[call-arg]
    assert settings.jwt_key() == first
    assert settings.ordex_secret_key is not None
