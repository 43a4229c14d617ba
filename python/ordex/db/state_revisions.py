"""SQL for the per-user state revision counter."""

from __future__ import annotations

import uuid

from ordex.db.types import Connection


async def lock_revision(conn: Connection, user_id: uuid.UUID) -> int:
    """Create or row-lock the user's counter (held until the transaction ends); its current value."""
    rev: int = await conn.fetchval(
        """
        INSERT INTO user_state_revisions AS r (user_id) VALUES ($1)
        ON CONFLICT (user_id) DO UPDATE SET rev = r.rev
        RETURNING rev
        """,
        user_id,
    )
    return rev


async def advance_revision(conn: Connection, user_id: uuid.UUID, steps: int) -> int:
    rev: int = await conn.fetchval(
        """
        UPDATE user_state_revisions SET rev = rev + $2, updated_at = now()
        WHERE user_id = $1 RETURNING rev
        """,
        user_id,
        steps,
    )
    return rev


async def current_revision(conn: Connection, user_id: uuid.UUID) -> int:
    rev: int | None = await conn.fetchval(
        "SELECT rev FROM user_state_revisions WHERE user_id = $1", user_id
    )
    return rev or 0
