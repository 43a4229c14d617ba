"""Matchers on a Redis Cluster: orders per second over four markets with one and with two
`ordex worker matcher` processes.

An embedded Redis Cluster (three masters, a replica each, `ordex.embedded.EmbeddedRedisCluster`)
and an embedded PostgreSQL. For each matcher count: the cluster is emptied and the snapshots
deleted, the matcher processes are started (`ordex worker matcher`, every market: the processes
spread the markets by their leases, `workers/matcher_share.py`) while the benchmark holds every
market's lease; N engine commands per market (the seeded workload of `benchmarks.peers.workload`,
as in `matcher_relay`) are appended to `engine.commands.{MARKET}` of the four markets; then the
benchmark lets the leases go and the clock runs until every market's progress key is at its last
command. Each process takes its share of the leases and applies its markets' commands (the
matcher's recovery: XRANGE batches of 2,000 through the engine, one MULTI/EXEC per batch, as a
matcher taking over a market does). The processes are checked to have split the markets.

python -m benchmarks.exchange --only scaleout [--quick]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import asyncpg
from redis import Redis as SyncRedis

from benchmarks.exchange.matcher_relay import encode_commands
from benchmarks.exchange.servers import row
from benchmarks.peers.workload import WorkloadSpec, generate
from ordex.db.migrate import migrate
from ordex.embedded import EmbeddedPostgres, EmbeddedRedisCluster
from ordex.redis_client import RedisClient, connect
from ordex.streams import commands_stream, matcher_lease_key, matcher_progress_key
from ordex.workers.matcher_share import members_key
from ordex.workers.runtime import load_markets

MARKETS = ("BTC-PERP", "ETH-PERP", "BTC-USDC", "ETH-USDC")
FULL_COMMANDS = 100_000  # per market
QUICK_COMMANDS = 3_000
FILL_CHUNK = 2_000
LEASE_MS = 1_000
TIMEOUT_SECONDS = 600
BIN = Path(sys.executable).parent / "ordex"


async def lease_pids(redis: RedisClient) -> Counter[int]:
    """How many markets each matcher process holds (by pid, from the lease owner)."""
    held: Counter[int] = Counter()
    for market in MARKETS:
        owner = await redis.get(matcher_lease_key(market))
        if owner:
            held[int(owner.decode().split(":")[1])] += 1
    return held


async def fill(redis: RedisClient, payloads: dict[str, list[bytes]]) -> float:
    """Appends every market's commands, the markets side by side; the seconds it took."""

    async def one(market: str) -> None:
        stream = commands_stream(market)
        for start in range(0, len(payloads[market]), FILL_CHUNK):
            pipe = redis.pipeline(transaction=False)
            for payload in payloads[market][start : start + FILL_CHUNK]:
                pipe.xadd(stream, {"payload": payload})
            await pipe.execute()

    started = time.perf_counter()
    await asyncio.gather(*(one(m) for m in MARKETS))
    return time.perf_counter() - started


def _stream_id(entry_id: bytes) -> tuple[int, int]:
    millis, _, seq = entry_id.partition(b"-")
    return int(millis), int(seq or 0)


async def applied(redis: RedisClient, last_ids: dict[str, bytes]) -> bool:
    """Whether every market's matcher is at or past the last command appended (the matchers'
    own `advance_time` ticks come after it)."""
    for market, last in last_ids.items():
        progress = await redis.get(matcher_progress_key(market))
        if progress is None or _stream_id(progress) < _stream_id(last):
            return False
    return True


def start_matchers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(count):
        with (logs / f"matcher-{count}-{i}.log").open("ab") as log:
            procs.append(
                subprocess.Popen(
                    [str(BIN), "worker", "matcher"], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def flush(cluster: EmbeddedRedisCluster) -> None:
    for port, (role, _) in cluster.roles().items():
        if role == "master":
            with SyncRedis(host="127.0.0.1", port=port) as node:
                node.flushall()


async def one_round(
    matchers: int,
    cluster: EmbeddedRedisCluster,
    pool: asyncpg.Pool,
    payloads: dict[str, list[bytes]],
    env: dict[str, str],
    logs: Path,
) -> dict[str, float]:
    flush(cluster)
    await pool.execute("DELETE FROM engine_snapshots")
    redis = connect(cluster.url())
    # The benchmark holds every market's lease while the commands go in, so the matchers wait.
    for market in MARKETS:
        await redis.set(matcher_lease_key(market), "benchmark:0:hold", px=300_000)
    procs = start_matchers(matchers, env, logs)
    try:
        deadline = time.perf_counter() + 60
        while await redis.zcard(members_key(MARKETS)) < matchers:  # every process announced
            if time.perf_counter() > deadline:
                raise TimeoutError("matcher processes did not start")
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a matcher exited; see {logs}")
            await asyncio.sleep(0.1)
        fill_seconds = await fill(redis, payloads)
        last_ids: dict[str, bytes] = {}
        for market in MARKETS:
            newest = cast(
                list[tuple[bytes, Any]], await redis.xrevrange(commands_stream(market), count=1)
            )
            last_ids[market] = newest[0][0]
        started = time.perf_counter()
        for market in MARKETS:  # go: each process takes its share of the leases
            await redis.delete(matcher_lease_key(market))
        while not await applied(redis, last_ids):
            if time.perf_counter() - started > TIMEOUT_SECONDS:
                raise TimeoutError("matchers did not catch up")
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        held = await lease_pids(redis)
        if len(held) != matchers or max(held.values()) > -(-len(MARKETS) // matchers):
            raise RuntimeError(f"the markets did not spread over the matchers: {held}")
    finally:
        stop(procs)
        await redis.aclose()
    return {"seconds": seconds, "fill_seconds": fill_seconds}


async def measure(quick: bool) -> list[dict[str, Any]]:
    per_market = QUICK_COMMANDS if quick else FULL_COMMANDS
    home = Path(tempfile.mkdtemp(prefix="ordex-bench-scaleout-"))
    postgres = EmbeddedPostgres(home / "postgres")
    cluster = EmbeddedRedisCluster(home / "cluster")
    try:
        database_url = postgres.start()
        migrate(database_url)
        cluster.start()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": cluster.url(),
            "ORDEX_HOME": str(home / "ordex-home"),
            "ORDEX_LEASE_MS": str(LEASE_MS),
            "LOG_LEVEL": "warning",
        }
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                markets = await load_markets(conn)
            workload = generate(WorkloadSpec(commands=per_market))
            payloads = {m: encode_commands(markets[m].config, workload) for m in MARKETS}
            results = {n: await one_round(n, cluster, pool, payloads, env, home) for n in (1, 2)}
        finally:
            await pool.close()
    finally:
        try:
            cluster.stop()
        finally:
            postgres.stop()
            shutil.rmtree(home, ignore_errors=True)
    total = per_market * len(MARKETS)
    rates = {n: total / r["seconds"] for n, r in results.items()}
    return [
        row(
            f"matchers on a Redis Cluster, 4 markets, {n} process{'es' if n > 1 else ''}",
            rates[n],
            "orders/s",
            "(reported)",
            None,
            ratio=rates[n] / rates[1] if n > 1 else None,
            commands=total,
            seconds=results[n]["seconds"],
            append_rate=total / results[n]["fill_seconds"],
        )
        for n in (1, 2)
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))
