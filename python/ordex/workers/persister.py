"""Persister: applies engine events to PostgreSQL, one transaction per batch, exactly once.

Each batch locks the market's progress row, skips events at or below its `last_seq`, applies the
rest and records the new `last_seq` in the same transaction. A crash anywhere (before the commit,
after it but before the XACK) only makes the batch come round again, where it is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, cast

import asyncpg
from redis.exceptions import ResponseError

from ordex.db import settlement as settlement_db
from ordex.logging import get_logger
from ordex.redis_client import RedisClient, is_cluster
from ordex.services.markets import Market
from ordex.streams import PERSISTER_GROUP, PERSISTER_LEASE, entry_events, entry_size, events_stream
from ordex.workers.lease import Lease
from ordex.workers.settlement import Settlement
from ordex.workers.settlement_risk import settle_risk

log = get_logger(__name__)


Entry = tuple[bytes, dict[bytes, bytes]]
StreamEntries = tuple[bytes | str, list[Entry]]
# Redis Cluster: how long one round of per-market reads blocks when every stream was idle.
CLUSTER_BLOCK_MS = 10


class EventGap(Exception):
    """A batch does not continue where the market's applied events end (an earlier batch failed
    and is still pending): applying it would skip events for good."""


class Persister:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        markets: dict[str, Market],
        *,
        consumer: str = "persister-1",
        batch_size: int = 2000,
        lease_ms: int = 10_000,
    ) -> None:
        self._lease_ms = lease_ms
        self._pool = pool
        self._redis = redis
        self._markets = markets
        self._consumer = consumer
        self._batch_size = batch_size
        # Entries per read. An entry of the matcher holds a whole batch of events (thousands
        # under load), a live one a few: the count follows the largest entry of the last read
        # so that a transaction stays near `batch_size` events. It starts at one entry, since a
        # backlog of full batches read 2,000 at a time would be gigabytes.
        self._count = 1
        self._streams = {events_stream(m): m for m in markets}
        self.applied_seq: dict[str, int] = {}

    async def ensure_groups(self) -> None:
        for stream in self._streams:
            with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
                await self._redis.xgroup_create(stream, PERSISTER_GROUP, id="0", mkstream=True)

    async def apply_batch(self, market_id: str, entries: list[Entry]) -> int:
        """Applies one batch of a market's events; returns how many were new."""
        events: list[dict[str, Any]] = []
        for entry_id, fields in entries:
            try:
                events.extend(entry_events(fields))
            except ValueError:
                log.error("unreadable events entry skipped", market=market_id, entry=entry_id)
        market = self._markets[market_id]
        async with self._pool.acquire() as conn, conn.transaction():
            last_seq = await settlement_db.lock_progress(conn, market_id)
            fresh = sorted(
                (e for e in events if e.get("seq", 0) > last_seq), key=lambda e: e["seq"]
            )
            if not fresh:
                self.applied_seq[market_id] = last_seq
                return 0
            seqs = [e["seq"] for e in fresh]
            if seqs[0] != last_seq + 1 or seqs[-1] - seqs[0] + 1 != len(set(seqs)):
                raise EventGap(f"{market_id}: applied up to {last_seq}, batch starts at {seqs[0]}")
            fresh = list({e["seq"]: e for e in fresh}.values())
            order_ids: set[int] = set()
            accounts: set[int] = set()
            for e in fresh:
                if e["type"] == "trade":
                    order_ids.update((e["taker_order_id"], e["maker_order_id"]))
                    accounts.update((e["taker_account"], e["maker_account"]))
                elif e["type"] == "adl":
                    accounts.update((e["account"], e["counterparty"]))
                elif e["type"] == "funding":
                    # An isolated position's payment moves its margin: its row is needed.
                    accounts.update(int(account) for account, _ in e.get("payments") or [])
                elif e["type"] != "book_delta" and e.get("order_id"):
                    order_ids.add(e["order_id"])
            orders = await settlement_db.load_orders(conn, sorted(order_ids))
            positions = []
            if market.is_perp and accounts:
                positions = await settlement_db.load_positions(conn, market_id, sorted(accounts))
            batch = Settlement.load(market, orders, positions)
            batch.apply_all(fresh)
            await settlement_db.write(conn, batch.rows())
            await settle_risk(conn, batch)
        if batch.skipped:
            log.warning("events for unknown orders", market=market_id, count=batch.skipped)
        self.applied_seq[market_id] = batch.last_seq
        return len(fresh)

    async def step(self, block_ms: int = 100, pending: bool = False) -> int:
        """Reads a batch from every market's stream and applies it; returns the entries read.
        `pending` re-reads entries delivered earlier but never acknowledged."""
        start = "0" if pending else ">"
        if is_cluster(self._redis):
            streams = await self._read_each_market(start, pending)
        else:
            reply = await self._redis.xreadgroup(
                PERSISTER_GROUP,
                self._consumer,
                dict.fromkeys(self._streams, start),
                count=self._count,
                block=None if pending else block_ms,
            )
            streams = cast(list[StreamEntries], reply or [])
        read = 0
        largest = 0
        for stream, entries in streams:
            if not entries:
                continue
            name = stream.decode() if isinstance(stream, bytes) else stream
            await self.apply_batch(self._streams[name], entries)
            await self._redis.xack(name, PERSISTER_GROUP, *[e[0] for e in entries])
            read += len(entries)
            largest = max(largest, *(entry_size(e[1]) for e in entries))
        if read:
            self._count = max(1, min(self._batch_size, self._batch_size // max(1, largest)))
        return read

    async def _read_each_market(self, start: str, pending: bool) -> list[StreamEntries]:
        """Redis Cluster: one XREADGROUP per market (each market's stream is a slot of its own,
        and one command may not span slots), all at once; when every stream was idle, once more
        with a short block."""

        async def read(stream: str, block: int | None) -> list[StreamEntries]:
            reply = await self._redis.xreadgroup(
                PERSISTER_GROUP, self._consumer, {stream: start}, count=self._count, block=block
            )
            return cast(list[StreamEntries], reply or [])

        for block in (None,) if pending else (None, CLUSTER_BLOCK_MS):
            replies = await asyncio.gather(*(read(stream, block) for stream in self._streams))
            streams = [item for reply in replies for item in reply if item[1]]
            if streams:
                return streams
        return []

    async def run(self, stop: asyncio.Event) -> None:
        # One persister at a time: two consumers of a stream could apply batches out of order.
        lease = Lease(self._redis, PERSISTER_LEASE, self._lease_ms)
        await self.ensure_groups()
        while not stop.is_set():
            if not await lease.acquire(stop):
                return
            try:
                await self._consume(stop, lease)
            finally:
                with contextlib.suppress(Exception):
                    await lease.release()

    async def _consume(self, stop: asyncio.Event, lease: Lease) -> None:
        # Entries delivered earlier but never acknowledged (a crash, a failed batch) come first,
        # in stream order, before anything newer.
        catch_up = True
        while not stop.is_set():
            if not await lease.keep():
                log.warning("persister lost its lease; waiting for it again")
                return
            try:
                if catch_up:
                    catch_up = await self.step(pending=True) > 0
                else:
                    await self.step()
            except (OSError, asyncpg.PostgresError, ConnectionError, EventGap) as exc:
                log.warning("persist failed; retrying from pending entries", error=str(exc))
                catch_up = True
                await asyncio.sleep(0.2)
