"""Order accepted to fill persisted, at a steady 1,000 orders per second.

Open loop: order i is due at start + i / rate, and each is submitted in its own task when due
(a slow order never delays the next), through an `OrderBatcher` on a pool of connections: the
very call `POST /orders` makes before it answers 202 (concurrent orders share a transaction). Orders are crossing pairs
on BTC-USDC (a sell and a buy at the same price and quantity, from different accounts), so every
order fills. The workers run as `ordex worker ROLE` processes (outbox, matcher, persister).
Latency of an order: from `submit` returning (its transaction committed: the 202) until a
poller, reading new `fills` rows every 2 ms, first sees a fill of that order. A maker's latency
includes the wait for its taker (one period, 1 ms at 1,000/s: pairs are submitted back to back).
The submitting side runs on uvloop, as granian runs the API. `achieved_rate` says whether this
process kept up with the offered rate: if not, orders queued in it and the latencies are those of
a lower rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from decimal import Decimal
from typing import Any

import asyncpg
from redis.asyncio import Redis

from benchmarks.exchange.servers import (
    WorkerProcesses,
    backend_names,
    cpu_between,
    cpu_seconds,
    create_accounts,
    embedded_servers,
    percentile,
    row,
    wait_until_ready,
)
from ordex.services.markets import MarketRegistry
from ordex.services.order_batcher import OrderBatcher
from ordex.services.order_requests import OrderRequest

MARKET = "BTC-USDC"
FULL_RATE, FULL_SECONDS = 1_000, 20.0
QUICK_RATE, QUICK_SECONDS = 200, 2.0
LOW_RATE, LOW_SECONDS = 100, 10.0
ACCOUNTS_PER_SIDE = 50
POLL_SECONDS = 0.002
SETTLE_SECONDS = 30.0
TARGET_P99_MS = 50.0
WORKER_ROLES = ("outbox", "matcher", "persister")


class FillWatcher:
    """When each order's first fill row became visible (polling new rows by id)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.seen: dict[int, float] = {}
        self._last_id = 0

    async def run(self, stop: asyncio.Event) -> None:
        async with self._pool.acquire() as conn:
            while not stop.is_set():
                rows = await conn.fetch(
                    "SELECT id, order_id FROM fills WHERE id > $1 ORDER BY id", self._last_id
                )
                now = time.perf_counter()
                for r in rows:
                    self.seen.setdefault(r["order_id"], now)
                if rows:
                    self._last_id = rows[-1]["id"]
                await asyncio.sleep(POLL_SECONDS)


async def measure(quick: bool) -> list[dict[str, Any]]:
    if quick:
        return await measure_at(QUICK_RATE, QUICK_SECONDS, target=False)
    rows = await measure_at(FULL_RATE, FULL_SECONDS, target=True)
    # At a rate the machine sustains as well: the pipeline's own latency, without overload.
    return rows + await measure_at(LOW_RATE, LOW_SECONDS, target=False)


async def measure_at(rate: int, seconds: float, *, target: bool) -> list[dict[str, Any]]:
    total = int(rate * seconds) // 2 * 2
    with embedded_servers("latency") as servers:
        pool = await asyncpg.create_pool(servers.database_url, min_size=4, max_size=16)
        redis = Redis.from_url(servers.redis_url)
        try:
            sellers = await create_accounts(pool, ACCOUNTS_PER_SIDE, {"BTC": "1000"}, "seller")
            buyers = await create_accounts(pool, ACCOUNTS_PER_SIDE, {"USDC": "1000000"}, "buyer")
            async with pool.acquire() as conn:
                registry = await MarketRegistry.load(conn)
            accepted: dict[int, float] = {}
            batcher = OrderBatcher(pool, redis)
            takers: set[int] = set()  # the buys: each arrives after its sell and trades at once
            late: list[float] = []

            async def submit(i: int, due: float) -> None:
                late.append(time.perf_counter() - due)
                pair, side = divmod(i, 2)
                accounts = buyers if side else sellers
                request = OrderRequest(
                    market_id=MARKET,
                    side="BUY" if side else "SELL",
                    order_type="LIMIT",
                    quantity=Decimal("0.001"),
                    price=Decimal("100"),
                )
                submitted = await batcher.submit(registry, accounts[pair % len(accounts)], request)
                accepted[submitted.inserted.id] = time.perf_counter()
                if side:
                    takers.add(submitted.inserted.id)

            with WorkerProcesses(servers, WORKER_ROLES) as workers:
                await wait_until_ready(redis, workers, (MARKET,), intake=False)
                watcher, stop = FillWatcher(pool), asyncio.Event()
                watching = asyncio.create_task(watcher.run(stop))
                tasks: list[asyncio.Task[None]] = []
                cpu_before = cpu_seconds(await backend_names(pool))
                start = time.perf_counter()
                for i in range(total):
                    due = start + i / rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(submit(i, due)))
                await asyncio.gather(*tasks)
                sent_seconds = time.perf_counter() - start
                deadline = time.perf_counter() + SETTLE_SECONDS
                while len(watcher.seen) < total and time.perf_counter() < deadline:
                    workers.check()
                    await asyncio.sleep(0.05)
                cpu = cpu_between(cpu_before, cpu_seconds(await backend_names(pool)))
                stop.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
                await batcher.close()
        finally:
            await redis.aclose()
            await pool.close()
    latencies = sorted(
        (watcher.seen[o] - t) * 1000 for o, t in accepted.items() if o in watcher.seen
    )
    late.sort()
    taker_latencies = sorted(
        (watcher.seen[o] - t) * 1000
        for o, t in accepted.items()
        if o in watcher.seen and o in takers
    )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    details = {
        "orders": total,
        "offered_rate": rate,
        "achieved_rate": round(total / sent_seconds, 1),
        "filled": len(latencies),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "taker_p50_ms": round(percentile(taker_latencies, 50), 2),
        "taker_p99_ms": round(percentile(taker_latencies, 99), 2),
        "submit_start_late_p99_ms": round(percentile(late, 99) * 1000, 2),
        "batches": batcher.batches,
        "largest_batch": batcher.largest_batch,
    }
    achieved_rate = total / sent_seconds
    achieved = row(
        f"accepted -> fill persisted: orders submitted (offered {rate:,}/s)",
        achieved_rate,
        "orders/s",
        f">= {0.95 * rate:,.0f}/s (keeps up)",
        achieved_rate >= 0.95 * rate,
    )
    return [
        *([achieved] if target else []),
        row(
            f"accepted -> fill persisted, p50 @ {rate:,}/s",
            p50,
            "ms",
            "(reported)",
            None,
            **details,
        ),
        row(
            f"accepted -> fill persisted, p99 @ {rate:,}/s",
            p99,
            "ms",
            f"< {TARGET_P99_MS:g} ms" if target else "(reported)",
            p99 < TARGET_P99_MS and len(latencies) == total if target else None,
            **details,
            cpu_seconds=cpu,
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    # uvloop, as granian picks it for the API workers when it is installed.
    try:
        import uvloop
    except ImportError:
        return asyncio.run(measure(quick))
    return uvloop.run(measure(quick))
