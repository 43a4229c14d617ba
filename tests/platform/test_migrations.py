"""Migrations: every one applies on a fresh database and rolls back cleanly."""

from __future__ import annotations

import asyncpg

from ordex.db.migrate import migrate, run_dbmate
from tests.conftest import PostgresHandle

TABLES = {"users", "sessions", "api_tokens"}


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
        )
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def test_migrations_roll_back_and_reapply(pg_server: PostgresHandle) -> None:
    dsn = pg_server.dsn("ordex_migration_check")
    migrate(dsn)
    assert await _tables(dsn) >= TABLES
    while "[X]" in run_dbmate(dsn, "status"):
        run_dbmate(dsn, "rollback")
    assert await _tables(dsn) == set()
    migrate(dsn)
    assert await _tables(dsn) >= TABLES
    migrate(dsn)  # idempotent
    run_dbmate(dsn, "drop")
