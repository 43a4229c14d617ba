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


async def test_joined_batches_land_as_their_parts(db: asyncpg.Connection) -> None:
    await repo.ensure_state(db, 1337)
    parts = [await _batch(db, 0, 3), await _batch(db, 3, 2), await _batch(db, 5, 1)]
    joined = IngestBatch.joined(parts)
    assert joined.encoded is not None
    assert (joined.block_count, joined.tx_count, joined.first_block) == (6, 6, 0)
    assert joined.last_block == parts[-1].last_block
    # One payload: a header, the rows of each part in order, a trailer.
    assert joined.encoded.transactions == repo.join_copy_payloads(
        [p.encoded.transactions for p in parts if p.encoded is not None]
    )
    await repo.write_batch(db, joined, expected_last=None)
    assert await _counts(db) == (6, 6, 5, 6)
    stored = await db.fetch("SELECT hash, block_number FROM evm_transactions ORDER BY 2")
    assert [(r["hash"], r["block_number"]) for r in stored] == [
        (bytes([0xA0 + n]) * 32, n) for n in range(6)
    ]


async def test_only_consecutive_batches_join(db: asyncpg.Connection) -> None:
    with pytest.raises(ValueError, match="does not follow"):
        IngestBatch.joined([await _batch(db, 0, 3), await _batch(db, 4, 2)])
    with pytest.raises(ValueError, match="binary COPY"):
        repo.join_copy_payloads([b"PGCOPY\n\xff\r\n\x00" + bytes(8) + b"\xff\xff", b"1\t2\n"])
    # Nothing to join: a part alone is kept as it is, no part is no payload.
    assert repo.join_copy_payloads([b"", b"x"]) == b"x"
    assert repo.join_copy_payloads([b"", b""]) == b""


async def test_token_metadata_still_pending_is_written_with_its_batch(
    db: asyncpg.Connection,
) -> None:
    """The node's answer for a new token's metadata may come once the rows are copied: the
    write waits for it and the token lands in the same transaction."""
    await repo.ensure_state(db, 1337)
    batch = await _batch(db, 0, 2)
    answer: asyncio.Future[list[repo.NewToken]] = asyncio.get_running_loop().create_future()
    batch.pending_tokens.append(answer)
    writing = asyncio.create_task(repo.write_batch(db, batch, expected_last=None))
    await asyncio.sleep(0.05)
    assert not writing.done()
    token = repo.NewToken(bytes([0x77]) * 20, "ERC-20", "Token", "TKN", 6, True, 1)
    answer.set_result([token])
    await writing
    assert await _counts(db) == (2, 2, 1, 2)
    row = await db.fetchrow("SELECT symbol, decimals FROM evm_tokens")
    assert (row["symbol"], row["decimals"]) == ("TKN", 6)
