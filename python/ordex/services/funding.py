"""Perpetual funding: intervals, the premium index, the rate, and sending each interval's
settlement to the engine exactly once.

Every `fundingIntervalHours` of the market (`ORDEX_FUNDING_INTERVAL_SECONDS` overrides it for
tests and demos), intervals aligned on the epoch. While an interval runs, the mark worker samples
the premium of the book against the index (the mark when there is no index):

    premium = (max(0, impact_bid - reference) - max(0, reference - impact_ask)) / reference

in the Redis list `md:funding:{MARKET}:{interval end ms}`. At the interval's end the rate is the
samples' mean, clamped to `fundingRateCap` and rounded to 8 decimals (the engine's rate unit); a
positive rate makes longs pay shorts. The settlement row (`funding_settlements`, one per market
and interval) and the engine's `funding` command go into the database in one transaction: a
second worker or a restart finds the row and sends nothing. An interval during which no sample
was taken (no worker ran, or the book had no two sides) is still settled, never skipped: after the
market's last settled interval every ended interval gets its row, at the premium observed when the
worker came back (rate 0 without a book), so funding resumes where it stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import cast

from ordex.db import funding as funding_repo
from ordex.db import orders as orders_repo
from ordex.db.funding import FundingPaymentRow, FundingRateRow
from ordex.db.types import Connection
from ordex.redis_client import RedisClient
from ordex.services.mark_prices import decimal_or_none
from ordex.services.markets import Market, plain

INTERVAL_ENV = "ORDEX_FUNDING_INTERVAL_SECONDS"
RATE_UNIT = Decimal("1e-8")
PREMIUM_UNIT = Decimal("1e-12")


def interval_ms(market: Market) -> int | None:
    """The market's funding interval in milliseconds; None for a market without funding."""
    if not market.is_perp:
        return None
    seconds = decimal_or_none(os.environ.get(INTERVAL_ENV, "").strip())
    if seconds is not None and seconds > 0:
        return max(1, int(seconds * 1000))
    hours = market.row.funding_interval_hours
    return hours * 3_600_000 if hours > 0 else None


def interval_end(now_ms: int, interval: int) -> int:
    """The end of the interval that holds `now_ms` (an instant on a boundary starts one)."""
    return (now_ms // interval + 1) * interval


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def premium(
    impact_bid: Decimal | None, impact_ask: Decimal | None, reference: Decimal | None
) -> Decimal | None:
    """The premium of the book over the reference price; None without both impact prices."""
    if impact_bid is None or impact_ask is None or reference is None or reference <= 0:
        return None
    above = max(Decimal(0), impact_bid - reference)
    below = max(Decimal(0), reference - impact_ask)
    return ((above - below) / reference).quantize(PREMIUM_UNIT, rounding=ROUND_HALF_EVEN)


def mean(values: Iterable[Decimal]) -> Decimal | None:
    items = list(values)
    return sum(items, Decimal(0)) / len(items) if items else None


def funding_rate(premiums: Iterable[Decimal], cap: Decimal) -> Decimal:
    """The samples' mean clamped to `[-cap, cap]`, to the engine's 8 decimals."""
    average = mean(premiums) or Decimal(0)
    clamped = min(cap, max(-cap, average))
    rate = clamped.quantize(RATE_UNIT, rounding=ROUND_HALF_EVEN)
    return rate if rate != 0 else Decimal(0)


# ----- samples in Redis -----------------------------------------------------------------------


def samples_key(market_id: str, end_ms: int) -> str:
    return f"md:funding:{{{market_id}}}:{end_ms}"


def pending_key(market_id: str) -> str:
    """Sorted set of the interval ends that have samples and are not settled yet."""
    return f"md:funding:{{{market_id}}}:pending"


async def add_sample(
    redis: RedisClient, market_id: str, end_ms: int, value: Decimal, interval: int
) -> None:
    key = samples_key(market_id, end_ms)
    pipe = redis.pipeline(transaction=True)
    pipe.rpush(key, plain(value))
    # Kept a few intervals past the end, in case the settlement waits for a worker.
    pipe.pexpire(key, interval * 4 + 60_000)
    pipe.zadd(pending_key(market_id), {str(end_ms): end_ms})
    await pipe.execute()


async def samples(redis: RedisClient, market_id: str, end_ms: int) -> list[Decimal]:
    raw = await redis.lrange(samples_key(market_id, end_ms), 0, -1)
    values = [decimal_or_none(v) for v in raw]
    return [v for v in values if v is not None]


async def due_intervals(redis: RedisClient, market_id: str, now_ms: int) -> list[int]:
    ends = await redis.zrangebyscore(pending_key(market_id), "-inf", now_ms)
    return sorted(int(cast(bytes, e)) for e in ends)


# At most this many unsampled intervals are caught up in one round (the rest in the next ones).
CATCH_UP_PER_ROUND = 500


async def missed_intervals(conn: Connection, market: Market, now_ms: int) -> list[int]:
    """Interval ends after the market's last settlement row that have ended by `now_ms`: those
    no worker sampled (down for the whole interval, no book) as well as sampled ones. Empty
    before the market's first settlement: funding starts with the first sampled interval."""
    interval = interval_ms(market)
    last = await funding_repo.last_interval_end(conn, market.id)
    if interval is None or last is None:
        return []
    first = datetime_to_ms(last) + interval
    last_ended = now_ms - now_ms % interval
    ends = range(first, last_ended + 1, interval)
    return list(ends[:CATCH_UP_PER_ROUND])


async def forget_interval(redis: RedisClient, market_id: str, end_ms: int) -> None:
    pipe = redis.pipeline(transaction=True)
    pipe.delete(samples_key(market_id, end_ms))
    pipe.zrem(pending_key(market_id), str(end_ms))
    await pipe.execute()


# ----- sending a settlement -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FundingSent:
    market_id: str
    interval_end: int  # ms
    rate: Decimal
    mark_price: Decimal
    outbox_id: int | None  # None: the interval had been sent already


async def send_settlement(
    conn: Connection,
    market: Market,
    end_ms: int,
    premiums: list[Decimal],
    mark_price: Decimal,
) -> FundingSent:
    """The settlement row and the engine's `funding` command, in one transaction; nothing when
    the interval's row exists already."""
    rate = funding_rate(premiums, market.row.funding_rate_cap)
    end = ms_to_datetime(end_ms)
    async with conn.transaction():
        claimed = await funding_repo.claim_settlement(
            conn, market.id, end, rate, mark_price, mean(premiums), len(premiums)
        )
        if not claimed:
            return FundingSent(market.id, end_ms, rate, mark_price, None)
        command: dict[str, object] = {
            "type": "funding",
            "interval": end_ms,
            "rate": plain(rate),
            "mark": plain(mark_price),
        }
        outbox_id, _ = await orders_repo.insert_outbox(conn, market.id, "engine.funding", command)
        await funding_repo.set_outbox_id(conn, market.id, end, outbox_id)
    return FundingSent(market.id, end_ms, rate, mark_price, outbox_id)


async def send_mark(conn: Connection, market: Market, price: Decimal) -> int:
    """The engine's `set_mark_price` command through the outbox; returns its cmd_id."""
    command: dict[str, object] = {"type": "set_mark_price", "price": plain(price)}
    outbox_id, _ = await orders_repo.insert_outbox(conn, market.id, "engine.mark", command)
    return outbox_id


# ----- what the routes show -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FundingOutlook:
    predicted_rate: Decimal | None
    next_funding_ms: int | None


async def outlook(redis: RedisClient, market: Market, now_ms: int) -> FundingOutlook:
    """The rate the current interval would settle at now (its samples so far) and its end."""
    interval = interval_ms(market)
    if interval is None:
        return FundingOutlook(None, None)
    end = interval_end(now_ms, interval)
    taken = await samples(redis, market.id, end)
    rate = funding_rate(taken, market.row.funding_rate_cap) if taken else None
    return FundingOutlook(rate, end)


async def list_payments(
    conn: Connection, account_id: int | None, *, market: Market | None, limit: int
) -> list[FundingPaymentRow]:
    if account_id is None:
        return []
    return await funding_repo.list_payments(
        conn, account_id, market_id=market.id if market else None, limit=limit
    )


async def list_rates(conn: Connection, market: Market, *, limit: int) -> list[FundingRateRow]:
    return await funding_repo.list_rates(conn, market.id, limit=limit)
