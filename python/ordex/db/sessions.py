"""SQL for login sessions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from ordex.db.types import Connection
from ordex.db.users import USER_COLUMNS_U, UserRow, user_from_record


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: uuid.UUID
    user_id: uuid.UUID
    current_jti: str
    expires_at: datetime
    revoked_at: datetime | None


_COLUMNS = "id, user_id, current_jti, expires_at, revoked_at"


async def insert_session(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    jti: str,
    ttl_seconds: int,
    user_agent: str | None,
    ip: str | None,
) -> SessionRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO sessions (user_id, current_jti, expires_at, user_agent, ip)
        VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5)
        RETURNING {_COLUMNS}
        """,
        user_id, jti, float(ttl_seconds), user_agent, ip,
    )  # fmt: skip
    assert record is not None
    return SessionRow(**dict(record))


async def live_session_user(
    conn: Connection, session_id: uuid.UUID
) -> tuple[SessionRow, UserRow] | None:
    """A live session and its user in one round trip: this runs whenever a session token is not
    in the credential cache (services/credential_cache.py)."""
    record = await conn.fetchrow(
        f"""
        SELECT s.id AS session_id, s.current_jti, s.expires_at, s.revoked_at, {USER_COLUMNS_U}
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
        """,
        session_id,
    )
    if record is None:
        return None
    session = SessionRow(
        id=record["session_id"],
        user_id=record["id"],
        current_jti=record["current_jti"],
        expires_at=record["expires_at"],
        revoked_at=record["revoked_at"],
    )
    return session, user_from_record(record)


async def delete_stale_sessions(conn: Connection, user_id: uuid.UUID) -> None:
    """Drop a user's sessions that expired or were revoked over a day ago."""
    await conn.execute(
        """
        DELETE FROM sessions
        WHERE user_id = $1 AND (expires_at < now() OR revoked_at < now() - interval '1 day')
        """,
        user_id,
    )


async def get_live_session(conn: Connection, session_id: uuid.UUID) -> SessionRow | None:
    """The session if it is neither revoked nor past its expiry."""
    record = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM sessions
        WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()
        """,
        session_id,
    )
    return None if record is None else SessionRow(**dict(record))


async def rotate_jti(conn: Connection, session_id: uuid.UUID, old_jti: str, new_jti: str) -> bool:
    """Swap the session's current token id; False if another refresh or a revocation won."""
    status = await conn.execute(
        """
        UPDATE sessions SET current_jti = $3, refreshed_at = now()
        WHERE id = $1 AND current_jti = $2 AND revoked_at IS NULL AND expires_at > now()
        """,
        session_id, old_jti, new_jti,
    )  # fmt: skip
    return status == "UPDATE 1"


async def revoke_session(conn: Connection, session_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", session_id
    )


async def revoke_user_sessions(conn: Connection, user_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id
    )
