"""asyncpg connection pool."""

from __future__ import annotations

import asyncpg


async def create_pool(dsn: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=30,
        server_settings={"application_name": "ordex", "timezone": "UTC"},
    )
    return pool


async def ping(pool: asyncpg.Pool) -> None:
    """Round trip to the database; raises when it cannot be reached."""
    await pool.fetchval("SELECT 1")
