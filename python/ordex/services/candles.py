"""Candles over a date range for backtests: from an outside exchange through ccxt, cached in
PostgreSQL, or from ordex's own trades.

- A range is the candles whose open time falls in [start, end), aligned to the timeframe; only
  candles that have closed are returned or stored (one still open would change after the fact).
- Outside exchanges: the parts of the range not fetched completely yet are downloaded with
  `fetchOHLCV`, paged with `since`/`limit` (`since` moves past the newest candle of each page; an
  empty page or a page past the end stops), through the process's `CcxtExchanges`, so ccxt's rate
  limiter is shared with the market-data routes. Pages go to the cache as they arrive, with the
  range they complete; a rerun over a cached range reads PostgreSQL only, gaps the exchange had
  included. Without a connection (the command line without a database) nothing is cached.
- `exchange == "ordex"`: ordex's trades bucketed per timeframe, read from its own database each
  time (they are already there; a copy could only fall behind).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]

from ordex.db import candles as candles_repo
from ordex.db.candles import CandleColumns, OhlcvRow, SeriesKey
from ordex.db.types import Connection
from ordex.services import ordex_market_data
from ordex.services.errors import ServiceError
from ordex.services.market_data import (
    ORDEX_EXCHANGE_ID,
    CcxtExchanges,
    ExchangeConfig,
    map_ccxt_error,
    supported_exchange_ids,
)
from ordex.services.markets import MarketRegistry

TIMEFRAME_MS: dict[str, int] = {
    "1m": 60_000,
    "5m": 5 * 60_000,
    "15m": 15 * 60_000,
    "30m": 30 * 60_000,
    "1h": 3_600_000,
    "4h": 4 * 3_600_000,
    "1d": 86_400_000,
}
MAX_BARS = 2_000_000
PAGE_LIMIT = 1000  # Binance's maximum; exchanges with a lower one answer shorter pages
FLUSH_ROWS = 20_000  # candles written to the cache per transaction while downloading

Progress = Callable[[int, int], None]  # (bars done, bars in the range)


@dataclass(frozen=True, slots=True)
class CandleQuery:
    exchange: str
    symbol: str
    timeframe: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Window:
    """The open times a query covers, [first_ms, end_ms) on the timeframe's grid, of which
    [first_ms, closed_end_ms) belong to candles that have closed."""

    timeframe_ms: int
    first_ms: int
    end_ms: int
    closed_end_ms: int

    @property
    def bars(self) -> int:
        return max(0, (self.closed_end_ms - self.first_ms) // self.timeframe_ms)


def timeframe_ms(timeframe: str) -> int:
    interval = TIMEFRAME_MS.get(timeframe)
    if interval is None:
        raise ServiceError(
            400,
            "INVALID_TIMEFRAME",
            f"timeframe must be one of {', '.join(TIMEFRAME_MS)}",
            field="timeframe",
        )
    return interval


def utc(moment: datetime) -> datetime:
    """A date without a zone is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_ms(moment: datetime) -> int:
    return int(utc(moment).timestamp() * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


def window(query: CandleQuery, now: int | None = None) -> Window:
    """Checks the timeframe and the dates (400s naming the field) and aligns the range."""
    interval = timeframe_ms(query.timeframe)
    start, end = to_ms(query.start), to_ms(query.end)
    if end <= start:
        raise ServiceError(
            400, "INVALID_DATE_RANGE", "endDate must be after startDate", field="endDate"
        )
    first = -(-start // interval) * interval
    last = -(-end // interval) * interval
    if (last - first) // interval > MAX_BARS:
        raise ServiceError(
            400,
            "RANGE_TOO_LARGE",
            f"the range holds more than {MAX_BARS:,} {query.timeframe} candles; "
            "shorten it or use a longer timeframe",
            field="endDate",
        )
    current_open = (now_ms() if now is None else now) // interval * interval
    return Window(interval, first, last, max(first, min(last, current_open)))


class _Tracker:
    """Reports progress in bars of the range as milliseconds of it are covered."""

    def __init__(self, callback: Progress | None, window: Window) -> None:
        self._callback = callback
        self._window = window
        self._covered_ms = 0

    def advance(self, covered_ms: int) -> None:
        self._covered_ms += covered_ms
        if self._callback is not None:
            total = self._window.bars
            self._callback(min(total, self._covered_ms // self._window.timeframe_ms), total)


async def load_candles(
    query: CandleQuery,
    *,
    exchanges: CcxtExchanges,
    conn: Connection | None = None,
    registry: MarketRegistry | None = None,
    progress: Progress | None = None,
    now: int | None = None,
) -> CandleColumns:
    """The closed candles of the range, oldest first. `conn` enables the cache (and is required
    for `ordex`, with `registry`); `progress` is called as bars of the range are covered."""
    bounds = window(query, now)
    tracker = _Tracker(progress, bounds)
    if query.exchange == ORDEX_EXCHANGE_ID:
        return await _ordex_candles(query, bounds, conn, registry, tracker)
    if query.exchange not in supported_exchange_ids():
        raise ServiceError(
            400,
            "UNKNOWN_EXCHANGE",
            f"Exchange '{query.exchange}' is not supported by ccxt",
            field="exchange",
        )
    key = SeriesKey(query.exchange, query.symbol, query.timeframe)
    span = (bounds.first_ms, bounds.closed_end_ms)
    if bounds.bars == 0:
        tracker.advance(0)
        return CandleColumns()
    if conn is None:
        gaps = [span]
    else:
        gaps = await candles_repo.missing_ranges(conn, key, *span)
    tracker.advance((span[1] - span[0]) - sum(end - start for start, end in gaps))
    collected = CandleColumns()
    if gaps:
        exchange, config = await _exchange_for(exchanges, query)
        for gap in gaps:
            sink = _CacheWriter(conn, key, gap[0]).page if conn is not None else _keep(collected)
            await _download(exchanges, exchange, config, query, bounds, gap, sink, tracker)
    if conn is None:
        return collected
    return await candles_repo.read_series(conn, key, *span)


async def _ordex_candles(
    query: CandleQuery,
    bounds: Window,
    conn: Connection | None,
    registry: MarketRegistry | None,
    tracker: _Tracker,
) -> CandleColumns:
    if conn is None or registry is None:
        raise ServiceError(
            400, "DATABASE_REQUIRED", "ordex's candles are read from its database (DATABASE_URL)"
        )
    market = ordex_market_data.resolve_symbol(registry, query.symbol)
    columns = await candles_repo.trade_candles(
        conn, market.id, bounds.timeframe_ms, bounds.first_ms, bounds.closed_end_ms
    )
    tracker.advance(bounds.closed_end_ms - bounds.first_ms)
    return columns


async def _exchange_for(exchanges: CcxtExchanges, query: CandleQuery) -> tuple[Any, ExchangeConfig]:
    """The ccxt instance, after checking it has candles in this timeframe for this symbol."""
    config = ExchangeConfig(query.exchange)
    exchange = await exchanges.get(config)
    if not exchange.has.get("fetchOHLCV"):
        raise ServiceError(400, "NOT_SUPPORTED", f"{query.exchange} does not support fetchOHLCV")
    timeframes = exchange.timeframes or {}
    if timeframes and query.timeframe not in timeframes:
        raise ServiceError(
            400,
            "NOT_SUPPORTED",
            f"{query.exchange} has no {query.timeframe} candles",
            field="timeframe",
        )
    try:
        market = exchange.market(query.symbol)
    except ccxt_async.BaseError as exc:
        raise map_ccxt_error(exc, query.exchange) from exc
    if market["symbol"] != query.symbol:
        # One spelling per series, so the cache finds what it stored.
        raise ServiceError(
            400,
            "BAD_SYMBOL",
            f"use the unified symbol {market['symbol']!r} for {query.symbol!r}",
            field="symbol",
        )
    return exchange, config


PageSink = Callable[[Sequence[OhlcvRow], int, bool], Awaitable[None]]


async def _download(
    exchanges: CcxtExchanges,
    exchange: Any,
    config: ExchangeConfig,
    query: CandleQuery,
    bounds: Window,
    gap: tuple[int, int],
    on_page: PageSink,
    tracker: _Tracker,
) -> None:
    """Pages through [gap): `on_page(rows, covered_until, done)` after every page."""
    since, gap_end = gap
    interval = bounds.timeframe_ms
    while True:
        page = await exchanges.call(
            config, exchange.fetch_ohlcv, query.symbol, query.timeframe, since, PAGE_LIMIT
        )
        newest = max((int(row[0]) for row in page), default=None)
        if newest is None or newest < since:
            # Nothing from `since` on: the rest of the gap has no candles.
            await on_page([], gap_end, True)
            tracker.advance(gap_end - since)
            return
        rows = sorted((row for row in page if since <= row[0] < gap_end), key=lambda r: r[0])
        covered = min(newest + interval, gap_end)
        done = covered >= gap_end
        await on_page(rows, covered, done)
        tracker.advance(covered - since)
        if done:
            return
        since = covered


def _keep(columns: CandleColumns) -> PageSink:
    async def sink(rows: Sequence[OhlcvRow], covered: int, done: bool) -> None:
        columns.append_rows(rows)

    return sink


class _CacheWriter:
    """Writes downloaded pages to the cache in batches, each with the range it completes."""

    def __init__(self, conn: Connection, key: SeriesKey, start: int) -> None:
        self._conn = conn
        self._key = key
        self._flushed_to = start
        self._pending: list[OhlcvRow] = []

    async def page(self, rows: Sequence[OhlcvRow], covered: int, done: bool) -> None:
        self._pending.extend(rows)
        if done or len(self._pending) >= FLUSH_ROWS:
            await candles_repo.store_fetched(
                self._conn, self._key, self._pending, self._flushed_to, covered
            )
            self._flushed_to = covered
            self._pending = []
