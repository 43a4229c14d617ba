"""Group commit for `POST /orders`: concurrent orders of one API process share a transaction.

Each order waits in a queue; a few batch tasks take whatever is waiting (up to `max_batch`) and
submit it through `orders.submit_orders`, one set-based transaction for all of them. An order
that arrives while every task is idle starts a batch of one at once, so a quiet API adds no
delay; under load the batches grow by themselves, and the per-order cost of round trips and
commits (one WAL flush per batch) falls with them. The outcome of every order is exactly what
submitting it alone would give (`submit_orders` guarantees it).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import asyncpg

from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services.markets import MarketRegistry
from ordex.services.order_requests import OrderRequest
from ordex.services.orders import OrderSubmission, SubmittedOrder, submit_orders

log = get_logger(__name__)

DEFAULT_MAX_BATCH = 200
DEFAULT_CONCURRENCY = 3


@dataclass(frozen=True, slots=True)
class _Waiting:
    submission: OrderSubmission
    registry: MarketRegistry
    outcome: asyncio.Future[SubmittedOrder]


class OrderBatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._max_batch = max_batch
        self._concurrency = concurrency
        self._queue: asyncio.Queue[_Waiting | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.batches = 0
        self.largest_batch = 0

    async def submit(
        self,
        registry: MarketRegistry,
        account_id: int,
        request: OrderRequest,
        *,
        venue: str = "EXCHANGE",
    ) -> SubmittedOrder:
        """Like `orders.submit_order`; raises the same `ExchangeError`s."""
        if self._closed:
            raise RuntimeError("the order batcher is closed")
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._serve(), name=f"order-batch-{n}")
                for n in range(self._concurrency)
            ]
        waiting = _Waiting(
            OrderSubmission(account_id, request, venue),
            registry,
            asyncio.get_running_loop().create_future(),
        )
        # Marks the outcome as seen even when the client is gone and nobody awaits it.
        waiting.outcome.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queue.put_nowait(waiting)
        # Shielded: a client that goes away must not cancel the batch the order is part of
        # (the order may be committed all the same, as with any request cut off mid-way).
        return await asyncio.shield(waiting.outcome)

    async def _serve(self) -> None:
        while (first := await self._queue.get()) is not None:
            batch = [first]
            while len(batch) < self._max_batch and not self._queue.empty():
                waiting = self._queue.get_nowait()
                if waiting is None:  # closing: this task stops after the batch
                    self._queue.put_nowait(None)
                    break
                batch.append(waiting)
            await self._submit(batch)

    async def _submit(self, batch: list[_Waiting]) -> None:
        # The newest registry of the batch: they are one process's, reloaded every few seconds.
        registry = batch[-1].registry
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        try:
            async with self._pool.acquire() as conn:
                outcomes = await submit_orders(
                    conn, self._redis, registry, [w.submission for w in batch]
                )
        except Exception as exc:
            log.warning("order batch failed", orders=len(batch), error=str(exc))
            for waiting in batch:
                if not waiting.outcome.done():
                    waiting.outcome.set_exception(exc)
            return
        for waiting, outcome in zip(batch, outcomes, strict=True):
            if waiting.outcome.done():
                continue
            if isinstance(outcome, Exception):
                waiting.outcome.set_exception(outcome)
            else:
                waiting.outcome.set_result(outcome)

    async def close(self, grace_seconds: float = 10.0) -> None:
        """Takes no new orders; what is queued or in flight is submitted before the tasks end."""
        self._closed = True
        for _ in self._tasks:
            self._queue.put_nowait(None)
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks = []
