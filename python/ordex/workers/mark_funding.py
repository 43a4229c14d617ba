"""Mark and funding worker: per perpetual market (one owner by Redis lease), every ~500 ms

- computes the mark price (`services.mark_prices`) from the matcher's top of book and impact
  prices, the last trade and the index when configured, writes `md:mark:{MARKET}`, and when the
  price changed announces it (pub/sub `mark:{MARKET}`, the live `mark_price` message) and sends
  the engine `set_mark_price` through the outbox;
- samples the funding premium of the current interval and, once an interval has ended, sends its
  settlement (`services.funding.send_settlement`: one row and one command per market and
  interval, whoever sends it and however often).

Embedded as the exchange runtime's role `mark`; `ordex worker mark` runs it on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from decimal import Decimal

import asyncpg
import orjson
from redis.exceptions import RedisError

from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import funding, live_messages, mark_prices
from ordex.services.mark_prices import IndexPrices, MarkPrice
from ordex.services.markets import Market, plain
from ordex.services.ordex_market_data import ccxt_symbol
from ordex.workers.lease import Lease

log = get_logger(__name__)

PERIOD_SECONDS = 0.5
# The index is asked this often at most (exchanges limit their request rates).
INDEX_EVERY_SECONDS = 5.0


def mark_lease_key(market_id: str) -> str:
    return f"lease:mark:{{{market_id}}}"


def mark_message(market: Market, mark: MarkPrice) -> dict[str, object]:
    """The live `mark_price` message's data (decimal strings, like the routes)."""
    return {
        "marketId": market.id,
        "symbol": ccxt_symbol(market),
        "markPrice": plain(mark.price),
        "indexPrice": None if mark.index is None else plain(mark.index),
        "midPrice": None if mark.mid is None else plain(mark.mid),
        "lastPrice": None if mark.last is None else plain(mark.last),
        "timestamp": mark.ts,
    }


class MarkFundingWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        markets: Iterable[Market],
        *,
        lease_ms: int = 10_000,
        period_seconds: float = PERIOD_SECONDS,
        index: IndexPrices | None = None,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self.markets = {m.id: m for m in markets if m.is_perp}
        self._lease_ms = lease_ms
        self._period = period_seconds
        self._index = index
        self._index_prices: dict[str, tuple[float, Decimal | None]] = {}

    async def index_price(self, market: Market) -> Decimal | None:
        if self._index is None or not self._index.sources:
            return None
        cached = self._index_prices.get(market.id)
        if cached is not None and time.monotonic() - cached[0] < INDEX_EVERY_SECONDS:
            return cached[1]
        price = await self._index.fetch(market)
        self._index_prices[market.id] = (time.monotonic(), price)
        return price

    async def step(self, market: Market, now_ms: int | None = None) -> MarkPrice | None:
        """One round for one market at `now_ms` (default: now): the mark, a premium sample, and
        the settlement of every interval ended by then. Returns the mark written, if any."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        top = await mark_prices.read_top(self._redis, market.id)
        index = await self.index_price(market)
        mark = mark_prices.compute_mark(market, top.impact_mid, top.last, index, now)
        if mark is None:
            return None
        previous = await mark_prices.read_mark(self._redis, market.id)
        await mark_prices.write_mark(self._redis, market.id, mark)
        if previous is None or previous.price != mark.price:
            await self._announce(market, mark)
        interval = funding.interval_ms(market)
        if interval is None:
            return mark
        reference = mark.index if mark.index is not None else mark.price
        sample = funding.premium(top.impact_bid, top.impact_ask, reference)
        if sample is not None:
            end = funding.interval_end(now, interval)
            await funding.add_sample(self._redis, market.id, end, sample, interval)
        await self.settle_due(market, now, mark, sample)
        return mark

    async def _announce(self, market: Market, mark: MarkPrice) -> None:
        # The engine first: stops by mark and the liquidation check follow the same price.
        async with self._pool.acquire() as conn:
            await funding.send_mark(conn, market, mark.price)
        await self._redis.publish(mark_prices.mark_channel(market.id), orjson.dumps(mark.fields()))
        await live_messages.publish(self._redis, "mark_price", mark_message(market, mark))

    async def settle_due(
        self, market: Market, now_ms: int, mark: MarkPrice, current: Decimal | None = None
    ) -> int:
        """Sends the settlement of every sampled interval that has ended; returns how many were
        sent by this call (an interval sent before is only forgotten)."""
        sent = 0
        sampled = await funding.due_intervals(self._redis, market.id, now_ms)
        async with self._pool.acquire() as conn:
            missed = await funding.missed_intervals(conn, market, now_ms)
        for end in sorted(set(sampled) | set(missed)):
            taken = await funding.samples(self._redis, market.id, end)
            if not taken and end not in sampled:
                # Nobody sampled this interval: the premium seen now stands in for it.
                taken = [current] if current is not None else [Decimal(0)]
            if taken:
                async with self._pool.acquire() as conn:
                    result = await funding.send_settlement(conn, market, end, taken, mark.price)
                if result.outbox_id is not None:
                    sent += 1
                    log.info(
                        "funding sent",
                        market=market.id,
                        interval=end,
                        rate=plain(result.rate),
                        samples=len(taken),
                    )
            await funding.forget_interval(self._redis, market.id, end)
        return sent

    async def run(self, stop: asyncio.Event) -> None:
        if not self.markets:
            return
        await asyncio.gather(*(self._own(m, stop) for m in self.markets.values()))

    async def _own(self, market: Market, stop: asyncio.Event) -> None:
        lease = Lease(self._redis, mark_lease_key(market.id), self._lease_ms)
        while not stop.is_set():
            if not await lease.acquire(stop):
                return
            try:
                while not stop.is_set():
                    if not await lease.keep():
                        log.warning("mark worker lost its lease", market=market.id)
                        break
                    try:
                        await self.step(market)
                    except (OSError, asyncpg.PostgresError, RedisError) as exc:
                        log.warning("mark step failed; retrying", market=market.id, error=str(exc))
                    except Exception:  # one bad round (a bad price or setting) stops no market
                        log.exception("mark step failed", market=market.id)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self._period)
            finally:
                with contextlib.suppress(Exception):
                    await lease.release()

    async def close(self) -> None:
        if self._index is not None:
            await self._index.close()
