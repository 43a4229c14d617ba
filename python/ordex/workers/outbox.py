"""Outbox publisher: moves committed outbox rows to `engine.commands.{MARKET}` in id order.

One publisher at a time (a transaction-scoped advisory lock), so commands of a market reach its
stream in the order they were committed: a cancel is never published before the order it cancels.
Rows are marked published in the transaction that publishes them, committed after the XADDs: a
crash in between republishes them, and the matcher drops commands whose `cmd_id` it has already
applied.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import orjson
from redis.asyncio import Redis

from ordex.db import outbox_publishing
from ordex.logging import get_logger
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


class OutboxPublisher:
    def __init__(
        self, pool: asyncpg.Pool, redis: Redis, batch_size: int = 1000, poll_seconds: float = 0.5
    ):
        self._pool = pool
        self._redis = redis
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
                await self._append(keys=[commands_stream(market_id)], args=[orjson.dumps(payloads)])
            return len(rows)

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
                except (OSError, asyncpg.PostgresError, ConnectionError) as exc:
                    log.warning("outbox publish failed; retrying", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait(stop), timeout=self._poll_seconds)
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(NOTIFY_CHANNEL, self._on_notify)
            await self._pool.release(listener)

    async def _wait(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
