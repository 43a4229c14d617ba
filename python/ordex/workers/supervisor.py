"""The loop shared by the workers that own many things at once (a droid, a flow execution):
`discover` every `poll_seconds`, or at once on `kick`, gives each thing found a task of its own
(which takes the thing's Redis lease), until `close`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable
from typing import Generic, TypeVar

import asyncpg

from ordex.logging import get_logger

log = get_logger(__name__)

Key = TypeVar("Key", bound=Hashable)


class Supervisor(Generic[Key]):
    name = "supervisor"  # the discovery task's name, and the subject of its log lines

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._stop = asyncio.Event()
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tasks: dict[Key, asyncio.Task[None]] = {}

    async def discover(self) -> None:
        """Starts a task for each thing to own that has none running."""
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name=self.name)

    def kick(self) -> None:
        """Discover now rather than at the next poll (tests, benchmarks, a change just made)."""
        self._kick.set()

    def request_stop(self) -> None:
        self._stop.set()
        self._kick.set()

    async def wait(self) -> None:
        await self._stop.wait()

    async def close(self) -> None:
        self.request_stop()
        tasks = [t for t in (self._task, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._kick.wait(), timeout=self.poll_seconds)
        self._kick.clear()

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.discover()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("discovery failed; retrying", worker=self.name, error=str(exc))
            await self._pause()
