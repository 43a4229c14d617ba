"""The worker process killed with SIGKILL while ingesting, then restarted, loses and doubles
nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg

from ordex.devchain import DevChain
from tests.indexer.traffic import send_eth, standard_traffic


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "ordex.workers.indexer"], env=env, stdout=out, stderr=out
        )


async def last_block(db: asyncpg.Connection) -> int | None:
    value = await db.fetchval("SELECT last_block FROM evm_indexer_state")
    return None if value is None else int(value)


async def test_kill_9_mid_ingest_then_restart(
    make_devchain: Callable[[], DevChain],
    database_url: str,
    redis_url: str,
    db: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    chain = make_devchain()
    standard_traffic(chain)
    for i in range(40):
        send_eth(chain, chain.accounts[1 + i % 4], chain.accounts[6 + i % 3], 10**15 + i)
    w3 = chain.web3()
    tip = w3.eth.block_number
    home = tmp_path / "home"
    (home / "devchain").mkdir(parents=True)
    (home / "devchain" / "devchain.json").write_text(json.dumps(chain.describe()))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ETH_RPC_URL": chain.url,
        "ORDEX_HOME": str(home),
        "ORDEX_LEASE_MS": "600",
        "INDEXER_BATCH_BLOCKS": "2",
        "INDEXER_POLL_SECONDS": "0.05",
        "LOG_LEVEL": "warning",
    }
    log = tmp_path / "worker.log"

    # Killed three times at different heights, each while it still had blocks to ingest.
    kills = []
    for target in (tip // 4, tip // 2, (3 * tip) // 4):
        process = start_worker(env, log)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                at = await last_block(db)
                if at is not None and at >= target:
                    break
                assert process.poll() is None, log.read_text()
                await asyncio.sleep(0.005)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
        kills.append(await last_block(db))
    assert all(k is not None and k < tip for k in kills), kills

    process = start_worker(env, log)
    try:
        deadline = time.monotonic() + 60
        while await last_block(db) != tip:
            assert time.monotonic() < deadline, log.read_text()
            assert process.poll() is None, log.read_text()
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()

    blocks = await db.fetch("SELECT number, hash FROM evm_blocks ORDER BY number")
    assert [r["number"] for r in blocks] == list(range(tip + 1))
    assert all(r["hash"] == bytes(w3.eth.get_block(r["number"])["hash"]) for r in blocks)
    expected_txs = {bytes(h) for n in range(tip + 1) for h in w3.eth.get_block(n)["transactions"]}
    stored_txs = [r["hash"] for r in await db.fetch("SELECT hash FROM evm_transactions")]
    assert len(stored_txs) == len(expected_txs) and set(stored_txs) == expected_txs
    state = await db.fetchrow("SELECT * FROM evm_indexer_state")
    assert state["tx_count"] == len(expected_txs)
    assert state["block_count"] == tip + 1
    assert state["transfer_count"] == await db.fetchval("SELECT count(*) FROM evm_token_transfers")
    mismatched = await db.fetchval(
        """SELECT count(*) FROM evm_address_counters c
           FULL JOIN (SELECT address, count(*) AS n FROM evm_address_transactions GROUP BY address) i
             ON i.address = c.address
           WHERE c.tx_count IS DISTINCT FROM i.n"""
    )
    assert mismatched == 0
