"""Matcher: owns one market, runs its Rust engine over `engine.commands.{MARKET}` and appends the
events to `engine.events.{MARKET}`.

Recovery is snapshot + replay: the newest snapshot in PostgreSQL names the command stream id it
covers; every command after it is applied again. The engine is deterministic, so replayed commands
give the very same events with the very same sequence numbers; events at or below the last one
already in the events stream are not appended twice. Commands carry `cmd_id`s (outbox ids, which
are not in commit order): the matcher remembers the most recent ones, so a command published twice
is dropped the second time, in replay exactly as the first time (the window is in the snapshot).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

import ordex
from ordex.db import engine_snapshots
from ordex.logging import get_logger
from ordex.streams import (
    MATCHER_GROUP,
    commands_stream,
    deadletter_stream,
    events_stream,
    matcher_lease_key,
    matcher_progress_key,
    top_of_book_key,
)
from ordex.workers.lease import Lease

log = get_logger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]

DEDUP_WINDOW = 100_000
# XADD of each argument as an entry `payload` (atomic like the MULTI/EXEC around it).
APPEND_EVENTS = (
    "for i = 1, #ARGV do redis.call('XADD', KEYS[1], '*', 'payload', ARGV[i]) end return #ARGV"
)


@dataclass(slots=True)
class MatcherState:
    """What the matcher knows beyond the engine: where it is in both streams, recent command ids."""

    last_stream_id: bytes = b"0-0"
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=DEDUP_WINDOW))
    seen: set[int] = field(default_factory=set)
    last_emitted_seq: int = 0
    events_since_snapshot: int = 0

    def first_time(self, cmd_id: int) -> bool:
        """Records `cmd_id`; False when it was applied recently (a republished command)."""
        if cmd_id in self.seen:
            return False
        if len(self.recent) == self.recent.maxlen:
            self.seen.discard(self.recent[0])
        self.recent.append(cmd_id)
        self.seen.add(cmd_id)
        return True

    @classmethod
    def restored(cls, stream_id: str, recent: list[int]) -> MatcherState:
        state = cls(last_stream_id=stream_id.encode())
        for cmd_id in recent:
            state.first_time(cmd_id)
        return state


class LeaseLost(Exception):
    """Another matcher may own the market now: this one's state can no longer be trusted."""


def event_seq(payload: bytes) -> int:
    # Every event payload starts with {"seq":N, (written by the engine's encoder).
    return int(payload[7 : payload.index(b",")])


class Matcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: Redis,
        market_id: str,
        config: ordex.MarketConfig,
        *,
        batch_size: int = 2000,
        snapshot_every: int = 20_000,
        lease_ms: int = 10_000,
        clock_ms: int = 1_000,
    ) -> None:
        self.market_id = market_id
        self.config = config
        self.engine = ordex.Engine(config)
        self.state = MatcherState()
        self._pool = pool
        self._redis = redis
        self._batch_size = batch_size
        self._snapshot_every = snapshot_every
        self.lease = Lease(redis, matcher_lease_key(market_id), lease_ms)
        self._clock_ms = clock_ms
        self._commands = commands_stream(market_id)
        self._events = events_stream(market_id)
        self._last_tick = 0.0
        self._leased = False

    # ----- recovery --------------------------------------------------------------------------

    async def recover(self) -> None:
        """Loads the newest snapshot and replays every command after it."""
        async with self._pool.acquire() as conn:
            snap = await engine_snapshots.latest(conn, self.market_id)
        if snap is not None:
            self.engine = ordex.Engine.restore(snap.state)
            self.state = MatcherState.restored(snap.stream_id, snap.recent_cmd_ids)
        else:
            self.engine = ordex.Engine(self.config)
            self.state = MatcherState()
        last = cast(list[Entry], await self._redis.xrevrange(self._events, count=1))
        self.state.last_emitted_seq = event_seq(last[0][1][b"payload"]) if last else 0
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self._redis.xgroup_create(self._commands, MATCHER_GROUP, id="0", mkstream=True)
        replayed = 0
        while True:
            await self._keep_lease()
            start = b"(" + self.state.last_stream_id
            entries = cast(
                list[Entry],
                await self._redis.xrange(self._commands, min=start, count=self._batch_size),
            )
            if not entries:
                break
            await self.apply(entries)
            replayed += len(entries)
        # New deliveries start right after what was replayed; pending ones are already applied.
        await self._redis.xgroup_setid(self._commands, MATCHER_GROUP, id=self.state.last_stream_id)
        log.info(
            "matcher recovered",
            market=self.market_id,
            snapshot=snap is not None,
            replayed=replayed,
            seq=self.engine.last_seq,
        )

    # ----- processing ------------------------------------------------------------------------

    async def apply(self, entries: list[Entry]) -> int:
        """Applies commands in stream order and appends their new events atomically."""
        payloads: list[bytes] = []
        dead: list[tuple[bytes, bytes, str]] = []
        for entry_id, fields in entries:
            raw = fields.get(b"payload", b"")
            reason = self._screen(raw)
            if reason == "duplicate":
                continue
            if reason is not None:
                dead.append((entry_id, raw, reason))
                continue
            payloads.append(raw)
        events = self.engine.process_json(payloads) if payloads else []
        fresh = [e for e in events if event_seq(e) > self.state.last_emitted_seq]
        pipe = self._redis.pipeline(transaction=True)
        if fresh:
            # One script call appends the whole batch: one command and one reply instead of one
            # per event, which is most of what a batch costs the matcher on the client side.
            pipe.eval(APPEND_EVENTS, 1, self._events, *fresh)
        for entry_id, raw, reason in dead:
            pipe.xadd(
                deadletter_stream(self.market_id),
                {"payload": raw, "reason": reason, "command_id": entry_id},
            )
        pipe.set(matcher_progress_key(self.market_id), entries[-1][0])
        if events:
            pipe.hset(
                top_of_book_key(self.market_id), mapping=cast(dict[Any, Any], self._top_of_book())
            )
        await pipe.execute()
        if fresh:
            self.state.last_emitted_seq = event_seq(fresh[-1])
        self.state.last_stream_id = entries[-1][0]
        self.state.events_since_snapshot += len(events)
        if self.state.events_since_snapshot >= self._snapshot_every:
            await self.snapshot()
        return len(events)

    def _screen(self, raw: bytes) -> str | None:
        """None to apply, "duplicate" to drop silently, or why the command is dead-lettered."""
        try:
            command = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return f"not JSON: {exc}"
        if not isinstance(command, dict) or not isinstance(command.get("type"), str):
            return "not a command object with a type"
        cmd_id = command.get("cmd_id")
        if (
            isinstance(cmd_id, int)
            and not isinstance(cmd_id, bool)
            and not self.state.first_time(cmd_id)
        ):
            return "duplicate"
        return None

    def _top_of_book(self) -> dict[str, str]:
        bid, ask, last = self.engine.best_bid(), self.engine.best_ask(), self.engine.last_price
        fmt = self.config.format_price
        return {
            "bid": fmt(bid[0]) if bid else "",
            "ask": fmt(ask[0]) if ask else "",
            "last": fmt(last) if last is not None else "",
            "seq": str(self.engine.last_seq),
        }

    async def snapshot(self) -> None:
        async with self._pool.acquire() as conn:
            await engine_snapshots.save(
                conn,
                self.market_id,
                stream_id=self.state.last_stream_id.decode(),
                seq=self.engine.last_seq,
                recent_cmd_ids=list(self.state.recent),
                state_hash=self.engine.state_hash(),
                state=self.engine.snapshot(),
            )
        self.state.events_since_snapshot = 0

    async def step(self, block_ms: int = 100) -> int:
        """Reads one batch through the consumer group and applies it; returns the events made."""
        await self._maybe_tick()
        reply = await self._redis.xreadgroup(
            MATCHER_GROUP,
            self.lease.owner,
            {self._commands: ">"},
            count=self._batch_size,
            block=block_ms,
        )
        if not reply:
            return 0
        entries = cast(list[tuple[bytes, list[Entry]]], reply)[0][1]
        made = await self.apply(entries)
        await self._redis.xack(self._commands, MATCHER_GROUP, *[e[0] for e in entries])
        return made

    async def _maybe_tick(self) -> None:
        """Engine time (for GTD expiry) enters as a command in the stream, so replay sees it too."""
        now = time.monotonic()
        if self._clock_ms and (now - self._last_tick) * 1000 >= self._clock_ms:
            self._last_tick = now
            tick = orjson.dumps({"type": "advance_time", "now": int(time.time() * 1000)})
            await self._redis.xadd(self._commands, {"payload": tick})

    async def caught_up(self) -> bool:
        """Whether every command in the stream has been applied."""
        last = cast(list[Entry], await self._redis.xrevrange(self._commands, count=1))
        return not last or last[0][0] == self.state.last_stream_id

    async def _keep_lease(self) -> None:
        if self._leased and not await self.lease.keep():
            raise LeaseLost(self.market_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Owns the market until `stop`: on losing the lease it waits for it again and recovers
        from the snapshot and the stream, since another matcher may have moved on meanwhile."""
        while not stop.is_set():
            if not await self.lease.acquire(stop):
                return
            self._leased = True
            try:
                await self.recover()
                while not stop.is_set():
                    await self._keep_lease()
                    await self.step()
            except LeaseLost:
                log.warning("matcher lost its lease; recovering again", market=self.market_id)
                continue
            finally:
                self._leased = False
            with contextlib.suppress(Exception):
                await self.snapshot()
            with contextlib.suppress(Exception):
                await self.lease.release()
