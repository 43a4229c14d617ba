"""Matcher: owns one market, runs its Rust engine over `engine.commands.{MARKET}` and appends the
events to `engine.events.{MARKET}`.

Recovery is snapshot + replay: the newest snapshot in PostgreSQL names the command stream id it
covers; every command after it is applied again. The engine is deterministic, so replayed commands
give the very same events with the very same sequence numbers; events at or below the last one
already in the events stream are not appended twice. Commands carry `cmd_id`s (outbox ids, which
are not in commit order): the matcher remembers the most recent ones, so a command published twice
is dropped the second time, in replay exactly as the first time (the window is in the snapshot).

Since recovery never looks at the consumer group's pending entries, the matcher reads with NOACK
and acknowledges nothing. Each applied batch becomes one events entry (`streams.event_batch_fields`)
written in one MULTI/EXEC with the progress key, the dead letters and the top of book.

Batches overlap with Redis: the next batch's read goes out before the engine runs this one, and
this batch's MULTI/EXEC lands while the next one runs; writes still land in stream order. (The
engine stays on the event loop's thread: run in a thread beside the decoding of the next batch,
it lost more to handing the GIL back and forth than it gained.) A snapshot is captured between
two batches and written in the background once the events it covers are in the stream. Any
failure in a step makes the next step recover first.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

import asyncpg
import orjson
from redis.exceptions import RedisError, ResponseError

import ordex
from ordex.db import engine_snapshots
from ordex.logging import get_logger
from ordex.redis_client import RedisClient, parsed_reader
from ordex.services import mark_prices
from ordex.services.markets import plain
from ordex.streams import (
    MATCHER_GROUP,
    PAYLOAD_FIELD,
    commands_stream,
    deadletter_stream,
    entry_last_seq,
    event_batch_fields,
    events_stream,
    matcher_lease_key,
    matcher_progress_key,
    read_reply_entries,
    top_of_book_key,
)
from ordex.workers.lease import Lease
from ordex.workers.matcher_share import MatcherShare

log = get_logger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]
# (stream id, payload, reason)
DeadLetter = tuple[bytes, bytes, str]
# (stream id, payload, cmd_id if any, why it is dead-lettered if it is)
Decoded = tuple[bytes, bytes, int | None, str | None]

DEDUP_WINDOW = 100_000


@dataclass(slots=True)
class MatcherState:
    """What the matcher knows beyond the engine: where it is in both streams, recent command ids."""

    last_stream_id: bytes = b"0-0"
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=DEDUP_WINDOW))
    seen: set[int] = field(default_factory=set)
    last_emitted_seq: int = 0
    events_since_snapshot: int = 0

    def first_time(self, cmd_id: int) -> bool:
        """Records `cmd_id`; False when it was applied recently (a republished command).
        (`Matcher._dedup` inlines the same steps.)"""
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


def decode_commands(entries: list[Any] | None) -> list[Decoded]:
    """What the matcher checks before the engine sees a command: a JSON object with a `type`,
    and its `cmd_id` (`ordex.peek_commands`, in Rust). `entries` are as hiredis parsed them
    (`[id, [field, value, ...]]`). Touches no state, so a batch read ahead is decoded as soon as
    its reply is in."""
    if not entries:
        return []
    raws: list[bytes] = []
    for _, fields in entries:
        # Commands carry one field; anything else is looked up (and dead-lettered if absent).
        if fields and fields[0] == PAYLOAD_FIELD:
            raws.append(fields[1])
        else:
            pairs = dict(zip(fields[::2], fields[1::2], strict=True)) if fields else {}
            raws.append(pairs.get(PAYLOAD_FIELD, b""))
    return [
        (entry[0], raw, cmd_id, reason)
        for entry, raw, (cmd_id, reason) in zip(
            entries, raws, ordex.peek_commands(raws), strict=True
        )
    ]


class Matcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        market_id: str,
        config: ordex.MarketConfig,
        *,
        batch_size: int = 2000,
        snapshot_every: int = 20_000,
        lease_ms: int = 10_000,
        clock_ms: int = 1_000,
        share: MatcherShare | None = None,
    ) -> None:
        self.market_id = market_id
        self.config = config
        self.engine = ordex.Engine(config)
        self.state = MatcherState()
        self._pool = pool
        self._redis = redis
        # The same connections, but XREADGROUP and XRANGE replies stay as hiredis parsed them:
        # redis-py's per-entry reply callbacks (a dict per entry) cost more than the engine.
        self._raw = parsed_reader(redis, "XREADGROUP", "XRANGE")
        # Several matcher processes: how many markets this one may hold (matcher_share.py).
        self._share = share
        self._batch_size = batch_size
        self._snapshot_every = snapshot_every
        self.lease = Lease(redis, matcher_lease_key(market_id), lease_ms)
        if share is not None:  # the lease names the process that holds it
            self.lease.owner = f"{share.member}/{self.lease.owner}"
        self._clock_ms = clock_ms
        # Perpetuals: the impact notional in quote atoms (impact bid/ask for the mark price).
        self._impact_atoms = 0
        if config.kind == "PERP":
            self._impact_atoms = config.quote_to_atoms(plain(mark_prices.impact_notional()))
        self._tick = Decimal(config.tick_size)
        self._impact_places = (
            len(config.tick_size.partition(".")[2]) + mark_prices.IMPACT_EXTRA_PLACES
        )
        self._commands = commands_stream(market_id)
        self._events = events_stream(market_id)
        self._last_tick = 0.0
        self._leased = False
        self._snapshot_task: asyncio.Task[None] | None = None
        # Read but not applied yet (NOACK: recovery replays them from the stream anyway).
        self._ahead: list[Decoded] = []
        # The MULTI/EXEC of the batch before, landing while this batch's engine runs.
        self._writing: asyncio.Task[Any] | None = None
        # A write failed after later batches were applied: the engine is ahead of the stream.
        self._needs_recovery = False

    # ----- recovery --------------------------------------------------------------------------

    async def recover(self) -> None:
        """Loads the newest snapshot and replays every command after it."""
        await self.snapshot_written()
        with contextlib.suppress(Exception):  # what did not land is replayed below
            await self.flush()
        self._ahead = []
        self._needs_recovery = False
        async with self._pool.acquire() as conn:
            snap = await engine_snapshots.latest(conn, self.market_id)
        if snap is not None:
            self.engine = ordex.Engine.restore(snap.state)
            self.state = MatcherState.restored(snap.stream_id, snap.recent_cmd_ids)
        else:
            self.engine = ordex.Engine(self.config)
            self.state = MatcherState()
        last = cast(list[Entry], await self._redis.xrevrange(self._events, count=1))
        self.state.last_emitted_seq = entry_last_seq(last[0][1]) if last else 0
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self._redis.xgroup_create(self._commands, MATCHER_GROUP, id="0", mkstream=True)
        replayed = 0
        while True:
            await self._keep_lease()
            start = b"(" + self.state.last_stream_id
            entries = await self._raw.xrange(self._commands, min=start, count=self._batch_size)
            if not entries:
                break
            await self.apply(entries)
            replayed += len(entries)
        await self.flush()
        # New deliveries start right after what was replayed.
        await self._redis.xgroup_setid(self._commands, MATCHER_GROUP, id=self.state.last_stream_id)
        log.info(
            "matcher recovered",
            market=self.market_id,
            snapshot=snap is not None,
            replayed=replayed,
            seq=self.engine.last_seq,
        )

    # ----- processing ------------------------------------------------------------------------

    async def apply(self, entries: list[Any]) -> int:
        """Applies commands in stream order and appends their new events as one entry, atomically
        with the progress key. `entries` as hiredis parses XRANGE: `[id, [field, value, ...]]`."""
        return await self._apply(decode_commands(entries))

    async def _apply(self, batch: list[Decoded]) -> int:
        payloads, dead = self._dedup(batch)
        events = self.engine.process_json(payloads) if payloads else []
        fresh = events
        if events:
            # Seqs are gap-free and in order, so the events already in the stream (a replay after
            # a crash) are a prefix of known length.
            already = self.state.last_emitted_seq - event_seq(events[0]) + 1
            if already > 0:
                fresh = events[already:]
        pipe = self._redis.pipeline(transaction=True)
        if fresh:
            first_seq, last_seq = event_seq(fresh[0]), event_seq(fresh[-1])
            if last_seq - first_seq + 1 != len(fresh):
                raise RuntimeError(
                    f"{self.market_id}: engine events {first_seq}..{last_seq} not gap-free"
                )
            pipe.xadd(
                self._events,
                cast(dict[Any, Any], event_batch_fields(fresh, first_seq, last_seq)),
            )
        for entry_id, raw, reason in dead:
            pipe.xadd(
                deadletter_stream(self.market_id),
                {"payload": raw, "reason": reason, "command_id": entry_id},
            )
        pipe.set(matcher_progress_key(self.market_id), batch[-1][0])
        if events:
            pipe.hset(
                top_of_book_key(self.market_id), mapping=cast(dict[Any, Any], self._top_of_book())
            )
        # Writes land in stream order: this batch's goes out once the one before has landed.
        await self.flush()
        self._writing = asyncio.ensure_future(pipe.execute())
        if fresh:
            self.state.last_emitted_seq = last_seq
        self.state.last_stream_id = batch[-1][0]
        self.state.events_since_snapshot += len(events)
        if self.state.events_since_snapshot >= self._snapshot_every:
            self._snapshot_in_background()
        return len(events)

    def _dedup(self, batch: list[Decoded]) -> tuple[list[bytes], list[DeadLetter]]:
        """The payloads to apply and the commands to dead-letter; a `cmd_id` applied recently (a
        republished command) is dropped. Runs for every command, hence the window inlined
        (`MatcherState.first_time` does the same steps)."""
        payloads: list[bytes] = []
        dead: list[DeadLetter] = []
        recent, seen = self.state.recent, self.state.seen
        for entry_id, raw, cmd_id, reason in batch:
            if reason is not None:
                dead.append((entry_id, raw, reason))
                continue
            if cmd_id is not None:
                if cmd_id in seen:
                    continue
                if len(recent) == DEDUP_WINDOW:
                    seen.discard(recent[0])
                recent.append(cmd_id)
                seen.add(cmd_id)
            payloads.append(raw)
        return payloads, dead

    def _top_of_book(self) -> dict[str, str]:
        bid, ask, last = self.engine.best_bid(), self.engine.best_ask(), self.engine.last_price
        fmt = self.config.format_price
        return {
            "bid": fmt(bid[0]) if bid else "",
            "ask": fmt(ask[0]) if ask else "",
            "last": fmt(last) if last is not None else "",
            "seq": str(self.engine.last_seq),
            **self._impact_prices(),
        }

    def _impact_prices(self) -> dict[str, str]:
        """Perpetuals: `impact_bid`/`impact_ask`, the average prices of the impact notional
        against the book (`services.mark_prices.impact_price`), for the mark price."""
        if not self._impact_atoms:
            return {}
        bids, asks = self.engine.depth(mark_prices.IMPACT_LEVELS)
        per_tick_lot = self.config.atoms_per_tick_lot
        bid, ask = (
            mark_prices.impact_price(
                side, self._impact_atoms, per_tick_lot, self._tick, self._impact_places
            )
            for side in (bids, asks)
        )
        return {
            "impact_bid": "" if bid is None else plain(bid),
            "impact_ask": "" if ask is None else plain(ask),
        }

    async def flush(self) -> None:
        """Waits until the last applied batch's events are in Redis."""
        writing, self._writing = self._writing, None
        if writing is None:
            return
        try:
            await writing
        except BaseException:
            self._needs_recovery = True  # later batches were applied on top of the lost one
            raise

    async def snapshot(self) -> None:
        """Writes a snapshot of the state now, after the one still being written if any."""
        await self.flush()
        await self.snapshot_written()
        await self._save(self._capture())
        self.state.events_since_snapshot = 0

    async def snapshot_written(self) -> None:
        """Waits for the snapshot being written in the background, if any."""
        task, self._snapshot_task = self._snapshot_task, None
        if task is not None:
            await task

    def _snapshot_in_background(self) -> None:
        # The state is captured here, between two batches; only the write (a few MB to
        # PostgreSQL) overlaps the next batches. One write at a time keeps snapshots in order:
        # while one is still going, the next is taken after a later batch.
        if self._snapshot_task is not None and not self._snapshot_task.done():
            return
        snap = self._capture()
        self.state.events_since_snapshot = 0
        self._snapshot_task = asyncio.create_task(self._save_logged(snap, self._writing))

    def _capture(self) -> engine_snapshots.Snapshot:
        return engine_snapshots.Snapshot(
            stream_id=self.state.last_stream_id.decode(),
            seq=self.engine.last_seq,
            recent_cmd_ids=list(self.state.recent),
            state_hash=self.engine.state_hash(),
            state=self.engine.snapshot(),
        )

    async def _save(self, snap: engine_snapshots.Snapshot) -> None:
        async with self._pool.acquire() as conn:
            await engine_snapshots.save(
                conn,
                self.market_id,
                stream_id=snap.stream_id,
                seq=snap.seq,
                recent_cmd_ids=snap.recent_cmd_ids,
                state_hash=snap.state_hash,
                state=snap.state,
            )

    async def _save_logged(
        self, snap: engine_snapshots.Snapshot, writing: asyncio.Task[Any] | None
    ) -> None:
        if writing is not None:
            # A snapshot past events that are not in the stream would lose them for good.
            await asyncio.wait({writing})
            if writing.cancelled() or writing.exception() is not None:
                return
        try:
            await self._save(snap)
        except Exception as exc:  # a lost snapshot only makes a later recovery replay more
            log.warning("matcher snapshot not written", market=self.market_id, error=str(exc))

    async def step(self, block_ms: int = 100) -> int:
        """Reads one batch through the consumer group and applies it; returns the events made.

        NOACK: recovery replays from the snapshot's stream id, never from the pending entries, so
        keeping them (and an XACK per batch) would buy nothing."""
        if self._needs_recovery:
            await self.recover()
        try:
            return await self._step(block_ms)
        except BaseException:
            # The engine, the dedup window or the group's read position (NOACK: what was read
            # is not pending anywhere) may now be ahead of the streams: recover before going on.
            self._needs_recovery = True
            raise

    async def _step(self, block_ms: int) -> int:
        await self._maybe_tick()
        batch, self._ahead = self._ahead or await self._read(block_ms), []
        if not batch:
            return 0
        # The next batch's read goes out before this one is applied: Redis serves it on its own
        # core meanwhile, and its reply is parsed and decoded while a write is awaited.
        ahead = asyncio.ensure_future(self._read(None))
        try:
            made = await self._apply(batch)
        finally:
            self._ahead = await ahead
        if not self._ahead:
            # Nothing to overlap the write with: the events are in Redis when step returns.
            await self.flush()
        return made

    async def _read(self, block_ms: int | None) -> list[Decoded]:
        reply = await self._raw.xreadgroup(
            MATCHER_GROUP,
            self.lease.owner,
            {self._commands: ">"},
            count=self._batch_size,
            block=block_ms,
            noack=True,
        )
        return decode_commands(read_reply_entries(reply))

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
        from the snapshot and the stream, since another matcher may have moved on meanwhile.
        With a `share`, it also lets the market go while its process holds more than its share.
        Redis going away (a failover) makes it start over the same way once Redis is back."""
        while not stop.is_set():
            try:
                if not await self._acquire(stop):
                    return
            except (RedisError, OSError) as exc:
                log.warning("matcher cannot reach Redis", market=self.market_id, error=str(exc))
                await _pause(stop, 0.5)
                continue
            self._leased = True
            try:
                await self.recover()
                while not stop.is_set():
                    await self._keep_lease()
                    if self._share is not None and self._share.should_release(self.market_id):
                        log.info("matcher hands its market over", market=self.market_id)
                        break
                    await self.step()
            except LeaseLost:
                log.warning("matcher lost its lease; recovering again", market=self.market_id)
                continue
            except (RedisError, OSError) as exc:
                log.warning("matcher lost Redis; recovering", market=self.market_id, error=str(exc))
                self._needs_recovery = True
                await _pause(stop, 0.5)
                continue
            finally:
                self._leased = False
                if self._share is not None:
                    self._share.drop(self.market_id)
            with contextlib.suppress(Exception):
                await self.snapshot()
            with contextlib.suppress(Exception):
                await self.lease.release()
            if self._share is not None:
                # Handed over: give the other processes time to take it.
                await _pause(stop, self._share.retry_seconds() * 4)

    async def _acquire(self, stop: asyncio.Event) -> bool:
        """Waits for the lease (and, with a share, for room in this process's share)."""
        share = self._share
        if share is None:
            return await self.lease.acquire(stop)
        while not stop.is_set():
            if share.reserve(self.market_id):
                if await self.lease.try_acquire():
                    return True
                share.drop(self.market_id)
            await _pause(stop, share.retry_seconds())
        return False


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
