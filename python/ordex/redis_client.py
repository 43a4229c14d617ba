"""The one place Redis clients are built: a single server or a Redis Cluster, from `REDIS_URL`.

- `redis://host:port/db` (or `rediss://`, `unix://`): one server, `redis.asyncio.Redis`.
- `redis+cluster://host:port,host:port,...` (or `rediss+cluster://`, credentials as in a
  `redis://` URL): a Redis Cluster, `redis.asyncio.cluster.RedisCluster`, seeded from any of the
  listed nodes (one is enough; it discovers the rest). A cluster has database 0 only.

What ordex writes together stays on one slot: a market's streams and keys carry the market's hash
tag (`streams.py`), so the matcher's MULTI/EXEC and the scripts touch one slot. Reads that span
markets go market by market in cluster mode (`is_cluster`). Pub/sub is cluster-wide on any node:
`pubsub_url` names one node for the clients that take a plain URL (Socket.IO's manager).
"""

from __future__ import annotations

from typing import Any, TypeAlias
from urllib.parse import unquote, urlsplit

from redis.asyncio import ConnectionPool, Redis, SSLConnection
from redis.asyncio.cluster import ClusterNode, RedisCluster

RedisClient: TypeAlias = Redis | RedisCluster
"""What workers and services receive: either client has the same command methods."""

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def is_cluster(client: RedisClient) -> bool:
    return isinstance(client, RedisCluster)


def _cluster_parts(url: str) -> tuple[str, str, list[tuple[str, int]]]:
    """(plain scheme, credentials prefix `user:pass@` or "", [(host, port), ...])."""
    parts = urlsplit(url)
    plain = CLUSTER_SCHEMES[parts.scheme]
    userinfo, _, hosts = parts.netloc.rpartition("@")
    nodes: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a cluster node must be host:port, got {item!r}")
        nodes.append((host.strip("[]"), int(port)))
    if parts.path.strip("/") not in ("", "0"):
        raise ValueError("a Redis Cluster has database 0 only")
    return plain, (userinfo + "@" if userinfo else ""), nodes


def connect(url: str, **kwargs: Any) -> RedisClient:
    """A client for `url`: a `RedisCluster` for `redis+cluster://`, else a `Redis`."""
    if not is_cluster_url(url):
        return Redis.from_url(url, **kwargs)
    plain, userinfo, nodes = _cluster_parts(url)
    parts = urlsplit(url)
    if userinfo:
        kwargs.setdefault("username", unquote(parts.username) if parts.username else None)
        kwargs.setdefault("password", unquote(parts.password) if parts.password else None)
    if plain == "rediss":
        kwargs.setdefault("ssl", True)
    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes], **kwargs)


def pubsub_url(url: str) -> str:
    """A single-server URL for pub/sub: in a cluster, PUBLISH reaches subscribers on every node,
    so the first listed node serves."""
    if not is_cluster_url(url):
        return url
    plain, userinfo, nodes = _cluster_parts(url)
    host, port = nodes[0]
    return f"{plain}://{userinfo}{host}:{port}/0"


def parsed_reader(client: RedisClient, *commands: str, **options: Any) -> RedisClient:
    """A client on the same server(s) whose replies to `commands` come back as hiredis parsed
    them (`streams.as_parsed`), with `options` (e.g. `decode_responses`) applied: the workers'
    hot reads skip redis-py's per-entry reply callbacks. Shares the connections when no option
    changes them (one server)."""
    from ordex.streams import as_parsed

    reader: RedisClient
    if isinstance(client, RedisCluster):
        known = client.get_nodes() or client.startup_nodes
        nodes = [ClusterNode(n.host, n.port) for n in known]
        reader = RedisCluster(startup_nodes=nodes, **{**_auth_kwargs(client), **options})
    elif options:
        pool = client.connection_pool
        reader = Redis(
            connection_pool=ConnectionPool(
                connection_class=pool.connection_class,
                max_connections=2,
                **{**pool.connection_kwargs, **options},
            )
        )
    else:
        reader = Redis(connection_pool=client.connection_pool)
    for command in commands:
        reader.set_response_callback(command, as_parsed)
    return reader


async def close_reader(reader: RedisClient, client: RedisClient) -> None:
    """Closes what `parsed_reader` opened for itself (nothing when it shares `client`'s pool)."""
    if isinstance(reader, RedisCluster):
        await reader.aclose()
    elif isinstance(client, Redis) and reader.connection_pool is not client.connection_pool:
        await reader.connection_pool.disconnect()


def _auth_kwargs(client: RedisCluster) -> dict[str, Any]:
    base = client.connection_kwargs
    keep: dict[str, Any] = {
        k: v
        for k, v in base.items()
        if v is not None and (k in ("username", "password") or k.startswith("ssl_"))
    }
    if base.get("connection_class") is SSLConnection:
        keep["ssl"] = True
    return keep


class KeyNodeClients:
    """A plain client on the server that holds a key: the client itself for one server, the
    key's master for a cluster (one client per master, kept). Commands that must share one
    connection with a write, like WAIT after it, go in one non-transactional pipeline of it:
    a cluster pipeline would send a keyless WAIT to any node."""

    def __init__(self, client: RedisClient) -> None:
        self._client = client
        self._nodes: dict[tuple[str, int], Redis] = {}

    def for_key(self, key: str) -> Redis:
        if isinstance(self._client, Redis):
            return self._client
        node = self._client.get_node_from_key(key)
        if node is None:
            raise ConnectionError(f"no node holds the slot of {key!r} yet")
        address = (node.host, int(node.port))
        direct = self._nodes.get(address)
        if direct is None:
            direct = Redis(host=address[0], port=address[1], **_auth_kwargs(self._client))
            self._nodes[address] = direct
        return direct

    async def moved(self) -> None:
        """A write met MOVED (a failover or a resharding): the cluster client learns the new
        slot owners."""
        if isinstance(self._client, RedisCluster):
            await self._client.nodes_manager.initialize()

    async def aclose(self) -> None:
        for direct in self._nodes.values():
            await direct.aclose()
        self._nodes.clear()
