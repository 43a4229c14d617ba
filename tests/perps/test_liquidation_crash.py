"""kill -9 of the risk worker and of the persister while the mark walks through many liquidation
prices: every position is liquidated exactly once, its fee charged once, nobody ends below zero
and the ledger still sums to the deposits."""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from pathlib import Path

from tests.perps.risk_helpers import fund_deposit, open_long, place, position, set_mark
from tests.perps.worker_processes import WorkerProcesses, worker_env
from tests.pipeline.conftest import Pipeline

LONGS = 12
SEED = 20261206


async def test_kill_dash_nine_liquidates_once(
    pipeline: Pipeline, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    workers = WorkerProcesses(worker_env(database_url, redis_url, tmp_path / "home"), tmp_path)
    for roles in ("outbox matcher", "persister", "risk"):
        workers.start(roles)
    try:
        await fund_deposit(pipeline, "100000")
        maker = await pipeline.account({"USDC": "10000000"})
        bidder = await pipeline.account({"USDC": "10000000"})
        longs = []
        for i in range(LONGS):
            # 0.1 BTC at 60,000 on 303 + 12 i USDC: liquidation prices from about 57,290 down.
            long = await pipeline.account({"USDC": str(303 + 12 * i)})
            await open_long(pipeline, long, maker, "60000", "0.1")
            longs.append(long)
        for k in range(60):
            await place(pipeline, bidder, "BUY", str(57500 - 50 * k), "0.1")
        mark = Decimal(60000)
        await set_mark(pipeline, str(mark))
        # The mark walks down through every liquidation price while the workers are killed.
        while mark > Decimal(54000):
            mark -= Decimal(rng.randint(50, 250))
            await set_mark(pipeline, str(mark))
            await asyncio.sleep(rng.uniform(0.02, 0.15))
            roll = rng.random()
            if roll < 0.25:
                workers.kill("risk", restart=True)
            elif roll < 0.4:
                workers.kill("persister", restart=True)
        deadline = time.monotonic() + 60
        while True:
            flat = [await position(pipeline, a) == 0 for a in longs]
            busy = await pipeline.pool.fetchval(
                "SELECT count(*) FROM liquidations WHERE status <> 'DONE'"
            )
            if all(flat) and busy == 0:
                break
            assert time.monotonic() < deadline, f"not liquidated: {flat}, {busy} in flight"
            await asyncio.sleep(0.2)
    finally:
        workers.stop_all()
    assert workers.kills.count("risk") >= 2 and workers.kills.count("persister") >= 1
    counts = await pipeline.pool.fetch(
        "SELECT account_id, count(*) AS n FROM liquidations GROUP BY account_id"
    )
    assert {r["account_id"]: r["n"] for r in counts} == dict.fromkeys(longs, 1)
    fees = await pipeline.pool.fetch(
        "SELECT account_id, count(*) AS n FROM ledger_entries WHERE kind = 'LIQUIDATION_FEE'"
        " AND account_id <> 2 GROUP BY account_id"
    )
    assert all(r["n"] == 1 for r in fees)
    assert await pipeline.pool.fetchval("SELECT min(total) FROM balances") >= 0
    await pipeline.ledger_matches_balances()
