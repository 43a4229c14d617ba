"""Personal API tokens: one live token per user, shown once, stored as a SHA-256 hash."""

from __future__ import annotations

import uuid
from datetime import datetime

from ordex.db import api_tokens as tokens_repo
from ordex.db.types import Connection
from ordex.security import hash_api_token, new_api_token
from ordex.services.credential_cache import credentials_changed
from ordex.services.errors import ServiceError


async def token_created_at(conn: Connection, user_id: uuid.UUID) -> datetime | None:
    return await tokens_repo.live_token_created_at(conn, user_id)


async def issue_token(conn: Connection, user_id: uuid.UUID) -> str:
    """A new token replaces the previous one, which stops working at once."""
    token = new_api_token()
    async with conn.transaction():
        await tokens_repo.revoke_user_tokens(conn, user_id)
        await tokens_repo.insert_token(conn, user_id, hash_api_token(token))
    credentials_changed()
    return token


async def revoke_token(conn: Connection, user_id: uuid.UUID) -> None:
    revoked = await tokens_repo.revoke_user_tokens(conn, user_id)
    credentials_changed()
    if revoked == 0:
        raise ServiceError(404, "TOKEN_NOT_FOUND", "No API token to revoke")
