"""kill -9 of the droid worker in the middle of a rebalance: the restarted worker reads the chain,
finishes the rebalance, and no position is minted twice or left unowned."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis

from ordex.db.pool import create_pool
from ordex.devchain import DevChain
from ordex.services.droid_txs import ControllerOptions
from ordex.workers.droids import DroidWorker, key_opener
from tests.droids.controller_support import (
    BOX_KEY,
    box,
    controller,
    fund_wallet,
    owned_positions,
    seed_droid,
    swap_to_price,
)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


def _start_worker(
    chain: DevChain, database_url: str, redis_url: str, home: Path, hold: str | None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ETH_RPC_URL": chain.url,
        "ORDEX_UNISWAP_POSITION_MANAGER": chain.contracts["nonfungible_position_manager"],
        "ORDEX_UNISWAP_SWAP_ROUTER": chain.contracts["swap_router"],
        "ORDEX_SECRET_KEY": BOX_KEY,
        "ORDEX_HOME": str(home),
        "ORDEX_LEASE_MS": "1000",
        "DROID_POLL_SECONDS": "0.2",
        "DROID_HISTORY_SECONDS": "3600",
        "DROID_RECEIPT_SECONDS": "20",
    }
    env.pop("ORDEX_DROID_HOLD_AT", None)
    if hold is not None:
        env["ORDEX_DROID_HOLD_AT"] = f"rebalance:{hold}"
        env["ORDEX_DROID_HOLD_FILE"] = str(home / "held")
    return subprocess.Popen(
        [sys.executable, "-m", "ordex.workers.droids"],
        env=env,
        cwd=home,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _wait_for(check: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await check() if asyncio.iscoroutinefunction(check) else not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("hold", ["intent", "sent"])
async def test_kill_mid_rebalance_then_restart_finishes_exactly_once(
    pool: asyncpg.Pool,
    database_url: str,
    redis_url: str,
    ordex_home: Path,
    make_devchain: Callable[[], DevChain],
    hold: str,
) -> None:
    chain = make_devchain()
    fund_wallet(chain)
    async with pool.acquire() as conn:
        droid_id = await seed_droid(conn, chain)
    first = controller(pool, chain, droid_id)
    assert (await first.step()).startswith("rebalanced initial")
    await first.close()
    before = owned_positions(chain)
    assert len(before) == 3

    swap_to_price(chain, Decimal(3200))  # through the rising trigger
    worker = _start_worker(chain, database_url, redis_url, ordex_home, hold)
    try:
        await _wait_for(lambda: (ordex_home / "held").exists(), 60, "the held rebalance")
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    async with pool.acquire() as conn:
        pending = await conn.fetch(
            "SELECT kind, tx_hash FROM droid_transactions WHERE droid_id = $1 AND status = 'pending'",
            droid_id,
        )
    assert len(pending) == 1  # the intent row of the first transaction, receipt not recorded
    receipt = (
        chain.web3().eth.get_transaction_receipt(pending[0]["tx_hash"]) if hold == "sent" else None
    )
    if hold == "sent":
        assert receipt is not None and receipt["status"] == 1
    else:
        with pytest.raises(Exception, match="not found"):
            chain.web3().eth.get_transaction_receipt(pending[0]["tx_hash"])

    # The restart: a worker in this process, once the killed one's lease has expired.
    redis = Redis.from_url(redis_url)
    restarted = DroidWorker(
        pool,
        redis,
        chain.url,
        chain.contracts["nonfungible_position_manager"],
        key_opener(box()),
        swap_router=chain.contracts["swap_router"],
        poll_seconds=0.2,
        lease_ms=1000,
        options=ControllerOptions(snapshot_seconds=3600, receipt_seconds=20),
    )
    restarted.start()

    async def finished() -> bool:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT last_result, state ? 'rebalance' AS busy FROM droid_sessions "
                "WHERE droid_id = $1 AND stopped_at IS NULL",
                droid_id,
            )
        return row is not None and not row["busy"] and row["last_result"] == "holding"

    try:
        await _wait_for(finished, 60, "the rebalance to finish")
    finally:
        await restarted.close()
        await redis.aclose()

    after = owned_positions(chain)
    async with pool.acquire() as conn:
        txs = await conn.fetch(
            "SELECT intent_id, kind, status, nonce, tx_hash, result::text AS result "
            "FROM droid_transactions WHERE droid_id = $1 ORDER BY id",
            droid_id,
        )
        bots = await conn.fetch(
            "SELECT token_id, liquidity, status FROM droid_bots WHERE droid_id = $1 ORDER BY token_id",
            droid_id,
        )
    # Every transaction mined exactly once, none pending, nonces consecutive without repeats.
    assert [t["status"] for t in txs] == ["mined"] * len(txs)
    nonces = [t["nonce"] for t in txs]
    assert nonces == list(range(nonces[0], nonces[0] + len(txs)))
    intents = list(dict.fromkeys(t["intent_id"] for t in txs))
    assert len(intents) == 2  # the first ladder and one rebalance
    rebalance = [t for t in txs if t["intent_id"] == intents[1]]
    mints = [t for t in rebalance if t["kind"] == "mint"]
    burns = [t for t in rebalance if t["kind"] == "burn"]
    assert mints and burns
    # What is owned is exactly the ACTIVE bots, all with liquidity; burned ones are CLOSED.
    active = [(int(b["token_id"]), int(b["liquidity"])) for b in bots if b["status"] == "ACTIVE"]
    assert active == [(p[0], p[3]) for p in after]
    assert all(p[3] > 0 for p in after)
    assert len(after) == 3
    assert len({(p[1], p[2]) for p in after}) == 3  # no range minted twice
    closed = {int(b["token_id"]) for b in bots if b["status"] == "CLOSED"}
    assert closed == {p[0] for p in before} - {p[0] for p in after}
    assert len(bots) == len(before) + len(mints)
