"""Rate limits in Redis, shared by every API worker.

A window opens at the first attempt (SET NX EX) and counts attempts (INCR keeps the TTL), so a
burst is never split in two by a clock boundary.
"""

from __future__ import annotations

from ordex.redis_client import RedisClient
from ordex.services.errors import ServiceError


async def hit(redis: RedisClient, key: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt for `key`; raise 429 once more than `limit` fall in the open window."""
    redis_key = f"ordex:ratelimit:{key}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(redis_key, 0, ex=window_seconds, nx=True)
        pipe.incr(redis_key)
        pipe.ttl(redis_key)
        _, count, ttl = await pipe.execute()
    if int(count) > limit:
        raise ServiceError(
            429,
            "RATE_LIMITED",
            "Too many attempts; try again later",
            headers={"Retry-After": str(max(1, int(ttl)))},
        )
