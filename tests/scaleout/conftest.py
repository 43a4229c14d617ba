"""One embedded Redis Cluster (3 masters, a replica each) for the scale-out tests, emptied before
each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis import Redis as SyncRedis

from ordex.embedded import EmbeddedRedisCluster


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedisCluster]:
    # A master silent for 1.5 s is replaced by its replica.
    cluster = EmbeddedRedisCluster(tmp_path_factory.mktemp("cluster"), node_timeout_ms=1500)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def cluster_url(redis_cluster: EmbeddedRedisCluster) -> AsyncIterator[str]:
    """The cluster's URL, every master flushed (FLUSHALL is per node in a cluster)."""
    for port, (role, _) in redis_cluster.roles().items():
        if role == "master":
            with SyncRedis(host="127.0.0.1", port=port) as node:
                node.flushall()
    yield redis_cluster.url()
