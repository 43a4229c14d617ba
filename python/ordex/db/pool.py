"""asyncpg connection pool."""

from __future__ import annotations

import asyncpg
from pgvector.asyncpg import register_vector


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN *, RESET ALL):
    a round trip on every release, for state ordex never leaves on a pooled connection (its
    advisory locks are transaction-scoped, it sets no session settings, and the outbox listener
    unlistens before its release). asyncpg still rolls back a transaction left open."""


# The array types ordex binds as parameters (unnest over columns). asyncpg looks up an array
# type's codec in the catalog on a connection's first statement that uses it, a recursive query
# of several ms; one statement over all of them at connect time does it once, off the first
# request's path.
_ARRAY_TYPES = ("text", "bigint", "numeric", "bytea", "uuid", "timestamptz", "smallint",
                "integer", "boolean")  # fmt: skip
_ARRAY_PROBE = "SELECT " + ", ".join(f"${i}::{t}[]" for i, t in enumerate(_ARRAY_TYPES, 1))


async def _register_codecs(conn: asyncpg.Connection) -> None:
    """pgvector's `vector` as binary in and out (lists in, `pgvector.Vector` out). A database
    without the extension yet (before its migration) has no such type: nothing to register.
    Then the array types' codecs (`_ARRAY_TYPES`)."""
    try:
        await register_vector(conn)
    except ValueError as exc:
        if not str(exc).startswith("unknown type"):
            raise
    await conn.prepare(_ARRAY_PROBE)


async def create_pool(
    dsn: str, min_size: int = 1, max_size: int = 10, *, application_name: str = "ordex"
) -> asyncpg.Pool:
    """`application_name` names the process in `pg_stat_activity` (which worker a backend serves)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=30,
        server_settings={"application_name": application_name, "timezone": "UTC"},
        reset=_keep_session,
        init=_register_codecs,
    )
    return pool


async def ping(pool: asyncpg.Pool) -> None:
    """Round trip to the database; raises when it cannot be reached."""
    await pool.fetchval("SELECT 1")
