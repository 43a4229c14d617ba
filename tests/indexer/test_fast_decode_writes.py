"""Batches written one after the other with the next one's rows copied while the one before is
in flight (`write_batch(after=...)`): both land, or a failure of the first fails the second
whole."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from ordex.db import indexer_ingest as repo
from ordex.db.indexer_ingest import (
    TRANSACTION_COLUMNS,
    EncodedRows,
    IngestBatch,
    StateConflict,
)


async def _batch(db: asyncpg.Connection, first: int, count: int) -> IngestBatch:
    batch = IngestBatch()
    for n in range(first, first + count):
        stamp = datetime.fromtimestamp(1_700_000_000 + n, tz=UTC)
        batch.blocks.append((n, bytes([n + 1]) * 32, bytes([n]) * 32, stamp, 1, None))
        tx = bytes([0xA0 + n]) * 32
        address = bytes([0x10 + n]) * 20
        batch.address_transactions.append((address, n, 0, tx, stamp))
    # One transaction per block, in a binary COPY payload as the Rust encoder writes them.
    lines = [
        "\t".join(
            (
                "\\\\x" + (bytes([0xA0 + n]) * 32).hex(),
                str(n),
                "0",
                datetime.fromtimestamp(1_700_000_000 + n, tz=UTC).isoformat(),
                "\\\\x" + (bytes([0x10 + n]) * 20).hex(),
                "\\N",
                "\\N",
                "0",
                "0",
                "21000",
                "21000",
                "1",
                "1",
                "\\N",
                "2",
                "0",
                "\\N",
                "\\N",
                "\\N",
            )
        )
        for n in range(first, first + count)
    ]
    payload = await _binary(db, ("\n".join(lines) + "\n").encode())
    batch.encoded = EncodedRows(payload, b"", b"", [], tx_count=count, transfer_count=0)
    return batch


async def _binary(db: asyncpg.Connection, text: bytes) -> bytes:
    """The binary COPY payload of these text rows, as PostgreSQL writes it."""
    await db.execute("CREATE TEMP TABLE IF NOT EXISTS staged (LIKE evm_transactions)")
    await db.execute("TRUNCATE staged")
    columns = list(TRANSACTION_COLUMNS)
    await db.copy_to_table("staged", columns=columns, source=io.BytesIO(text), format="text")
    out = io.BytesIO()
    await db.copy_from_table("staged", columns=columns, output=out, format="binary")
    return out.getvalue()


@pytest.fixture
async def second(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


async def _counts(db: asyncpg.Connection) -> tuple[int, int, int | None, int]:
    blocks = await db.fetchval("SELECT count(*) FROM evm_blocks")
    txs = await db.fetchval("SELECT count(*) FROM evm_transactions")
    state = await db.fetchrow("SELECT last_block, tx_count FROM evm_indexer_state")
    return blocks, txs, state["last_block"], state["tx_count"]


async def test_the_next_batch_lands_after_the_one_in_flight(
    db: asyncpg.Connection, second: asyncpg.Connection
) -> None:
    await repo.ensure_state(db, 1337)
    one, two = await _batch(db, 0, 3), await _batch(db, 3, 2)
    first = asyncio.create_task(repo.write_batch(db, one, expected_last=None))
    await repo.write_batch(second, two, expected_last=2, after=first)
    assert first.done()
    assert await _counts(db) == (5, 5, 4, 5)


async def test_a_failed_batch_fails_the_one_copied_after_it(
    db: asyncpg.Connection, second: asyncpg.Connection
) -> None:
    await repo.ensure_state(db, 1337)
    # Not where the state is: the first fails, and the second with it, whole.
    one, two = await _batch(db, 0, 3), await _batch(db, 3, 2)
    first = asyncio.create_task(repo.write_batch(db, one, expected_last=7))
    with pytest.raises(StateConflict):
        await repo.write_batch(second, two, expected_last=2, after=first)
    with pytest.raises(StateConflict):
        await first
    assert await _counts(db) == (0, 0, None, 0)
