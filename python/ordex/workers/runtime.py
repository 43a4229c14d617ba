"""The exchange workers in one process: the embedded default runs them inside the API process, and
`ordex worker ...` runs any subset of them on its own in production."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from typing import Any

import asyncpg

from ordex.db import outbox_publishing
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services.mark_prices import IndexPrices
from ordex.services.markets import Market, MarketRegistry
from ordex.workers.intake import IntakeWorker
from ordex.workers.mark_funding import MarkFundingWorker
from ordex.workers.matcher import Matcher
from ordex.workers.matcher_share import MatcherShare
from ordex.workers.outbox import OutboxPublisher
from ordex.workers.persister import Persister
from ordex.workers.risk import RiskWorker
from ordex.workers.trade_notifier import TradeNotifier

log = get_logger(__name__)

# `notifier`: trade notifications of session orders filled on ordex's markets (trade_notifier.py).
# `mark`: mark prices and funding of the perpetual markets (mark_funding.py).
# `risk`: liquidation and deleveraging of perpetual positions (risk.py).
ROLES = ("intake", "outbox", "matcher", "persister", "notifier", "mark", "risk")


async def load_markets(conn: Connection) -> dict[str, Market]:
    """Every market as the engine configures it."""
    registry = await MarketRegistry.load(conn)
    return {m.id: m for m in registry.markets}


class ExchangeRuntime:
    """Runs the chosen worker roles as asyncio tasks until stopped."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        markets: dict[str, Market],
        *,
        roles: Iterable[str] = ROLES,
        matcher_markets: Iterable[str] | None = None,
        snapshot_every: int = 20_000,
        lease_ms: int = 10_000,
        share_markets: bool = False,
        wait_replicas: int = 0,
        wait_ms: int = 1000,
    ) -> None:
        self.roles = set(roles)
        self.markets = markets
        self.publisher = OutboxPublisher(pool, redis, wait_replicas=wait_replicas, wait_ms=wait_ms)
        matched = list(matcher_markets or markets)
        # Several matcher processes over the same markets: each holds its fair share of them.
        self.share = MatcherShare(redis, matched, lease_ms) if share_markets else None
        self.matchers = {
            m: Matcher(
                pool,
                redis,
                m,
                markets[m].config,
                snapshot_every=snapshot_every,
                lease_ms=lease_ms,
                share=self.share,
            )
            for m in matched
        }
        self.persister = Persister(pool, redis, markets, lease_ms=lease_ms)
        self.intake = IntakeWorker(pool, redis, lease_ms=lease_ms)
        self.notifier = TradeNotifier(pool, redis, lease_ms=lease_ms)
        self.risk = RiskWorker(pool, redis, markets, lease_ms=lease_ms)
        self.mark = MarkFundingWorker(
            pool, redis, markets.values(), lease_ms=lease_ms, index=IndexPrices.from_env()
        )
        self._pool = pool
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._stop.clear()
        if "persister" in self.roles:
            await self.persister.ensure_groups()
        if "intake" in self.roles:
            await self.intake.ensure_group()
            self._spawn("intake", self.intake.run(self._stop))
        if "outbox" in self.roles:
            self._spawn("outbox", self.publisher.run(self._stop))
        if "matcher" in self.roles:
            if self.share is not None:
                await self.share.announce()
                self._spawn("matcher share", self.share.run(self._stop))
            for market_id, matcher in self.matchers.items():
                self._spawn(f"matcher {market_id}", matcher.run(self._stop))
        if "persister" in self.roles:
            self._spawn("persister", self.persister.run(self._stop))
        if "notifier" in self.roles:
            self._spawn("notifier", self.notifier.run(self._stop))
        if "mark" in self.roles:
            self._spawn("mark", self.mark.run(self._stop))
        if "risk" in self.roles:
            self._spawn("risk", self.risk.run(self._stop))

    def _spawn(self, name: str, work: Any) -> None:
        task = asyncio.create_task(self._guard(name, work), name=name)
        self._tasks.append(task)

    async def _guard(self, name: str, work: Any) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker stopped by an error", worker=name)
            raise

    async def stop(self) -> None:
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.mark.close()

    async def wait(self) -> None:
        """Until every worker task has ended (they end when stopped or on an error)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, within_seconds: float = 60.0) -> dict[str, Any]:
        """Waits until the intake stream is handled, the outbox is published, every matcher has
        applied its whole command stream and the persister has applied every event the matchers
        made."""
        deadline = time.monotonic() + within_seconds
        while True:
            intake_done = "intake" not in self.roles or await self.intake.caught_up()
            async with self._pool.acquire() as conn:
                unpublished = await outbox_publishing.pending_count(conn)
            matchers_done = all([await m.caught_up() for m in self.matchers.values()])
            persisted = all(
                self.persister.applied_seq.get(market_id, 0) >= m.engine.last_seq
                for market_id, m in self.matchers.items()
            )
            if intake_done and unpublished == 0 and matchers_done and persisted:
                return {
                    "drained": True,
                    "mode": "embedded",
                    "markets": {m: x.engine.last_seq for m, x in self.matchers.items()},
                }
            if time.monotonic() > deadline:
                return {"drained": False, "mode": "embedded", "unpublished": unpublished}
            await asyncio.sleep(0.02)


async def start_embedded(
    pool: asyncpg.Pool, redis: RedisClient, *, wait_replicas: int = 0, wait_ms: int = 1000
) -> ExchangeRuntime:
    """Starts every worker role in this process (the embedded default)."""
    async with pool.acquire() as conn:
        markets = await load_markets(conn)
    runtime = ExchangeRuntime(pool, redis, markets, wait_replicas=wait_replicas, wait_ms=wait_ms)
    await runtime.start()
    return runtime
