"""Fixed-window rate limits in Redis (INCR + EXPIRE), shared by every API worker."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from ordex.services.errors import ServiceError


async def hit(redis: Redis, key: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt for `key`; raise 429 once `limit` attempts fall in the current window."""
    now = time.time()
    bucket = int(now // window_seconds)
    redis_key = f"ordex:ratelimit:{key}:{bucket}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 1)
        count, _ = await pipe.execute()
    if int(count) > limit:
        retry_after = max(1, int((bucket + 1) * window_seconds - now) + 1)
        raise ServiceError(
            429,
            "RATE_LIMITED",
            "Too many attempts; try again later",
            headers={"Retry-After": str(retry_after)},
        )
