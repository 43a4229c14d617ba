"""kill -9 of the risk worker and of the persister while the mark walks through many liquidation
prices: every position is liquidated exactly once, its fee charged once, nobody ends below zero
and the ledger still sums to the deposits."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from tests.perps.risk_helpers import fund_deposit, open_long, place, position, set_mark
from tests.pipeline.conftest import Pipeline

LONGS = 12
SEED = 20261206


class Worker:
    """One `ordex worker ...` process, restartable after kill -9."""

    def __init__(self, roles: list[str], env: dict[str, str], log: Path) -> None:
        self.roles, self.env, self.log = roles, env, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "ordex"), "worker", *self.roles],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1
        self.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)


async def test_kill_dash_nine_liquidates_once(
    pipeline: Pipeline, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ORDEX_HOME": str(tmp_path / "home"),
        "ORDEX_LEASE_MS": "1000",
        "LOG_LEVEL": "warning",
    }
    pipe = Worker(["outbox", "matcher"], env, tmp_path / "pipe.log")
    persister = Worker(["persister"], env, tmp_path / "persister.log")
    risk = Worker(["risk"], env, tmp_path / "risk.log")
    for worker in (pipe, persister, risk):
        worker.start()
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
                risk.kill()
            elif roll < 0.4:
                persister.kill()
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
        for worker in (risk, persister, pipe):
            worker.stop()
    assert risk.kills >= 2 and persister.kills >= 1
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
