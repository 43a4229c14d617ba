"""Reorgs: a two-block reorg removes its transaction and takes the counters back; a reorg deeper
than the finality depth stops the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from ordex.devchain import DevChain
from ordex.services.evm_rpc import EvmRpc
from ordex.services.indexer import devchain_price_config
from ordex.workers.indexer import IndexerOptions, IndexerWorker, ReorgTooDeep
from tests.indexer.conftest import WorkerFactory
from tests.indexer.traffic import erc20_transfer, send_eth


def b(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value[2:].lower())


def rpc(chain: DevChain, method: str, *params: Any) -> Any:
    return chain.web3().provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]


async def snapshot_counts(db: asyncpg.Connection) -> dict[str, Any]:
    state = await db.fetchrow("SELECT * FROM evm_indexer_state")
    return {
        "tx_count": state["tx_count"],
        "block_count": state["block_count"],
        "transfer_count": state["transfer_count"],
        "counters": {
            r["address"]: r["tx_count"]
            for r in await db.fetch("SELECT * FROM evm_address_counters")
        },
        "transactions": await db.fetchval("SELECT count(*) FROM evm_transactions"),
        "transfers": await db.fetchval("SELECT count(*) FROM evm_token_transfers"),
    }


@pytest.mark.parametrize("new_blocks", [2, 3], ids=["same-height", "longer"])
async def test_two_block_reorg_removes_the_transaction(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    db: asyncpg.Connection,
    new_blocks: int,
) -> None:
    chain = make_devchain()
    alice, carol = chain.accounts[1], chain.accounts[5]
    worker = await make_worker(chain)
    await worker.sync()
    before = await snapshot_counts(db)
    head = chain.web3().eth.block_number
    snap = rpc(chain, "evm_snapshot")

    eth_tx = send_eth(chain, alice, carol, 10**18)  # head + 1
    usdc_tx = erc20_transfer(chain, "usdc", alice, carol, 5 * 10**6)  # head + 2
    await worker.sync()
    during = await snapshot_counts(db)
    assert during["tx_count"] == before["tx_count"] + 2
    assert during["transfer_count"] == before["transfer_count"] + 1
    assert during["counters"][b(carol)] == 2
    assert during["counters"][b(alice)] == before["counters"][b(alice)] + 2

    # The two blocks are replaced by empty ones.
    assert rpc(chain, "evm_revert", snap)
    for _ in range(new_blocks):
        rpc(chain, "evm_mine")
    assert chain.web3().eth.block_number == head + new_blocks
    await worker.sync()

    for tx in (eth_tx, usdc_tx):
        assert (
            await db.fetchval("SELECT count(*) FROM evm_transactions WHERE hash = $1", b(tx)) == 0
        )
        assert (
            await db.fetchval("SELECT count(*) FROM evm_token_transfers WHERE tx_hash = $1", b(tx))
            == 0
        )
    after = await snapshot_counts(db)
    assert after["tx_count"] == before["tx_count"] == after["transactions"]
    assert after["transfer_count"] == before["transfer_count"] == after["transfers"]
    assert after["counters"] == before["counters"]
    assert b(carol) not in after["counters"]
    assert after["block_count"] == before["block_count"] + new_blocks
    state = await db.fetchrow("SELECT * FROM evm_indexer_state")
    assert state["reorg_count"] == 1
    assert state["last_block"] == head + new_blocks
    assert state["last_block_hash"] == bytes(chain.web3().eth.get_block("latest")["hash"])
    reorg = await db.fetchrow("SELECT * FROM evm_reorgs")
    assert (reorg["fork_block"], reorg["depth"]) == (head + 1, 2)
    stored = {r["number"]: r["hash"] for r in await db.fetch("SELECT number, hash FROM evm_blocks")}
    for number in range(head - 2, head + new_blocks + 1):
        assert stored[number] == bytes(chain.web3().eth.get_block(number)["hash"])


async def test_reorg_deeper_than_finality_stops_the_worker(
    make_devchain: Callable[[], DevChain],
    indexer_pool: asyncpg.Pool,
    redis_url: str,
    db: asyncpg.Connection,
) -> None:
    chain = make_devchain()
    redis = Redis.from_url(redis_url)
    worker = IndexerWorker(
        indexer_pool,
        redis,
        EvmRpc(chain.url),
        devchain_price_config(chain.describe(), Decimal(1000)),
        IndexerOptions(batch_blocks=20, finality_depth=1, poll_seconds=0.05, lease_ms=2000),
    )
    try:
        snap = rpc(chain, "evm_snapshot")
        send_eth(chain, chain.accounts[1], chain.accounts[5], 10**18)
        send_eth(chain, chain.accounts[1], chain.accounts[5], 10**18)
        tip = chain.web3().eth.block_number
        worker.start()
        for _ in range(200):
            if await db.fetchval("SELECT last_block FROM evm_indexer_state") == tip:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker did not catch up")
        before = await snapshot_counts(db)
        assert rpc(chain, "evm_revert", snap)
        for _ in range(3):
            rpc(chain, "evm_mine")
        await asyncio.wait_for(worker.wait(), timeout=10)
        assert isinstance(worker.failed, ReorgTooDeep)
        # Nothing was removed: a person decides what to do.
        assert await snapshot_counts(db) == before
        assert await redis.get("indexer:lease") is None
    finally:
        await worker.close()
        await redis.aclose()


async def test_a_restarted_dev_chain_is_indexed_again_from_the_start(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    db: asyncpg.Connection,
) -> None:
    first = make_devchain()
    send_eth(first, first.accounts[1], first.accounts[5], 10**18)
    await (await make_worker(first)).sync()
    second = make_devchain()  # same chain id and genesis, other blocks after it
    assert second.web3().eth.get_block(1)["hash"] != first.web3().eth.get_block(1)["hash"]

    strict = await make_worker(second, finality_depth=5)
    with pytest.raises(ReorgTooDeep):
        await strict.sync()
    lenient = await make_worker(second, finality_depth=5, reset_on_new_chain=True)
    await lenient.sync()

    w3 = second.web3()
    tip = w3.eth.block_number
    stored = {r["number"]: r["hash"] for r in await db.fetch("SELECT number, hash FROM evm_blocks")}
    assert stored == {n: bytes(w3.eth.get_block(n)["hash"]) for n in range(tip + 1)}
    state = await snapshot_counts(db)
    assert state["tx_count"] == state["transactions"] == tip  # one transaction per block
    assert b(first.accounts[5]) not in state["counters"]


async def test_one_worker_owns_the_lease_and_another_takes_over(
    make_devchain: Callable[[], DevChain],
    indexer_pool: asyncpg.Pool,
    redis_url: str,
    db: asyncpg.Connection,
) -> None:
    chain = make_devchain()
    redis = Redis.from_url(redis_url)
    config = devchain_price_config(chain.describe(), Decimal(1000))
    options = IndexerOptions(batch_blocks=10, poll_seconds=0.05, lease_ms=600)
    workers = [
        IndexerWorker(indexer_pool, redis, EvmRpc(chain.url), config, options) for _ in range(2)
    ]

    async def caught_up() -> None:
        tip = chain.web3().eth.block_number
        for _ in range(300):
            if await db.fetchval("SELECT last_block FROM evm_indexer_state") == tip:
                return
            await asyncio.sleep(0.05)
        pytest.fail("the indexer did not catch up")

    try:
        for worker in workers:
            worker.start()
        await caught_up()
        holders = [w for w in workers if w.holds_lease]
        assert len(holders) == 1
        await holders[0].close()
        send_eth(chain, chain.accounts[1], chain.accounts[5], 10**18)
        await caught_up()
        assert [w.holds_lease for w in workers if w is not holders[0]] == [True]
        state = await snapshot_counts(db)
        assert state["tx_count"] == state["transactions"]
        assert all(w.failed is None for w in workers)
    finally:
        for worker in workers:
            await worker.close()
        await redis.aclose()
