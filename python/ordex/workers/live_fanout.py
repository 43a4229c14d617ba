"""Live fan-out: reads every market's `engine.events.{MARKET}` and hands each batch to the live
streams of this process (Socket.IO feeds of ordex's markets, the users' WebSocket messages).

Every API process that has live clients runs one reader, with plain XREAD from the newest entry
rather than a consumer group: each process needs every event for its own clients, and a client
that connects later reads history over HTTP, not from the stream. The reader starts with the first
live client and stops with the process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, cast

from redis.exceptions import RedisError

from ordex.logging import get_logger
from ordex.redis_client import RedisClient, is_cluster
from ordex.streams import entry_events, events_stream

log = get_logger(__name__)

# (market id, decoded events of one read, in stream order)
Entry = tuple[bytes, dict[bytes, bytes]]
EventsListener = Callable[[str, list[dict[str, Any]]], Awaitable[None]]

BLOCK_MS = 1000
CLUSTER_BLOCK_MS = 50
BATCH = 500


class EngineEventFanout:
    def __init__(self, redis: RedisClient, market_ids: Iterable[str]) -> None:
        self._redis = redis
        self._streams = {events_stream(m): m for m in market_ids}
        self._listeners: list[EventsListener] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def add_listener(self, listener: EventsListener) -> None:
        self._listeners.append(listener)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Starts reading from the newest entry of every stream; returns once positioned, so an
        event appended after `start()` returns is never missed."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name="live-fanout")
        waiter = asyncio.create_task(self._ready.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _positions(self) -> dict[str, str]:
        """The id of each stream's newest entry ("0-0" for an empty stream)."""
        positions: dict[str, str] = {}
        for stream in self._streams:
            newest = cast(list[Entry], await self._redis.xrevrange(stream, count=1))
            positions[stream] = newest[0][0].decode() if newest else "0-0"
        return positions

    async def _run(self) -> None:
        positions: dict[str, str] | None = None
        delay = 0.5
        while True:
            try:
                if positions is None:
                    positions = await self._positions()
                    self._ready.set()
                replies = await self._read(positions)
                delay = 0.5
            except (RedisError, OSError) as exc:
                log.warning("live fan-out cannot read engine events", error=str(exc))
                self._ready.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            for stream_name, entries in replies or []:
                stream = stream_name.decode()
                positions[stream] = entries[-1][0].decode()
                events = _decode(entries)
                if events:
                    await self._dispatch(self._streams[stream], events)

    async def _read(self, positions: dict[str, str]) -> list[tuple[bytes, list[Entry]]]:
        if not is_cluster(self._redis):
            reply = await self._redis.xread(
                positions,  # type: ignore[arg-type]
                count=BATCH,
                block=BLOCK_MS,
            )
            return cast(list[tuple[bytes, list[Entry]]], reply or [])
        # Redis Cluster: one XREAD per market (a command may not span slots), all at once; when
        # every stream was idle, once more with a short block.
        for block in (None, CLUSTER_BLOCK_MS):
            replies = await asyncio.gather(
                *(
                    self._redis.xread({stream: position}, count=BATCH, block=block)
                    for stream, position in positions.items()
                )
            )
            found = [item for reply in replies for item in cast(list[Any], reply or []) if item[1]]
            if found:
                return found
        return []

    async def _dispatch(self, market_id: str, events: list[dict[str, Any]]) -> None:
        for listener in self._listeners:
            try:
                await listener(market_id, events)
            except Exception as exc:  # one failing consumer never stops the others
                log.error("live fan-out listener failed", market=market_id, exc_info=exc)


def _decode(entries: list[Entry]) -> list[dict[str, Any]]:
    """Every event of the entries, either form (`streams.entry_events`); unreadable ones skipped."""
    events: list[dict[str, Any]] = []
    for _entry_id, fields in entries:
        with contextlib.suppress(ValueError):
            events.extend(entry_events(fields))
    return events
