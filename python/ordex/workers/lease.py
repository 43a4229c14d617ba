"""A Redis lease: at most one holder at a time, kept alive by renewal, lost if not renewed."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

from ordex.redis_client import RedisClient

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class Lease:
    def __init__(self, redis: RedisClient, key: str, ttl_ms: int = 10_000) -> None:
        self.key = key
        self.owner = uuid.uuid4().hex
        self._redis = redis
        self._ttl_ms = ttl_ms
        self._next_renew = 0.0

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Waits until this holder has the lease (True) or `stop` is set (False)."""
        while not stop.is_set():
            if await self.try_acquire():
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._ttl_ms / 4000)
        return False

    async def try_acquire(self) -> bool:
        """One attempt: True when this holder has the lease now (taken, or still its own: a
        holder that stopped on an error takes it again without waiting for it to expire)."""
        taken = await self._redis.set(self.key, self.owner, nx=True, px=self._ttl_ms)
        if not taken:
            taken = await self._redis.eval(_RENEW, 1, self.key, self.owner, str(self._ttl_ms))
        if taken:
            self._next_renew = time.monotonic() + self._ttl_ms / 3000
        return bool(taken)

    async def keep(self) -> bool:
        """Renews the lease when a third of its time has passed; False once it was lost."""
        if time.monotonic() < self._next_renew:
            return True
        renewed = await self._redis.eval(_RENEW, 1, self.key, self.owner, str(self._ttl_ms))
        self._next_renew = time.monotonic() + self._ttl_ms / 3000
        return bool(renewed)

    async def release(self) -> None:
        if await self._redis.get(self.key) == self.owner.encode():
            await self._redis.delete(self.key)
