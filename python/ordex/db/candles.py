"""SQL for candles: the cache of outside exchanges' candles with the ranges fetched completely, and
ordex's own candles bucketed from its trades.

Times are milliseconds since the epoch; a range is [from, to) over candle open times. Candles come
out as columns (`CandleColumns`), the shape the evaluator reads without copying.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from ordex.db.types import Connection

READ_CHUNK = 50_000  # rows per round trip when reading a series back

OhlcvRow = Sequence[float]  # [open_time ms, open, high, low, close, volume], as ccxt gives them


@dataclass(frozen=True, slots=True)
class SeriesKey:
    exchange: str
    symbol: str
    timeframe: str


def _int_array() -> array[int]:
    return array("q")


def _float_array() -> array[float]:
    return array("d")


@dataclass(slots=True)
class CandleColumns:
    """Candles oldest first, one typed array per field."""

    timestamp: array[int] = field(default_factory=_int_array)
    open: array[float] = field(default_factory=_float_array)
    high: array[float] = field(default_factory=_float_array)
    low: array[float] = field(default_factory=_float_array)
    close: array[float] = field(default_factory=_float_array)
    volume: array[float] = field(default_factory=_float_array)

    def __len__(self) -> int:
        return len(self.timestamp)

    def append_rows(self, rows: Sequence[OhlcvRow]) -> None:
        for row in rows:
            self.timestamp.append(int(row[0]))
            self.open.append(float(row[1]))
            self.high.append(float(row[2]))
            self.low.append(float(row[3]))
            self.close.append(float(row[4]))
            self.volume.append(float(row[5] or 0.0))

    def as_mapping(self) -> dict[str, array[int] | array[float]]:
        return {
            "timestamp": self.timestamp,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


async def missing_ranges(
    conn: Connection, key: SeriesKey, start_ms: int, end_ms: int
) -> list[tuple[int, int]]:
    """The parts of [start_ms, end_ms) not fetched completely yet, in order."""
    records = await conn.fetch(
        """
        SELECT lower(gap) AS start_ms, upper(gap) AS end_ms
        FROM unnest(
            int8multirange(int8range($4, $5))
            - coalesce(
                (SELECT fetched FROM candle_ranges
                 WHERE exchange = $1 AND symbol = $2 AND timeframe = $3),
                '{}'::int8multirange)
        ) AS gap
        ORDER BY 1
        """,
        key.exchange,
        key.symbol,
        key.timeframe,
        start_ms,
        end_ms,
    )
    return [(r["start_ms"], r["end_ms"]) for r in records]


async def store_fetched(
    conn: Connection,
    key: SeriesKey,
    rows: Sequence[OhlcvRow],
    fetched_from: int,
    fetched_to: int,
) -> None:
    """Stores candles (keeping any already there) and records [fetched_from, fetched_to) as
    fetched completely, together. Values travel as float8 and become NUMERIC through their
    shortest text, the digits the exchange sent (42000.1 stays 42000.1)."""
    async with conn.transaction():
        if rows:
            await conn.execute(
                """
                INSERT INTO candles (exchange, symbol, timeframe, open_time,
                                     open, high, low, close, volume)
                SELECT $1, $2, $3, t, o::text::numeric, h::text::numeric, l::text::numeric,
                       c::text::numeric, v::text::numeric
                FROM unnest($4::bigint[], $5::float8[], $6::float8[], $7::float8[],
                            $8::float8[], $9::float8[]) AS page (t, o, h, l, c, v)
                ON CONFLICT DO NOTHING
                """,
                key.exchange,
                key.symbol,
                key.timeframe,
                [int(r[0]) for r in rows],
                [float(r[1]) for r in rows],
                [float(r[2]) for r in rows],
                [float(r[3]) for r in rows],
                [float(r[4]) for r in rows],
                [float(r[5] or 0.0) for r in rows],
            )
        if fetched_to > fetched_from:
            await conn.execute(
                """
                INSERT INTO candle_ranges (exchange, symbol, timeframe, fetched)
                VALUES ($1, $2, $3, int8multirange(int8range($4, $5)))
                ON CONFLICT (exchange, symbol, timeframe) DO UPDATE
                SET fetched = candle_ranges.fetched + EXCLUDED.fetched, updated_at = now()
                """,
                key.exchange,
                key.symbol,
                key.timeframe,
                fetched_from,
                fetched_to,
            )


async def read_series(
    conn: Connection, key: SeriesKey, start_ms: int, end_ms: int
) -> CandleColumns:
    """Cached candles with open times in [start_ms, end_ms), oldest first."""
    columns = CandleColumns()
    since = start_ms
    while True:
        record = await conn.fetchrow(
            """
            SELECT count(*) AS n,
                   array_agg(open_time ORDER BY open_time) AS t,
                   array_agg(open::float8 ORDER BY open_time) AS o,
                   array_agg(high::float8 ORDER BY open_time) AS h,
                   array_agg(low::float8 ORDER BY open_time) AS l,
                   array_agg(close::float8 ORDER BY open_time) AS c,
                   array_agg(volume::float8 ORDER BY open_time) AS v
            FROM (
                SELECT open_time, open, high, low, close, volume FROM candles
                WHERE exchange = $1 AND symbol = $2 AND timeframe = $3
                  AND open_time >= $4 AND open_time < $5
                ORDER BY open_time LIMIT $6
            ) AS chunk
            """,
            key.exchange,
            key.symbol,
            key.timeframe,
            since,
            end_ms,
            READ_CHUNK,
        )
        assert record is not None
        if record["n"] == 0:
            return columns
        _extend(columns, record)
        if record["n"] < READ_CHUNK:
            return columns
        since = columns.timestamp[-1] + 1


def _extend(columns: CandleColumns, record: asyncpg.Record) -> None:
    columns.timestamp.extend(record["t"])
    columns.open.extend(record["o"])
    columns.high.extend(record["h"])
    columns.low.extend(record["l"])
    columns.close.extend(record["c"])
    columns.volume.extend(record["v"])


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


async def trade_candles(
    conn: Connection, market_id: str, interval_ms: int, start_ms: int, end_ms: int
) -> CandleColumns:
    """ordex's candles of a market from its trades (taker fills, one per trade) with open times in
    [start_ms, end_ms), bucketed from the epoch; periods without trades have no candle."""
    record = await conn.fetchrow(
        """
        SELECT count(*) AS n,
               array_agg((extract(epoch FROM bucket) * 1000)::bigint ORDER BY bucket) AS t,
               array_agg(open::float8 ORDER BY bucket) AS o,
               array_agg(high::float8 ORDER BY bucket) AS h,
               array_agg(low::float8 ORDER BY bucket) AS l,
               array_agg(close::float8 ORDER BY bucket) AS c,
               array_agg(volume::float8 ORDER BY bucket) AS v
        FROM (
            SELECT bucket,
                   (array_agg(price ORDER BY id))[1] AS open,
                   max(price) AS high,
                   min(price) AS low,
                   (array_agg(price ORDER BY id DESC))[1] AS close,
                   sum(quantity) AS volume
            FROM (
                SELECT id, price, quantity,
                       date_bin($2::interval, created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')
                           AS bucket
                FROM fills
                WHERE market_id = $1 AND liquidity = 'TAKER'
                  AND created_at >= $3 AND created_at < $4
            ) AS trades
            GROUP BY bucket
        ) AS buckets
        """,
        market_id,
        timedelta(milliseconds=interval_ms),
        _moment(start_ms),
        _moment(end_ms),
    )
    columns = CandleColumns()
    if record is not None and record["n"]:
        _extend(columns, record)
    return columns
