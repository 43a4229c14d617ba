"""The indexer schema applies and its tables exist."""

from __future__ import annotations

import asyncpg


async def test_indexer_tables_exist(db: asyncpg.Connection) -> None:
    names = {
        r["tablename"]
        for r in await db.fetch("SELECT tablename FROM pg_tables WHERE tablename LIKE 'evm_%'")
    }
    assert {
        "evm_blocks",
        "evm_transactions",
        "evm_token_transfers",
        "evm_tokens",
        "evm_token_prices",
        "evm_address_transactions",
        "evm_address_counters",
        "evm_indexer_state",
        "evm_reorgs",
    } <= names
