"""`REDIS_URL` forms: a single server, or a Redis Cluster by `redis+cluster://`."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from ordex.redis_client import connect, is_cluster, is_cluster_url, parsed_reader, pubsub_url


def test_a_plain_url_is_one_server() -> None:
    client = connect("redis://127.0.0.1:6390/3")
    assert isinstance(client, Redis) and not is_cluster(client)
    assert client.connection_pool.connection_kwargs["db"] == 3
    assert pubsub_url("redis://127.0.0.1:6390/3") == "redis://127.0.0.1:6390/3"


def test_a_cluster_url_lists_its_seed_nodes_and_credentials() -> None:
    url = "rediss+cluster://user:p%40ss@10.0.0.1:7000,10.0.0.2:7001"
    assert is_cluster_url(url)
    client = connect(url)
    assert isinstance(client, RedisCluster) and is_cluster(client)
    assert [(n.host, n.port) for n in client.startup_nodes] == [
        ("10.0.0.1", 7000),
        ("10.0.0.2", 7001),
    ]
    assert client.connection_kwargs["username"] == "user"
    assert client.connection_kwargs["password"] == "p@ss"
    # Pub/sub reaches every node's subscribers: one node serves.
    assert pubsub_url(url) == "rediss://user:p%40ss@10.0.0.1:7000/0"
    # The workers' parsed readers keep the credentials and TLS.
    reader = parsed_reader(client, "XRANGE", decode_responses=True)
    assert isinstance(reader, RedisCluster)
    assert reader.connection_kwargs["password"] == "p@ss"
    assert reader.connection_kwargs["decode_responses"] is True
    assert reader.connection_kwargs["connection_class"].__name__ == "SSLConnection"


@pytest.mark.parametrize(
    "url", ["redis+cluster://10.0.0.1:7000/2", "redis+cluster://10.0.0.1", "redis+cluster://"]
)
def test_a_bad_cluster_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        connect(url)
