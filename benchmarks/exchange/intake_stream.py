"""The intake stream path: orders per second from `orders.intake` to persisted fills.

N order requests go to `orders.intake`: crossing pairs on the spot markets
BTC-USDC and ETH-USDC (a resting sell from one account, then a buy at the same price and
quantity from another), spread over many accounts, each request with a `reply_to` stream as a
producer sends it. The workers run as `ordex worker ROLE` processes, one per role (intake,
outbox, matcher, persister: the production layout), and once they run the clock starts, the requests
are appended (pipelined, while the workers already consume them) and the clock stops when every
order's fill row is committed (`count(*) FROM fills` = N: each pair is one trade, a maker
and a taker fill). The intake worker submits each read of up to 500 requests as one set-based
batch in one transaction; the outbox publisher, matchers and persister batch as they always do.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import asyncpg
from redis.asyncio import Redis

from benchmarks.exchange.servers import (
    WorkerProcesses,
    create_accounts,
    embedded_servers,
    row,
    wait_until_ready,
)
from ordex.streams import INTAKE_STREAM

FULL_ORDERS = 20_000
QUICK_ORDERS = 2_000
ACCOUNTS_PER_SIDE = 100
MARKETS = ("BTC-USDC", "ETH-USDC")
REPLY_STREAM = "replies.bench"
FILL_CHUNK = 5_000
TARGET_RATE = 20_000
WORKER_ROLES = ("intake", "outbox", "matcher", "persister")
TIMEOUT_SECONDS = 600


def requests(count: int, sellers: list[int], buyers: list[int]) -> list[dict[str, str]]:
    """Crossing pairs: every sell rests until the buy right after it takes it in full."""
    out: list[dict[str, str]] = []
    for pair in range(count // 2):
        market = MARKETS[pair % len(MARKETS)]
        price = str(100 + pair % 50)
        for side, accounts in (("SELL", sellers), ("BUY", buyers)):
            out.append(
                {
                    "account": str(accounts[pair % len(accounts)]),
                    "reply_to": REPLY_STREAM,
                    "request_id": f"{pair}-{side}",
                    "marketId": market,
                    "side": side,
                    "type": "LIMIT",
                    "quantity": "0.001",
                    "price": price,
                }
            )
    return out


async def fill_intake(redis: Redis, entries: list[dict[str, str]]) -> None:
    for start in range(0, len(entries), FILL_CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for fields in entries[start : start + FILL_CHUNK]:
                pipe.xadd(INTAKE_STREAM, fields)  # type: ignore[arg-type]
            await pipe.execute()


async def measure(quick: bool) -> list[dict[str, Any]]:
    count = QUICK_ORDERS if quick else FULL_ORDERS
    with embedded_servers("intake") as servers:
        pool = await asyncpg.create_pool(servers.database_url, min_size=1, max_size=2)
        redis = Redis.from_url(servers.redis_url)
        try:
            sellers = await create_accounts(
                pool, ACCOUNTS_PER_SIDE, {"BTC": "1000", "ETH": "1000"}, "seller"
            )
            buyers = await create_accounts(pool, ACCOUNTS_PER_SIDE, {"USDC": "1000000"}, "buyer")
            entries = requests(count, sellers, buyers)
            with WorkerProcesses(servers, WORKER_ROLES) as workers:
                await wait_until_ready(redis, workers, MARKETS)
                started = time.perf_counter()
                await fill_intake(redis, entries)
                fills = 0
                while fills < count:
                    if time.perf_counter() - started > TIMEOUT_SECONDS:
                        raise TimeoutError(f"{fills} of {count} fills after {TIMEOUT_SECONDS} s")
                    workers.check()
                    await asyncio.sleep(0.02)
                    fills = await pool.fetchval("SELECT count(*) FROM fills")
                seconds = time.perf_counter() - started
            replies = cast(list[tuple[bytes, dict[bytes, bytes]]], await redis.xrange(REPLY_STREAM))
            refused = len([1 for _, fields in replies if fields.get(b"status") != b"accepted"])
        finally:
            await redis.aclose()
            await pool.close()
    rate = count / seconds
    return [
        row(
            "intake stream: orders.intake -> persisted fills",
            rate,
            "orders/s",
            f">= {TARGET_RATE:,}/s",
            rate >= TARGET_RATE,
            orders=count,
            seconds=seconds,
            refused=refused,
        )
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))
