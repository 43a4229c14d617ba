"""The session watcher: follows paper and live orders still working on their venue.

Every `ordex_session_watch_seconds` while such orders exist it runs one round:

- paper orders, market by market: the venue's new trade prints and current book trigger stops and
  fill resting limits (`services.venue_paper.watch_market`);
- live orders, one by one: the exchange's report of the order (`services.venue_live.sync`).

One watcher works at a time across API processes (a Redis lease); another process's watcher takes
over if it stops renewing. With nothing to watch it gives the lease back and sleeps until an order
starts resting (`wake`), so it costs nothing where sessions are not used. A market or an order
whose venue fails is logged and tried again next round.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict

import asyncpg

from ordex.db import session_orders as orders_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.session_orders import SessionOrderRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import venue_live, venue_paper
from ordex.services.errors import ServiceError
from ordex.services.markets import MarketRegistry
from ordex.services.session_order_requests import SessionContext
from ordex.services.venue_paper import MarketWatch
from ordex.services.venues import Venues
from ordex.workers.lease import Lease

log = get_logger(__name__)

LEASE_KEY = "sessions:watcher:lease"
ROUND_LIMIT = 1_000  # orders per venue per round
REGISTRY_MAX_AGE_SECONDS = 5.0


class SessionWatcher:
    def __init__(
        self, pool: asyncpg.Pool, redis: RedisClient, venues: Venues, *, lease_ms: int = 10_000
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._venues = venues
        self._lease = Lease(redis, LEASE_KEY, lease_ms)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._watches: dict[tuple[str, str, str], MarketWatch] = {}
        self._registry: tuple[float, MarketRegistry] | None = None
        self.rounds = 0

    @property
    def interval(self) -> float:
        return self._venues.settings.ordex_session_watch_seconds

    def wake(self) -> None:
        """An order started resting: watch (starts the loop on first use)."""
        self._wake.set()
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="session watcher")

    async def start_if_needed(self) -> None:
        """At startup: watch when orders were left working (a restart)."""
        try:
            async with self._pool.acquire() as conn:
                if await orders_repo.has_watched_orders(conn):
                    self.wake()
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("session watcher could not look for working orders", error=str(exc))

    async def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            if not await self._lease.acquire(self._stop):
                return
            try:
                while not self._stop.is_set() and await self._lease.keep():
                    try:
                        busy = await self.run_round()
                    except Exception as exc:  # a round never ends the watcher
                        log.error("session watcher round failed", error=str(exc), exc_info=exc)
                        busy = True
                    if not busy:
                        break
                    await self._sleep(self.interval)
            finally:
                with contextlib.suppress(Exception):
                    await self._lease.release()
            # Nothing to watch: sleep until an order rests here, or look again now and then
            # (another process's order, when that process's watcher is gone).
            await self._sleep(self.interval * 30)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _registry_for(self, conn: Connection) -> MarketRegistry:
        if (
            self._registry is None
            or time.monotonic() - self._registry[0] > REGISTRY_MAX_AGE_SECONDS
        ):
            self._registry = (time.monotonic(), await MarketRegistry.load(conn))
        return self._registry[1]

    async def run_round(self) -> bool:
        """One look at every working paper and live order; False when there are none."""
        self.rounds += 1
        async with self._pool.acquire() as conn:
            paper = await orders_repo.watched_orders(conn, "paper", ROUND_LIMIT)
            live = await orders_repo.watched_orders(conn, "live", ROUND_LIMIT)
            if not paper and not live:
                return False
            registry = await self._registry_for(conn)
            ids = {o.session_id for o in (*paper, *live) if o.session_id is not None}
            sessions = {s.id: s for s in await sessions_repo.get_sessions(conn, ids)}
            markets: defaultdict[tuple[str, str, str], list[SessionOrderRow]] = defaultdict(list)
            for order in paper:
                session = sessions.get(order.session_id) if order.session_id else None
                if session is not None:
                    markets[(order.exchange, session.market_type, order.symbol)].append(order)
            for key, orders in markets.items():
                await self._paper_market(conn, registry, key, orders)
            for order in live:
                session = sessions.get(order.session_id) if order.session_id else None
                if session is None:
                    continue
                ctx = self._context(conn, registry, order.user_id)
                try:
                    spec = await self._venues.spec(
                        registry, session.exchange, session.market_type, order.symbol
                    )
                    await venue_live.sync(ctx, session, spec, order)
                except ServiceError as exc:
                    log.warning("live order not synced", order=str(order.id), error=exc.message)
        return True

    def _context(
        self, conn: Connection, registry: MarketRegistry, user_id: uuid.UUID
    ) -> SessionContext:
        return SessionContext(conn, self._redis, registry, self._venues, user_id)

    async def _paper_market(
        self,
        conn: Connection,
        registry: MarketRegistry,
        key: tuple[str, str, str],
        orders: list[SessionOrderRow],
    ) -> None:
        exchange, market_type, symbol = key
        watch = self._watches.setdefault(key, MarketWatch())
        ctx = self._context(conn, registry, orders[0].user_id)
        try:
            spec = await self._venues.spec(registry, exchange, market_type, symbol)
            await venue_paper.watch_market(ctx, spec, orders, watch)
        except ServiceError as exc:
            log.warning(
                "paper market not watched", market=f"{exchange}:{symbol}", error=exc.message
            )
