"""A seeded random walk of the mark over many leveraged accounts, through the real pipeline.

After every step, once the workers are quiet: no balance below zero, every asset's ledger sums
to the deposits (the house and the insurance fund included), positions sum to zero, and no
account is left under maintenance margin (each was liquidated, with the book, the fund or
deleveraging, within one check).
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from ordex.workers.risk import RiskWorker
from ordex.workers.runtime import ExchangeRuntime
from tests.perps.risk_helpers import ROLES, fund_deposit, place, position, set_mark, wait_for
from tests.pipeline.conftest import Pipeline

D = Decimal
TRADERS = 12
STEPS = 8


async def _quiet(pipeline: Pipeline, runtime: ExchangeRuntime, mark_ticks: int) -> None:
    async def seen() -> bool:
        return runtime.risk.index.marks.get("BTC-PERP") == mark_ticks

    await wait_for(seen, "the worker to read the mark")
    stable = 0
    while stable < 3:
        rounds = runtime.risk.rounds
        await runtime.drain()
        active = await pipeline.pool.fetchval(
            "SELECT count(*) FROM liquidations WHERE status <> 'DONE'"
        )

        async def next_round(rounds: int = rounds) -> bool:
            return runtime.risk.rounds >= rounds + 2

        await wait_for(next_round, "two more rounds of the risk worker")
        stable = stable + 1 if active == 0 else 0


@pytest.mark.parametrize("seed", [7, 2026])
async def test_price_path_keeps_everyone_whole(pipeline: Pipeline, seed: int) -> None:
    rng = random.Random(seed)
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        await fund_deposit(pipeline, "200")
        lp = await pipeline.account({"USDC": "10000000"})
        for k in range(1, 11):
            await place(pipeline, lp, "BUY", str(60000 - 600 * k), "0.1")
            await place(pipeline, lp, "SELL", str(60000 + 600 * k), "0.1")
        traders = []
        for _ in range(TRADERS // 2):
            qty = D(rng.randint(1, 5)) / 10
            notional = 60000 * qty
            pair = []
            for _side in ("SELL", "BUY"):
                margin = (notional * D(rng.randint(55, 120)) / 1000).quantize(D("0.01"))
                pair.append(await pipeline.account({"USDC": str(margin + 40)}))
            await place(pipeline, pair[0], "SELL", "60000", str(qty))
            await place(pipeline, pair[1], "BUY", "60000", str(qty))
            traders += pair

            async def opened(buyer: int = pair[1], qty: Decimal = qty) -> bool:
                return await position(pipeline, buyer) == qty

            await wait_for(opened, "a pair's trade")
        mark = D(60000)
        await set_mark(pipeline, str(mark))
        await _quiet(pipeline, runtime, 600000)
        market = pipeline.markets["BTC-PERP"]
        for step in range(STEPS):
            # Down first, then up further: longs, then shorts, are pushed through.
            move = -rng.randint(10, 30) if step < STEPS // 2 else rng.randint(20, 50)
            mark = (mark * (1 + D(move) / 1000)).quantize(D("0.1"))
            await set_mark(pipeline, str(mark))
            await _quiet(pipeline, runtime, market.price_to_ticks(mark))
            lowest = await pipeline.pool.fetchval("SELECT min(total) FROM balances")
            assert lowest >= 0
            await pipeline.ledger_matches_balances()
            net = await pipeline.pool.fetchval(
                "SELECT coalesce(sum(size), 0) FROM positions WHERE market_id = 'BTC-PERP'"
            )
            assert net == 0
            # A fresh index over the database at this mark: nobody under maintenance margin.
            check = RiskWorker(pipeline.pool, pipeline.redis, pipeline.markets)
            await check.load()
            check.index.set_mark("BTC-PERP", market.price_to_ticks(mark))
            assert check.index.full_scan() == set()
        liquidations = await pipeline.pool.fetchval("SELECT count(*) FROM liquidations")
        deleveraged = await pipeline.pool.fetchval("SELECT count(*) FROM adl_events")
        assert liquidations >= 3
        assert deleveraged >= 1
    finally:
        await runtime.stop()
