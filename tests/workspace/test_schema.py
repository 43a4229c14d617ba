"""Schema checks: every foreign key of the workspace tables is backed by an index."""

from __future__ import annotations

import asyncpg

TABLES = (
    "dashboards", "groups", "widgets", "user_settings", "widget_settings", "data_providers",
    "user_state_revisions", "exchange_accounts",
)  # fmt: skip


async def test_foreign_keys_are_indexed(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        unindexed = await conn.fetch(
            """
            SELECT c.conrelid::regclass::text AS table_name, c.conname
            FROM pg_constraint c
            WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY($1::text[])
              AND NOT EXISTS (
                  SELECT 1 FROM pg_index i
                  WHERE i.indrelid = c.conrelid
                    AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] @> c.conkey
                    AND (i.indkey::int2[])[0:array_length(c.conkey, 1) - 1] <@ c.conkey
              )
            """,
            list(TABLES),
        )
    finally:
        await conn.close()
    assert unindexed == []
