"""Spreads markets over the matcher processes that run the same list of markets.

Each process announces itself in a sorted set (member: its id, score: when the announcement
expires) renewed every third of the lease time, and holds at most its fair share of the markets'
leases, ceil(markets / live processes): a matcher takes a free lease only while its process is
below its share, and lets its lease go (after a snapshot) while the process is above it. A
process killed with -9 drops out of the set when its announcement expires, about when its leases
do, and the survivors' shares grow to take its markets. Processes with other market lists
(`--markets`) announce in another set, so disjoint partitions do not count each other.

Leases stay the only guarantee that a market has one matcher: the share only decides who tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import socket
import time
import uuid
from collections.abc import Iterable

from redis.exceptions import RedisError

from ordex.logging import get_logger
from ordex.redis_client import RedisClient

log = get_logger(__name__)


def members_key(market_ids: Iterable[str]) -> str:
    digest = hashlib.sha1(",".join(sorted(market_ids)).encode()).hexdigest()[:16]
    return f"matchers:members:{digest}"


class MatcherShare:
    def __init__(self, redis: RedisClient, market_ids: Iterable[str], ttl_ms: int) -> None:
        markets = list(market_ids)
        self.key = members_key(markets)
        # host:pid:random, so that an operator (or a test) sees which process holds a lease.
        self.member = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.total = len(markets)
        self.held: set[str] = set()
        self.live = 1
        self._redis = redis
        self._ttl_ms = ttl_ms

    @property
    def share(self) -> int:
        return -(-self.total // max(1, self.live))

    def reserve(self, market_id: str) -> bool:
        """Counts `market_id` as held before its lease is tried (so that matchers of this process
        trying at once stay within the share); False when the share is full."""
        if market_id in self.held:
            return True
        if len(self.held) >= self.share:
            return False
        self.held.add(market_id)
        return True

    def drop(self, market_id: str) -> None:
        self.held.discard(market_id)

    def should_release(self, market_id: str) -> bool:
        """True (and no longer counted) when this process holds more than its share."""
        if market_id in self.held and len(self.held) > self.share:
            self.held.discard(market_id)
            return True
        return False

    async def announce(self) -> None:
        now_ms = int(time.time() * 1000)
        pipe = self._redis.pipeline(transaction=True)  # one key: one slot
        pipe.zadd(self.key, {self.member: now_ms + self._ttl_ms})
        pipe.zremrangebyscore(self.key, "-inf", now_ms)
        pipe.zcard(self.key)
        pipe.pexpire(self.key, self._ttl_ms * 3)
        replies = await pipe.execute()
        live = max(1, int(replies[2]))
        if live != self.live:
            log.info("matcher processes changed", live=live, share=-(-self.total // live))
        self.live = live

    async def run(self, stop: asyncio.Event) -> None:
        """Announces this process until `stop`, then leaves the set."""
        try:
            while not stop.is_set():
                try:
                    await self.announce()
                except (RedisError, OSError) as exc:
                    log.warning("matcher share not announced", error=str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._ttl_ms / 3000)
        finally:
            with contextlib.suppress(Exception):
                await self._redis.zrem(self.key, self.member)

    def retry_seconds(self) -> float:
        """How long a matcher waits before trying again (jittered: processes do not move in
        lockstep)."""
        return self._ttl_ms / 4000 * random.uniform(0.75, 1.25)
