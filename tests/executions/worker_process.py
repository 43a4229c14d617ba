"""A flow worker in a process of its own, for the crash test: `python -m
tests.executions.worker_process DATABASE_URL REDIS_URL BINANCE_URL REPLAY_MS SEND_DELAY_S`.

It runs the flow runner (paper venue, binance at the local exchange-speaking server) until killed;
`SEND_DELAY_S` waits before each order is sent, so a test can kill it in the middle of a replay."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from redis.asyncio import Redis

from ordex.crypto import SecretBox
from ordex.db.pool import create_pool
from ordex.services import flow_executions
from ordex.services.market_data import CcxtExchanges, MarketDataService
from ordex.services.venues import SessionSettings, Venues
from ordex.workers import flow_runner
from ordex.workers.flow_runner import FlowRunner


async def main(
    database_url: str, redis_url: str, binance: str, replay_ms: int, delay: float
) -> None:
    send = flow_executions.send_order

    async def slow_send(*args: Any, **kwargs: Any) -> bool:
        await asyncio.sleep(delay)
        return await send(*args, **kwargs)

    flow_runner.flow_executions.send_order = slow_send  # type: ignore[attr-defined]
    pool = await create_pool(database_url, min_size=1, max_size=4)
    redis = Redis.from_url(redis_url)
    settings = SessionSettings(_env_file=None, ordex_paper_book_max_age_ms=0)  # type: ignore[call-arg]
    market_data = MarketDataService(CcxtExchanges(base_urls={"binance": binance}, timeout_ms=2000))
    venues = Venues(market_data, SecretBox("crash-test-key-material-0123456789"), settings)
    runner = FlowRunner(pool, redis, venues, poll_seconds=0.05, lease_ms=1_000, replay_ms=replay_ms)
    runner.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    db, redis_url, binance, replay, delay = sys.argv[1:6]
    asyncio.run(main(db, redis_url, binance, int(replay), float(delay)))
