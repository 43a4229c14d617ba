"""The trade notifier: a `trade_executed` notification for every fill of a session order on
ordex's own markets (the internal venue), exactly once.

Those fills are settled by the persister, not by the session code, so the notifier follows the
persister's committed progress (`market_progress`) with a cursor per market: each round writes the
notifications of the new fills and moves the cursors in one transaction (a crash repeats the round
or finds it done), then pushes what it wrote. One notifier works at a time (a Redis lease); two
that overlap during a hand-over serialise on the cursors' row locks. Idle, a round is one cheap
query every `poll_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from ordex.db import trade_notifications as trade_notifications_repo
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import notifications
from ordex.workers.lease import Lease

log = get_logger(__name__)

LEASE_KEY = "notifications:trades:lease"


class TradeNotifier:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        *,
        lease_ms: int = 10_000,
        poll_seconds: float = 0.25,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._lease = Lease(redis, LEASE_KEY, lease_ms)
        self._poll_seconds = poll_seconds

    async def round(self) -> int:
        """One round: the notifications written (pushed once committed)."""
        async with self._pool.acquire() as conn:
            if not await trade_notifications_repo.has_backlog(conn):
                return 0
            async with conn.transaction():
                rows = await notifications.internal_fills(conn)
        for row in rows:
            await notifications.push(self._redis, row)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not await self._lease.acquire(stop):
                return
            try:
                while not stop.is_set():
                    if not await self._lease.keep():
                        log.warning("trade notifier lost its lease")
                        break
                    try:
                        written = await self.round()
                    except (asyncpg.PostgresError, OSError) as exc:
                        log.warning("trade notifier round failed", error=str(exc))
                        written = 0
                    if not written:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), self._poll_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await self._lease.release()
