"""Scale-out on a Redis Cluster: two API processes, two matcher processes sharing four markets by
their leases, a worker process (intake, outbox, persister). A matcher killed with -9 during a
burst hands its markets to the other within the lease time; a Redis master failed over to its
replica during a burst loses nothing. Either way the crash test's invariants hold afterwards."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from redis import Redis as SyncRedis
from redis.asyncio.cluster import RedisCluster

from ordex.embedded import EmbeddedRedisCluster
from ordex.redis_client import connect
from ordex.services.markets import MarketRegistry
from ordex.streams import INTAKE_STREAM, commands_stream
from tests.pipeline.conftest import Pipeline
from tests.pipeline.test_crash_recovery import assert_invariants, not_drained
from tests.scaleout.harness import (
    MARKETS,
    Deployment,
    Trader,
    base_env,
    burst,
    lease_holders,
    sign_up,
    wait_for,
)

LEASE_MS = 1000
ORDERS = 1200
DEPOSITS = {"USDC": "10000000", "BTC": "100000", "ETH": "100000"}

pytestmark = pytest.mark.slow


@pytest.fixture
async def pipeline(database_url: str, cluster_url: str) -> AsyncIterator[Pipeline]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    redis = connect(cluster_url)
    try:
        async with pool.acquire() as conn:
            registry = await MarketRegistry.load(conn)
        yield Pipeline(pool, redis, registry, {m.id: m for m in registry.markets})
    finally:
        await redis.aclose()
        await pool.close()


async def deploy(
    database_url: str, cluster_url: str, logs: Path, matchers: int
) -> tuple[Deployment, list[Trader]]:
    deployment = Deployment(base_env(database_url, cluster_url, LEASE_MS), logs)
    deployment.start("workers", "worker", "intake", "outbox", "persister")
    for i in range(matchers):
        deployment.start(f"matcher-{i}", "worker", "matcher")
    deployment.start_api("api-0")
    deployment.start_api("api-1")
    await deployment.wait_healthy()
    import httpx

    async with httpx.AsyncClient(base_url=deployment.api_urls[0], timeout=30) as client:
        traders = [await sign_up(client, DEPOSITS) for _ in range(4)]
    return deployment, traders


async def through_the_intake_stream(pipeline: Pipeline, count: int = 20) -> None:
    """Orders of trusted producers through `orders.intake` (the intake worker's reply scripts
    and XACK on the cluster), each answered `accepted` on its reply stream."""
    funded = "SELECT account_id FROM balances WHERE asset = 'USDC' AND total >= 1000000"
    accounts = [r["account_id"] for r in await pipeline.pool.fetch(funded)]
    for i in range(count):
        await pipeline.redis.xadd(
            INTAKE_STREAM,
            {
                "account": str(accounts[i % len(accounts)]),
                "reply_to": f"replies.scaleout.{i % 3}",
                "request_id": str(i),
                "marketId": MARKETS[i % len(MARKETS)],
                "side": "BUY" if i % 2 else "SELL",
                "type": "LIMIT",
                "quantity": "0.1",
                "price": "100",
                **({"leverage": "5"} if MARKETS[i % len(MARKETS)].endswith("PERP") else {}),
            },
        )

    async def answered() -> bool:
        return sum([await pipeline.redis.xlen(f"replies.scaleout.{i}") for i in range(3)]) == count

    await wait_for("the intake answers", answered, 15)
    for i in range(3):
        for _, fields in await pipeline.redis.xrange(f"replies.scaleout.{i}"):
            assert fields[b"status"] == b"accepted", fields


async def drain_and_stop(pipeline: Pipeline, deployment: Deployment) -> float:
    """Waits for the pipeline to catch up, then stops every process (matchers snapshot on
    SIGTERM); the seconds the catching up took."""

    async def drained() -> bool:
        return await not_drained(pipeline, MARKETS) is None

    try:
        return await wait_for("the pipeline drains", drained, 60)
    finally:
        deployment.stop()


async def test_killed_matcher_hands_its_markets_to_the_other(
    pipeline: Pipeline, database_url: str, cluster_url: str, tmp_path: Path
) -> None:
    deployment, traders = await deploy(database_url, cluster_url, tmp_path, matchers=2)
    try:
        pids = {deployment.procs[f"matcher-{i}"].pid for i in range(2)}

        async def spread() -> bool:
            held = Counter((await lease_holders(pipeline.redis)).values())
            return set(held) == pids and set(held.values()) == {2}

        # Whichever matcher came first held every market; the second takes its share.
        await wait_for("markets spread over both matchers", spread, 20)

        halfway = asyncio.Event()
        orders = asyncio.create_task(
            burst(deployment.api_urls, traders, ORDERS, seed=19, halfway=(ORDERS * 2 // 5, halfway))
        )
        await asyncio.wait(
            {orders, asyncio.ensure_future(halfway.wait())}, return_when=asyncio.FIRST_COMPLETED
        )
        victim = deployment.procs["matcher-0"].pid
        survivor = deployment.procs["matcher-1"].pid
        before = await lease_holders(pipeline.redis)
        deployment.kill("matcher-0")
        killed_at = time.monotonic()

        async def moved() -> bool:
            return set((await lease_holders(pipeline.redis)).values()) == {survivor}

        await wait_for("the killed matcher's markets move", moved, 10)
        took = time.monotonic() - killed_at
        statuses = await orders
        await through_the_intake_stream(pipeline)
        drained = await drain_and_stop(pipeline, deployment)
    finally:
        deployment.stop()
    print(
        f"matcher killed: markets moved in {took:.2f} s, drained {drained:.2f} s after the burst,"
    )
    print(f"  answers {dict(statuses)}")
    assert sum(1 for pid in before.values() if pid == victim) == 2
    # Within the lease time, plus the survivor's next look at the share (a third of it) and
    # its next try (a quarter of it).
    assert took < 3 * LEASE_MS / 1000, took
    assert statuses[202] >= ORDERS * 0.5, statuses
    assert set(statuses) <= {202, 400, 422}, statuses
    await assert_invariants(pipeline, MARKETS)


async def test_redis_master_failover_during_a_burst_loses_nothing(
    pipeline: Pipeline,
    database_url: str,
    cluster_url: str,
    redis_cluster: EmbeddedRedisCluster,
    tmp_path: Path,
) -> None:
    deployment, traders = await deploy(database_url, cluster_url, tmp_path, matchers=1)
    try:
        assert isinstance(pipeline.redis, RedisCluster)
        await pipeline.redis.initialize()
        key = commands_stream("BTC-PERP")
        master = pipeline.redis.get_node_from_key(key)
        roles = redis_cluster.roles()
        [replica] = [port for port, (_, of) in roles.items() if of == master.port]

        halfway = asyncio.Event()
        orders = asyncio.create_task(
            burst(deployment.api_urls, traders, ORDERS, seed=23, halfway=(ORDERS * 2 // 5, halfway))
        )
        await asyncio.wait(
            {orders, asyncio.ensure_future(halfway.wait())}, return_when=asyncio.FIRST_COMPLETED
        )
        # A manual failover: the replica catches up with its master, then the two swap.
        with SyncRedis(host="127.0.0.1", port=replica) as node:
            node.execute_command("CLUSTER FAILOVER")
        started = time.monotonic()

        async def promoted() -> bool:
            return redis_cluster.roles().get(replica, ("", None))[0] == "master"

        await wait_for("the replica takes over", promoted, 15)
        swapped = time.monotonic() - started
        statuses = await orders
        drained = await drain_and_stop(pipeline, deployment)
    finally:
        deployment.stop()
    print(f"master failed over in {swapped:.2f} s, drained {drained:.2f} s after the burst,")
    print(f"  answers {dict(statuses)}")
    assert swapped < 10, swapped
    assert redis_cluster.roles()[master.port] == ("slave", replica)
    # The outbox waited for a replica after its appends (ORDEX_REDIS_WAIT_REPLICAS=1).
    assert wait_calls(redis_cluster) > 0
    assert statuses[202] >= ORDERS * 0.5, statuses
    await assert_invariants(pipeline, MARKETS)


def wait_calls(cluster: EmbeddedRedisCluster) -> int:
    """WAIT commands served by the cluster's nodes so far."""
    calls = 0
    for port in cluster.roles():
        with SyncRedis(host="127.0.0.1", port=port) as node:
            stats = node.info("commandstats").get("cmdstat_wait", {})
        calls += int(stats.get("calls", 0))
    return calls
