"""Funding under kill -9: the mark worker and the persister run as `ordex worker` processes and
are killed at random moments while one-second intervals are settled; once restarted and drained,
every settlement was paid exactly once (the engine's events, the payments and the ledger agree)
and every settlement sums to zero."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from decimal import Decimal
from pathlib import Path

from ordex.streams import entry_events, events_stream
from tests.perps.test_funding import (
    HOUSE_GETS,
    LONG_PAYS,
    MARK,
    RATE,
    SHORT_GETS,
    make_book,
    persisted,
    wait_for,
)
from tests.perps.worker_processes import WorkerProcesses, worker_env
from tests.pipeline.conftest import Pipeline

ROLES = ("persister", "mark")
SEED = 20261206


async def test_kill_dash_nine_pays_every_interval_once(
    pipeline: Pipeline, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    env = worker_env(database_url, redis_url, tmp_path / "home", ORDEX_FUNDING_INTERVAL_SECONDS="1")
    runtime = pipeline.runtime(roles=("outbox", "matcher"), lease_ms=1000)
    await runtime.start()
    workers = WorkerProcesses(env, tmp_path)
    try:
        for role in ROLES:
            workers.start(role)
        book = await make_book(pipeline)
        plan = [*ROLES, *ROLES, *rng.choices(ROLES, k=2)]
        rng.shuffle(plan)
        for role in plan:
            await asyncio.sleep(rng.uniform(0.4, 1.5))
            workers.kill(role)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            workers.start(role)
        await asyncio.sleep(2.0)
        workers.stop("mark")
        await wait_for(lambda: persisted(pipeline, runtime), 60)
    finally:
        workers.stop_all()
        await runtime.stop()
    assert Counter(workers.kills) == Counter(plan)

    settlements = await pipeline.pool.fetch(
        "SELECT interval_end, rate, mark_price, status, house_amount FROM funding_settlements"
    )
    assert len(settlements) >= 3
    assert {(s["rate"], s["mark_price"], s["status"]) for s in settlements} == {
        (RATE, MARK, "SETTLED")
    }
    assert {s["house_amount"] for s in settlements} == {HOUSE_GETS}
    sent = await pipeline.pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'engine.funding'")
    assert sent == len(settlements)

    # The engine's funding events, each once, are exactly what was booked.
    event_count = 0
    for _, fields in await pipeline.redis.xrange(events_stream("BTC-PERP")):
        for event in entry_events(fields):
            if event["type"] == "funding":
                event_count += 1
                for account, amount in event["payments"]:
                    assert (
                        Decimal(amount) == {book.long: LONG_PAYS, book.short: SHORT_GETS}[account]
                    )
    assert event_count == len(settlements)
    per_interval = await pipeline.pool.fetch(
        "SELECT interval_end, sum(amount) AS total, count(*) AS n FROM funding_payments"
        " GROUP BY interval_end"
    )
    assert len(per_interval) == len(settlements)
    assert all(r["n"] == 2 and r["total"] + HOUSE_GETS == 0 for r in per_interval)
    ledger = dict(
        await pipeline.pool.fetch(
            "SELECT account_id, sum(amount) FROM ledger_entries WHERE kind = 'FUNDING'"
            " GROUP BY account_id"
        )
    )
    n = len(settlements)
    assert ledger == {book.long: n * LONG_PAYS, book.short: n * SHORT_GETS, 1: n * HOUSE_GETS}
    await pipeline.ledger_matches_balances()
