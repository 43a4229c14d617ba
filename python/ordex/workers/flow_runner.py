"""The flow worker: runs every live flow execution (a running trading session with a flow).

Each round (`poll_seconds`) it creates the execution of a flow session seen for the first time
(services.flow_executions.create_execution) and makes sure each running execution has a task.
An execution's task holds its Redis lease (`flows:execution:{id}:lease`), so one process runs it
wherever several workers run, and:

1. rebuilds its `ordex.FlowRun` by replaying the execution's candles from its start (the cached
   ccxt candles, or ordex's own trades for `exchange: ordex`, through services.candles), sending
   any order of those bars that was not sent yet (after a kill -9: the bar it died in);
2. then polls for newly closed candles, steps them one at a time and sends the orders each bar
   queued to the session's venue (services.flow_executions.send_order: once per client order id).

While it runs, it sends the heartbeat of the session's runner agent (`session-{id}`, registered
when the session started) with its progress in the metadata. A paused session is not stepped (its
candles are stepped when it resumes); a stopped one ends the task. Embedded in the API process
(ORDEX_RUN_WORKERS) or on its own: `ordex worker flows`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

import ordex
from ordex.db import flow_executions as repo
from ordex.db.candles import CandleColumns
from ordex.db.flow_executions import ExecutionRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import flow_executions
from ordex.services.candles import CandleQuery, load_candles, now_ms, timeframe_ms
from ordex.services.errors import ServiceError
from ordex.services.markets import MarketRegistry
from ordex.services.session_order_requests import SessionContext
from ordex.services.venues import Venues
from ordex.workers.lease import Lease
from ordex.workers.supervisor import Supervisor

log = get_logger(__name__)

REGISTRY_MAX_AGE_SECONDS = 5.0

# (conn, execution, registry, start_ms, now_ms) -> the closed candles opening in [start_ms, now)
CandleLoader = Callable[
    [Connection, ExecutionRow, MarketRegistry, int, int], Awaitable[CandleColumns]
]


def lease_key(session_id: uuid.UUID) -> str:
    return f"flows:execution:{session_id}:lease"


@dataclass(slots=True)
class _State:
    run: ordex.FlowRun
    interval: int
    next_ms: int
    sent: set[str]
    recorded: int = 0
    last_bar_ms: int | None = None


class FlowRunner(Supervisor[uuid.UUID]):
    name = "flow runner"

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        venues: Venues,
        *,
        poll_seconds: float = 1.0,
        lease_ms: int = 10_000,
        replay_ms: int = 0,
        candles: CandleLoader | None = None,
        clock: Callable[[], int] = now_ms,
        wake_watcher: Callable[[], None] = lambda: None,
        on_sent: Callable[[uuid.UUID, int], None] | None = None,
    ) -> None:
        super().__init__(poll_seconds)
        self._pool = pool
        self._redis = redis
        self._venues = venues
        self._lease_ms = lease_ms
        self._replay_ms = replay_ms
        self._candles = candles or self._ccxt_candles
        self._clock = clock
        self._wake_watcher = wake_watcher
        # Executions whose flow does not compile: recorded once, not retried.
        self._broken: set[uuid.UUID] = set()
        self._registry: tuple[float, MarketRegistry] | None = None
        # Called with (execution, bar open time) as each order has been sent (benchmarks).
        self._on_sent = on_sent
        self._heartbeat_seconds = flow_executions.heartbeat_seconds()

    async def discover(self) -> None:
        """Creates new executions and gives each running one a task."""
        async with self._pool.acquire() as conn:
            for session_id in await repo.flow_sessions_without_execution(conn):
                await flow_executions.create_execution(conn, session_id, replay_ms=self._replay_ms)
            running = await repo.running_executions(conn)
        for execution in running:
            if execution.session_id in self._broken:
                continue
            task = self._tasks.get(execution.session_id)
            if task is None or task.done():
                self._tasks[execution.session_id] = asyncio.create_task(
                    self._execute(execution.session_id), name=f"flow {execution.session_id}"
                )

    async def _registry_for(self, conn: Connection) -> MarketRegistry:
        if (
            self._registry is None
            or time.monotonic() - self._registry[0] > REGISTRY_MAX_AGE_SECONDS
        ):
            self._registry = (time.monotonic(), await MarketRegistry.load(conn))
        return self._registry[1]

    async def _ccxt_candles(
        self,
        conn: Connection,
        execution: ExecutionRow,
        registry: MarketRegistry,
        start_ms: int,
        now: int,
    ) -> CandleColumns:
        query = CandleQuery(
            exchange=execution.exchange,
            symbol=execution.symbol,
            timeframe=execution.timeframe,
            start=datetime.fromtimestamp(start_ms / 1000, tz=UTC),
            end=datetime.fromtimestamp(now / 1000, tz=UTC),
        )
        return await load_candles(
            query,
            exchanges=self._venues.market_data.exchanges,
            conn=conn,
            registry=registry,
            now=now,
        )

    async def _execute(self, session_id: uuid.UUID) -> None:
        lease = Lease(self._redis, lease_key(session_id), self._lease_ms)
        if not await lease.acquire(self._stop):
            return
        state: _State | None = None
        next_heartbeat = 0.0
        try:
            while not self._stop.is_set():
                if not await lease.keep():
                    log.warning("flow execution lease lost", session_id=str(session_id))
                    return
                async with self._pool.acquire() as conn:
                    execution = await repo.get_execution(conn, session_id)
                    if execution is None or execution.status == "STOPPED":
                        return
                    if state is None:
                        state = await self._build(conn, execution)
                        if state is None:
                            return
                    if execution.status == "RUNNING":
                        await self._advance(conn, state, execution)
                        if time.monotonic() >= next_heartbeat:
                            await flow_executions.heartbeat(conn, self._redis, execution)
                            next_heartbeat = time.monotonic() + self._heartbeat_seconds
                await self._pause()
        except (OSError, asyncpg.PostgresError, ServiceError) as exc:
            # The task ends; the next round starts it again and its replay sends what this one
            # did not.
            log.warning("flow execution failed a round", session_id=str(session_id), error=str(exc))
        except Exception:
            log.exception("flow execution failed", session_id=str(session_id))
        finally:
            with contextlib.suppress(OSError, asyncpg.PostgresError, Exception):
                await lease.release()

    async def _build(self, conn: Connection, execution: ExecutionRow) -> _State | None:
        try:
            run = ordex.flow_run(execution.document)
        except ordex.FlowValidationError as exc:
            await repo.record_error(conn, execution.session_id, f"INVALID_FLOW: {exc}")
            self._broken.add(execution.session_id)
            return None
        sent = await repo.sent_client_ids(conn, execution.session_id)
        recorded = await repo.trade_count(conn, execution.session_id)
        return _State(
            run=run,
            interval=timeframe_ms(execution.timeframe),
            next_ms=execution.from_ms,
            sent=sent,
            recorded=recorded,
        )

    async def _advance(self, conn: Connection, state: _State, execution: ExecutionRow) -> None:
        """Steps every candle closed since the last one, sending their orders."""
        now = self._clock()
        if now < state.next_ms + state.interval:
            return
        registry = await self._registry_for(conn)
        try:
            candles = await self._candles(conn, execution, registry, state.next_ms, now)
        except ServiceError as exc:
            await repo.record_error(conn, execution.session_id, f"{exc.code}: {exc.message}")
            return
        ctx = SessionContext(
            conn=conn,
            redis=self._redis,
            registry=registry,
            venues=self._venues,
            user_id=execution.user_id,
            wake_watcher=self._wake_watcher,
        )
        stepped = False
        for i in range(len(candles)):
            ts = candles.timestamp[i]
            if ts < state.next_ms:
                continue
            step = state.run.step(
                ts, candles.open[i], candles.high[i], candles.low[i], candles.close[i],
                candles.volume[i],
            )  # fmt: skip
            state.next_ms = ts + state.interval
            state.last_bar_ms = ts
            stepped = True
            close_ms = ts + state.interval
            if close_ms < execution.live_from_ms:
                continue  # warm-up
            for order in flow_executions.bar_orders(step):
                cid = flow_executions.client_order_id(execution.session_id, ts, order.node)
                if cid in state.sent:
                    continue
                await flow_executions.send_order(ctx, execution, ts, order, close_ms)
                state.sent.add(cid)
                if self._on_sent is not None:
                    self._on_sent(execution.session_id, ts)
        if stepped and state.last_bar_ms is not None:
            state.recorded = await flow_executions.record_progress(
                conn, execution, state.run, state.last_bar_ms, state.recorded
            )
