"""Outbox publisher: moves committed outbox rows to `engine.commands.{MARKET}` in id order.

One publisher at a time (a transaction-scoped advisory lock), so commands of a market reach its
stream in the order they were committed: a cancel is never published before the order it cancels.
Rows are marked published in the transaction that publishes them, committed after the XADDs: a
crash in between republishes them, and the matcher drops commands whose `cmd_id` it has already
applied.

With `wait_replicas` (`ORDEX_REDIS_WAIT_REPLICAS`, for a Redis with replicas: a cluster), each
market's append is followed by WAIT on the same connection: the rows are committed as published
only once that many replicas hold the commands. A master that dies and is replaced by its replica
then cannot take acknowledged commands with it; a WAIT that times out, or a write cut by the
failover, rolls the round back and it is published again (to the new master).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import orjson
from redis.exceptions import RedisError, ResponseError

from ordex.db import outbox_publishing
from ordex.logging import get_logger
from ordex.redis_client import KeyNodeClients, RedisClient
from ordex.streams import commands_stream

log = get_logger(__name__)

NOTIFY_CHANNEL = "outbox"
# XADD of each payload of a JSON array of strings to KEYS[1] (an entry `payload` each), in order.
APPEND_COMMANDS = """
local payloads = cjson.decode(ARGV[1])
for _, payload in ipairs(payloads) do
    redis.call('XADD', KEYS[1], '*', 'payload', payload)
end
return #payloads
"""


class ReplicationLagging(ConnectionError):
    """Fewer replicas than required acknowledged an append within the wait: the round is rolled
    back and published again."""


class OutboxPublisher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        batch_size: int = 1000,
        poll_seconds: float = 0.5,
        *,
        wait_replicas: int = 0,
        wait_ms: int = 1000,
    ):
        self._pool = pool
        self._redis = redis
        self._wait_replicas = wait_replicas
        self._wait_ms = wait_ms
        self._key_nodes = KeyNodeClients(redis)
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._append = redis.register_script(APPEND_COMMANDS)

    async def publish_once(self, wait: bool = False) -> int:
        """Publishes one batch; returns how many rows it moved. Without `wait`, returns 0 at once
        while another publisher holds the lock."""
        async with self._pool.acquire() as conn, conn.transaction():
            if wait:
                await outbox_publishing.lock(conn)
                rows = await outbox_publishing.claim_unpublished(conn, self._batch_size)
            else:
                rows = await outbox_publishing.try_claim_unpublished(conn, self._batch_size)
            if not rows:
                return 0
            by_market: dict[str, list[str]] = {}
            for row in rows:
                by_market.setdefault(row.market_id, []).append(row.payload)
            for market_id, payloads in by_market.items():
                # One script call per market: an XADD per row packed by redis-py costs more
                # than the rest of the round. Called directly (EVALSHA, the script loaded again
                # should the server have lost it): in a pipeline redis-py would first ask
                # SCRIPT EXISTS, a round trip more every round.
                key, encoded = commands_stream(market_id), orjson.dumps(payloads)
                if self._wait_replicas:
                    await self._append_replicated(key, encoded)
                else:
                    await self._append(keys=[key], args=[encoded])
            return len(rows)

    async def _append_replicated(self, key: str, encoded: bytes) -> None:
        """The append and a WAIT for the replicas on one connection of the key's master (WAIT
        waits for the writes of its own connection)."""
        node = self._key_nodes.for_key(key)
        try:
            async with node.pipeline(transaction=False) as pipe:
                pipe.eval(APPEND_COMMANDS, 1, key, encoded)
                pipe.wait(self._wait_replicas, self._wait_ms)
                _, acknowledged = await pipe.execute()
        except ResponseError as exc:
            if str(exc).startswith("MOVED"):
                await self._key_nodes.moved()
            raise
        if acknowledged < self._wait_replicas:
            raise ReplicationLagging(
                f"{key}: {acknowledged} of {self._wait_replicas} replicas within {self._wait_ms} ms"
            )

    async def publish_all(self, wait: bool = False) -> int:
        """Publishes until nothing is pending; with `wait`, also rows another publisher was busy
        with when this call started are published (by it or by this call) before returning."""
        total = 0
        while moved := await self.publish_once(wait):
            total += moved
            if moved < self._batch_size:
                # A short round saw every committed row: one committed since then notifies
                # and wakes the next round, so an empty round to make sure is not needed.
                break
        return total

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes on every NOTIFY, and every `poll_seconds` as a fallback, until `stop` is set."""
        listener = await self._pool.acquire()
        try:
            await listener.add_listener(NOTIFY_CHANNEL, self._on_notify)
            while not stop.is_set():
                # Cleared before publishing, not after: a NOTIFY for a row committed while this
                # round runs must wake the next round, not wait for the poll.
                self._wake.clear()
                try:
                    await self.publish_all()
                except (OSError, asyncpg.PostgresError, ConnectionError, RedisError) as exc:
                    # Nothing was committed as published: the next round sends the rows again.
                    log.warning("outbox publish failed; retrying", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), timeout=self._poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            await self._pool.release(listener)
            await self._key_nodes.aclose()

    async def _wait(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
