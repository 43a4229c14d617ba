"""SQL for the users table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from ordex.db.types import Connection

_COLUMNS = "id, email, name, password_hash, role, status, created_at, updated_at, last_login_at"
# The same columns read through the alias `u`, for joins in other repositories.
USER_COLUMNS_U = ", ".join(f"u.{c.strip()}" for c in _COLUMNS.split(","))


@dataclass(frozen=True, slots=True)
class UserRow:
    id: uuid.UUID
    email: str
    name: str
    password_hash: str
    role: str
    status: str
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


def _row(record: asyncpg.Record | None) -> UserRow | None:
    return None if record is None else UserRow(**dict(record))


def user_from_record(record: asyncpg.Record) -> UserRow:
    """A UserRow from a joined record holding the USER_COLUMNS_U columns."""
    return UserRow(**{name: record[name] for name in UserRow.__slots__})


async def lock_registrations(conn: Connection) -> None:
    """Serialise registrations within a transaction so only one user can become the first ADMIN."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ordex.users.register'))")


async def count_users(conn: Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM users")
    return count


async def insert_user(
    conn: Connection, *, email: str, name: str, password_hash: str, role: str, status: str
) -> UserRow | None:
    """Insert a user; None when the email is taken."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO users (email, name, password_hash, role, status)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING {_COLUMNS}
        """,
        email, name, password_hash, role, status,
    )  # fmt: skip
    return _row(record)


async def get_by_email(conn: Connection, email: str) -> UserRow | None:
    record = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
    )
    return _row(record)


async def get_by_id(
    conn: Connection, user_id: uuid.UUID, *, for_update: bool = False
) -> UserRow | None:
    lock = " FOR UPDATE" if for_update else ""
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1{lock}", user_id)
    return _row(record)


async def list_users(conn: Connection) -> list[UserRow]:
    records = await conn.fetch(f"SELECT {_COLUMNS} FROM users ORDER BY created_at, id")
    return [UserRow(**dict(r)) for r in records]


async def first_active_admin(conn: Connection) -> UserRow | None:
    record = await conn.fetchrow(
        f"""
        SELECT {_COLUMNS} FROM users
        WHERE role = 'ADMIN' AND status = 'ACTIVE'
        ORDER BY created_at, id LIMIT 1
        """
    )
    return _row(record)


async def lock_active_admin_ids(conn: Connection) -> list[uuid.UUID]:
    """Active admins, row-locked so two concurrent demotions cannot remove the last one."""
    records = await conn.fetch(
        "SELECT id FROM users WHERE role = 'ADMIN' AND status = 'ACTIVE' ORDER BY id FOR UPDATE"
    )
    return [r["id"] for r in records]


async def update_user(
    conn: Connection, user_id: uuid.UUID, *, role: str, status: str, name: str
) -> UserRow | None:
    record = await conn.fetchrow(
        f"""
        UPDATE users SET role = $2, status = $3, name = $4, updated_at = now()
        WHERE id = $1
        RETURNING {_COLUMNS}
        """,
        user_id, role, status, name,
    )  # fmt: skip
    return _row(record)


async def touch_last_login(conn: Connection, user_id: uuid.UUID) -> None:
    await conn.execute("UPDATE users SET last_login_at = now() WHERE id = $1", user_id)
