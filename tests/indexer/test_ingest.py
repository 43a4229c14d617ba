"""Backfill of a dev chain over JSON-RPC: blocks, transactions, transfers, tokens, counters."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from ordex.db import indexer_ingest
from ordex.db.indexer_ingest import request_token_refetch
from ordex.devchain import DevChain
from ordex.services.evm_rpc import EvmRpc
from ordex.services.indexer import fetch_range
from ordex.services.indexer_decode import TOPIC_TRANSFER
from ordex.workers import indexer as indexer_worker
from ordex.workers.indexer import WRITES_IN_FLIGHT
from tests.indexer.conftest import WorkerFactory
from tests.indexer.traffic import standard_traffic


def b(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value[2:].lower())


async def test_backfill_matches_the_chain(
    make_devchain: Callable[[], DevChain], make_worker: WorkerFactory, db: asyncpg.Connection
) -> None:
    chain = make_devchain()
    sent = standard_traffic(chain)
    worker = await make_worker(chain)
    ingested = await worker.sync()
    w3 = chain.web3()
    tip = w3.eth.block_number
    assert ingested == tip + 1

    # Every block, with the node's hash and parent hash.
    stored = {r["number"]: r for r in await db.fetch("SELECT * FROM evm_blocks")}
    assert sorted(stored) == list(range(tip + 1))
    tx_total = 0
    for number in range(tip + 1):
        block = w3.eth.get_block(number)
        assert stored[number]["hash"] == bytes(block["hash"])
        assert stored[number]["parent_hash"] == bytes(block["parentHash"])
        assert stored[number]["tx_count"] == len(block["transactions"])
        tx_total += len(block["transactions"])

    # Every transaction, with its receipt's status and gas.
    rows = {r["hash"]: r for r in await db.fetch("SELECT * FROM evm_transactions")}
    assert len(rows) == tx_total
    for tx_hash, row in rows.items():
        tx = w3.eth.get_transaction(tx_hash)
        receipt = w3.eth.get_transaction_receipt(tx_hash)
        assert row["block_number"] == tx["blockNumber"]
        assert row["tx_index"] == tx["transactionIndex"]
        assert row["from_address"] == b(tx["from"])
        assert row["to_address"] == (b(tx["to"]) if tx["to"] else None)
        assert row["value"] == tx["value"]
        assert row["gas_used"] == receipt["gasUsed"]
        assert row["effective_gas_price"] == receipt["effectiveGasPrice"]
        assert row["status"] == receipt["status"]
        created = receipt["contractAddress"]
        assert row["contract_address"] == (b(created) if created else None)
    assert rows[b(sent.failed)]["status"] == 0
    assert rows[b(sent.eth)]["value"] == 12345 * 10**14

    # Counters agree with the rows they count.
    state = await db.fetchrow("SELECT * FROM evm_indexer_state")
    assert state["last_block"] == tip
    assert state["last_block_hash"] == bytes(w3.eth.get_block(tip)["hash"])
    assert state["block_count"] == tip + 1
    assert state["tx_count"] == tx_total
    assert state["transfer_count"] == await db.fetchval("SELECT count(*) FROM evm_token_transfers")
    index_counts = {
        r["address"]: r["n"]
        for r in await db.fetch(
            "SELECT address, count(*) AS n FROM evm_address_transactions GROUP BY address"
        )
    }
    counters = {
        r["address"]: r["tx_count"] for r in await db.fetch("SELECT * FROM evm_address_counters")
    }
    assert counters == index_counts

    # Bob's transactions: sent or received ETH, or took part in a token transfer.
    bob = b(chain.accounts[2])
    expected: set[bytes] = set()
    for number in range(tip + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            topics_hit = any(
                len(log["topics"]) >= 3 and bob in {bytes(t)[-20:] for t in log["topics"][1:4]}
                for log in receipt["logs"]
            )
            if bob in (b(tx["from"]), b(tx["to"]) if tx["to"] else None) or topics_hit:
                expected.add(bytes(tx["hash"]))
    indexed = {
        r["tx_hash"]
        for r in await db.fetch(
            "SELECT tx_hash FROM evm_address_transactions WHERE address = $1", bob
        )
    }
    assert len(expected) >= 6
    assert indexed == expected
    assert counters[bob] == len(expected)

    # A node lacking eth_getBlockReceipts: the same receipts by batched eth_getTransactionReceipt;
    # eth_getLogs by range finds the same Transfer logs.
    async with EvmRpc(chain.url) as rpc:
        by_block = await fetch_range(rpc, 0, tip)
        rpc._block_receipts = False  # as if the node had answered "method not found"
        by_tx = await fetch_range(rpc, 0, tip)
        logs = await rpc.get_logs(0, tip, topics=[TOPIC_TRANSFER])
    assert by_tx.receipts == by_block.receipts
    assert sum(len(r) for r in by_tx.receipts) == tx_total
    in_receipts = [
        (log["transactionHash"], log["logIndex"])
        for receipts in by_block.receipts
        for receipt in receipts
        for log in receipt["logs"]
        if log["topics"] and log["topics"][0] == TOPIC_TRANSFER
    ]
    assert [(log["transactionHash"], log["logIndex"]) for log in logs] == in_receipts


async def test_transfers_of_each_standard_and_token_metadata(
    make_devchain: Callable[[], DevChain], make_worker: WorkerFactory, db: asyncpg.Connection
) -> None:
    chain = make_devchain()
    sent = standard_traffic(chain)
    worker = await make_worker(chain)
    await worker.sync()
    alice, bob = b(chain.accounts[1]), b(chain.accounts[2])
    c = {k: b(v) for k, v in chain.contracts.items()}

    async def transfers(tx_hash: str) -> list[asyncpg.Record]:
        return await db.fetch(
            "SELECT * FROM evm_token_transfers WHERE tx_hash = $1 ORDER BY log_index, batch_index",
            b(tx_hash),
        )

    (usdc,) = await transfers(sent.usdc)
    assert (usdc["token_standard"], usdc["contract_address"]) == ("ERC-20", c["usdc"])
    assert (usdc["from_address"], usdc["to_address"]) == (alice, bob)
    assert usdc["amount"] == 250 * 10**6 and usdc["token_id"] is None

    minted, moved = await transfers(sent.nft_mint), await transfers(sent.nft_transfer)
    assert [(t["token_standard"], t["from_address"], t["token_id"]) for t in minted] == [
        ("ERC-721", bytes(20), sent.nft_id)
    ]
    assert [(t["from_address"], t["to_address"], t["amount"], t["token_id"]) for t in moved] == [
        (alice, bob, 1, sent.nft_id)
    ]

    (single,) = await transfers(sent.multi_single)
    assert (single["token_standard"], single["token_id"], single["amount"]) == ("ERC-1155", 7, 100)
    batch = await transfers(sent.multi_batch)
    assert [(t["batch_index"], t["token_id"], t["amount"]) for t in batch] == [
        (0, 7, 10),
        (1, 8, 5),
    ]
    assert {t["token_standard"] for t in batch} == {"ERC-1155"}
    assert await transfers(sent.failed) == []
    tx_counts = Counter(
        r["hash"]
        for r in await db.fetch(
            "SELECT t.hash FROM evm_transactions t JOIN evm_token_transfers x ON x.tx_hash = t.hash"
        )
    )
    for tx_hash, n in tx_counts.items():
        assert (
            await db.fetchval(
                "SELECT transfer_count FROM evm_transactions WHERE hash = $1", tx_hash
            )
            == n
        )

    tokens = {r["address"]: r for r in await db.fetch("SELECT * FROM evm_tokens")}
    mkr = tokens[c["mkr"]]  # name() and symbol() return bytes32
    assert (mkr["name"], mkr["symbol"], mkr["decimals"]) == ("Maker", "MKR", 18)
    nodec = tokens[c["nodecimals"]]
    assert (nodec["symbol"], nodec["decimals"]) == ("NODEC", None)
    assert nodec["fetched_at"] is not None
    usdc_token = tokens[c["usdc"]]
    assert (usdc_token["name"], usdc_token["symbol"], usdc_token["decimals"]) == (
        "USD Coin",
        "USDC",
        6,
    )
    nft = tokens[c["nft"]]
    assert (nft["token_standard"], nft["symbol"], nft["decimals"]) == ("ERC-721", "ODP", None)
    assert tokens[c["multi"]]["token_standard"] == "ERC-1155"
    # The no-decimals token has no USD value, never a guessed one.
    (nodec_transfer,) = await transfers(sent.nodec)
    assert nodec_transfer["amount"] == 777 and nodec_transfer["amount_usd"] is None

    # Refetching a token's metadata on request.
    mkr_address = c["mkr"]
    await db.execute(
        "UPDATE evm_tokens SET name = NULL, symbol = NULL WHERE address = $1", mkr_address
    )
    assert await worker.retry_token_metadata() == 0  # nothing due
    assert await request_token_refetch(db, mkr_address)
    assert await worker.retry_token_metadata() == 1
    row = await db.fetchrow("SELECT * FROM evm_tokens WHERE address = $1", mkr_address)
    assert (row["name"], row["symbol"], row["decimals"]) == ("Maker", "MKR", 18)
    assert row["fetched_at"] is not None and row["next_retry_at"] is None


async def test_ranges_fetched_behind_a_slow_write_are_written_together(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a write is in flight the ranges fetched meanwhile go in one transaction; every
    block, transaction and counter lands exactly once."""
    chain = make_devchain()
    standard_traffic(chain)
    written: list[int] = []
    write = indexer_ingest.write_batch

    async def slow_write(conn: Any, batch: indexer_ingest.IngestBatch, **kwargs: Any) -> None:
        written.append(batch.block_count)
        await asyncio.sleep(0.05)  # PostgreSQL lagging behind the node
        await write(conn, batch, **kwargs)

    monkeypatch.setattr(indexer_ingest, "write_batch", slow_write)
    worker = await make_worker(chain, batch_blocks=2)
    tip = chain.web3().eth.block_number
    assert await worker.sync() == tip + 1
    assert max(written) > 2 and sum(written) == tip + 1
    await _assert_indexed_once(db, tip)


async def _assert_indexed_once(db: asyncpg.Connection, last_block: int) -> None:
    """Blocks 0..last_block, each once, and the state's totals and the counters matching the rows."""
    numbers = [r["number"] for r in await db.fetch("SELECT number FROM evm_blocks ORDER BY 1")]
    assert numbers == list(range(last_block + 1))
    state = await db.fetchrow("SELECT * FROM evm_indexer_state")
    assert state["last_block"] == last_block and state["block_count"] == last_block + 1
    assert state["tx_count"] == await db.fetchval("SELECT count(*) FROM evm_transactions")
    assert state["transfer_count"] == await db.fetchval("SELECT count(*) FROM evm_token_transfers")
    assert await db.fetchval("SELECT coalesce(sum(tx_count), 0) FROM evm_address_counters") == (
        await db.fetchval("SELECT count(*) FROM evm_address_transactions")
    )


async def test_writes_in_flight_commit_in_order(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While PostgreSQL lags, up to four batches are written at once, and they commit in block
    order."""
    chain = make_devchain()
    standard_traffic(chain)
    write = indexer_ingest.write_batch
    in_flight, most, committed = 0, 0, []

    async def slow_write(conn: Any, batch: indexer_ingest.IngestBatch, **kwargs: Any) -> None:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.2)  # PostgreSQL lagging well behind the node
            await write(conn, batch, **kwargs)
        finally:
            in_flight -= 1
        committed.append(batch.last_block[0])

    monkeypatch.setattr(indexer_ingest, "write_batch", slow_write)
    monkeypatch.setattr(indexer_worker, "JOINED_RANGES", 1)  # a write per range
    worker = await make_worker(chain, batch_blocks=8)
    tip = chain.web3().eth.block_number
    assert tip >= 8 * 2 * WRITES_IN_FLIGHT  # ranges enough to fill the writes twice over
    assert await worker.sync() == tip + 1
    assert most == WRITES_IN_FLIGHT
    assert committed == sorted(committed) and committed[-1] == tip
    await _assert_indexed_once(db, tip)


async def test_a_failed_write_fails_the_ones_behind_it_whole(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that fails while later ones are in flight fails them too (each waits for the one
    before it to commit): what is stored ends on a whole batch, and a fresh worker carries on
    from there with every block, transaction and counter exactly once."""
    chain = make_devchain()
    standard_traffic(chain)
    write = indexer_ingest.write_batch
    calls = 0
    behind = asyncio.Event()

    async def failing_write(conn: Any, batch: indexer_ingest.IngestBatch, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            await asyncio.wait_for(behind.wait(), 30)  # a write behind it has started
            raise OSError("connection lost")
        if calls > 2:
            behind.set()
        await write(conn, batch, **kwargs)

    monkeypatch.setattr(indexer_ingest, "write_batch", failing_write)
    monkeypatch.setattr(indexer_worker, "JOINED_RANGES", 1)  # a write per range
    worker = await make_worker(chain, batch_blocks=2)
    tip = chain.web3().eth.block_number
    with pytest.raises(OSError, match="connection lost"):
        await worker.sync()
    stored = await db.fetchval("SELECT last_block FROM evm_indexer_state")
    assert stored is not None and stored < tip
    await _assert_indexed_once(db, stored)

    monkeypatch.setattr(indexer_ingest, "write_batch", write)
    again = await make_worker(chain, batch_blocks=2)
    await again.sync()
    await _assert_indexed_once(db, tip)
