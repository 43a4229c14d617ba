"""The intake stream path: orders per second from `orders.intake` to persisted fills.

N order requests go to `orders.intake`: crossing pairs on the spot markets
BTC-USDC and ETH-USDC (a resting sell from one account, then a buy at the same price and
quantity from another), spread over many accounts, each request with a `reply_to` stream as a
producer sends it. The workers run as `ordex worker ROLE` processes, one per role (intake,
outbox, matcher, persister: the production layout), and once they run the clock starts, the requests
are appended (pre-encoded XADDs written on a raw connection, while the workers already consume them) and the clock stops when every
order's fill row is committed (`count(*) FROM fills` = N: each pair is one trade, a maker
and a taker fill). The intake worker submits each read of up to 500 requests as one set-based
batch in one transaction; the outbox publisher, matchers and persister batch as they always do.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast
from urllib.parse import urlsplit

import asyncpg
import hiredis
from redis.asyncio import Redis

from benchmarks.exchange.servers import (
    WorkerProcesses,
    backend_names,
    cpu_between,
    cpu_seconds,
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


def encode_xadds(entries: list[dict[str, str]]) -> list[bytes]:
    """`XADD orders.intake * field value ...` of every request in the RESP wire format, in
    chunks, encoded before the clock starts: what a producer sends, without a client library's
    per-command cost taking the cores from the workers being measured."""

    def bulk(text: str) -> bytes:
        data = text.encode()
        return b"$%d\r\n%s\r\n" % (len(data), data)

    head = bulk("XADD") + bulk(INTAKE_STREAM) + bulk("*")
    chunks: list[bytes] = []
    for start in range(0, len(entries), FILL_CHUNK):
        parts: list[bytes] = []
        for fields in entries[start : start + FILL_CHUNK]:
            parts.append(b"*%d\r\n" % (3 + 2 * len(fields)) + head)
            parts.extend(bulk(k) + bulk(v) for k, v in fields.items())
        chunks.append(b"".join(parts))
    return chunks


async def fill_intake(redis_url: str, chunks: list[bytes], count: int) -> None:
    """Writes the pre-encoded XADDs on a connection of its own, then reads the `count` replies
    (each an entry id, or an error that fails the run)."""
    url = urlsplit(redis_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    parser = hiredis.Reader()
    try:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        replies = 0
        while replies < count:
            data = await reader.read(1 << 16)
            if not data:
                raise ConnectionError("Redis closed the producer's connection")
            parser.feed(data)
            while (reply := parser.gets()) is not False:
                if isinstance(reply, Exception):
                    raise reply
                replies += 1
    finally:
        writer.close()


async def wait_for_fills(
    pool: asyncpg.Pool, workers: WorkerProcesses, count: int, started: float
) -> None:
    """Until `count` fill rows are committed. The newest fill id is an index look-up; the rows
    are counted (a scan) only once it says they may all be there, since a rolled-back batch
    leaves a gap in the ids. Counting every poll would put a scan of the growing table on the
    cores being measured."""
    fills = 0
    while fills < count:
        if time.perf_counter() - started > TIMEOUT_SECONDS:
            raise TimeoutError(f"{fills} of {count} fills after {TIMEOUT_SECONDS} s")
        workers.check()
        await asyncio.sleep(0.02)
        if (await pool.fetchval("SELECT coalesce(max(id), 0) FROM fills")) >= count:
            fills = await pool.fetchval("SELECT count(*) FROM fills")


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
            chunks = encode_xadds(requests(count, sellers, buyers))
            with WorkerProcesses(servers, WORKER_ROLES) as workers:
                await wait_until_ready(redis, workers, MARKETS)
                cpu_before = cpu_seconds(await backend_names(pool))
                started = time.perf_counter()
                await fill_intake(servers.redis_url, chunks, count)
                await wait_for_fills(pool, workers, count, started)
                seconds = time.perf_counter() - started
                cpu = cpu_between(cpu_before, cpu_seconds(await backend_names(pool)))
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
            cpu_seconds=cpu,
        )
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))
