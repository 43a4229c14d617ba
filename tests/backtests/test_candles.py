"""The candle service: ccxt's fetchOHLCV paged up to the end date against the fake Binance, the
PostgreSQL cache (a rerun makes no network call, gaps included), closed candles only, ordex's own
candles from its trades, and the 400s of bad ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ordex.services.candles import CandleQuery, load_candles
from ordex.services.errors import ServiceError
from ordex.services.market_data import CcxtExchanges
from ordex.services.markets import MarketRegistry
from tests.backtests.conftest import insert_ordex_trades, insert_user
from tests.marketdata.fake_binance import FakeBinance, kline_close

START = datetime(2024, 3, 1, tzinfo=UTC)
START_MS = int(START.timestamp() * 1000)
MINUTE = 60_000


def klines_requests(fake: FakeBinance) -> int:
    return fake.requests.count("/api/v3/klines")


def query(minutes: int, start: datetime = START, timeframe: str = "1m") -> CandleQuery:
    return CandleQuery("binance", "BTC/USDT", timeframe, start, start + timedelta(minutes=minutes))


@pytest.mark.parametrize(("page_cap", "pages"), [(1000, 3), (300, 9)])
async def test_pages_up_to_the_end_date(
    conn: asyncpg.Connection,
    exchanges: CcxtExchanges,
    fake_binance: FakeBinance,
    page_cap: int,
    pages: int,
) -> None:
    """2,500 one-minute candles: pages of the exchange's size, each starting past the newest
    candle of the one before, stopping once a page reaches the end date."""
    fake_binance.klines_max_limit = page_cap
    reports: list[tuple[int, int]] = []
    candles = await load_candles(
        query(2500),
        exchanges=exchanges,
        conn=conn,
        progress=lambda done, total: reports.append((done, total)),
    )
    assert klines_requests(fake_binance) == pages
    assert len(candles) == 2500
    assert list(candles.timestamp) == [START_MS + i * MINUTE for i in range(2500)]
    assert candles.close[0] == kline_close(START_MS)
    assert candles.close[-1] == kline_close(START_MS + 2499 * MINUTE)
    assert candles.open[1] == candles.close[0]  # the fake opens where the last candle closed
    assert reports[-1] == (2500, 2500)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


async def test_a_cached_range_makes_no_network_call(
    conn: asyncpg.Connection, exchanges: CcxtExchanges, fake_binance: FakeBinance
) -> None:
    first = await load_candles(query(1500), exchanges=exchanges, conn=conn)
    requests = len(fake_binance.requests)
    assert klines_requests(fake_binance) == 2

    again = await load_candles(query(1500), exchanges=exchanges, conn=conn)
    inside = await load_candles(
        query(100, START + timedelta(minutes=700)), exchanges=exchanges, conn=conn
    )
    assert len(fake_binance.requests) == requests  # not even the markets are loaded again
    assert again == first
    assert list(inside.timestamp) == list(first.timestamp[700:800])

    # A longer range downloads only what the cache lacks, starting where the cache ends.
    longer = await load_candles(query(1600), exchanges=exchanges, conn=conn)
    assert klines_requests(fake_binance) == 3
    assert list(longer.timestamp) == [START_MS + i * MINUTE for i in range(1600)]


async def test_gaps_of_the_exchange_are_remembered(
    conn: asyncpg.Connection, exchanges: CcxtExchanges, fake_binance: FakeBinance
) -> None:
    """Candles the exchange never had (a halt, the time before a listing) are not asked for
    again: the range is recorded as fetched, not the candles."""
    fake_binance.klines_listed_at = START_MS + 200 * MINUTE
    fake_binance.klines_gaps = {START_MS + m * MINUTE for m in (300, 301, 302, 450)}
    candles = await load_candles(query(600), exchanges=exchanges, conn=conn)
    assert len(candles) == 400 - 4
    assert candles.timestamp[0] == START_MS + 200 * MINUTE
    assert START_MS + 301 * MINUTE not in candles.timestamp
    requests = klines_requests(fake_binance)

    again = await load_candles(query(600), exchanges=exchanges, conn=conn)
    assert klines_requests(fake_binance) == requests
    assert again == candles


async def test_only_closed_candles_are_kept(
    conn: asyncpg.Connection, exchanges: CcxtExchanges, fake_binance: FakeBinance
) -> None:
    """A range running into the future ends at the candle still open now: it is neither
    returned nor stored, and the recorded range stops where it starts."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    current_open = now // MINUTE * MINUTE
    start = datetime.fromtimestamp((current_open - 30 * MINUTE) / 1000, tz=UTC)
    candles = await load_candles(query(60, start), exchanges=exchanges, conn=conn, now=now)
    assert len(candles) == 30
    assert candles.timestamp[-1] == current_open - MINUTE
    stored_newest = await conn.fetchval("SELECT max(open_time) FROM candles")
    assert stored_newest == current_open - MINUTE
    fetched_to = await conn.fetchval("SELECT upper(fetched) FROM candle_ranges")
    assert fetched_to == current_open


async def test_without_a_database_nothing_is_cached(
    exchanges: CcxtExchanges, fake_binance: FakeBinance
) -> None:
    first = await load_candles(query(1200), exchanges=exchanges)
    second = await load_candles(query(1200), exchanges=exchanges)
    assert len(first) == 1200 and second == first
    assert klines_requests(fake_binance) == 4


async def test_aligns_the_range_to_the_timeframe(
    conn: asyncpg.Connection, exchanges: CcxtExchanges
) -> None:
    """[start, end) holds the candles opening in it: 00:30 to 05:30 in hours is 01:00 to 05:00."""
    hourly = CandleQuery(
        "binance", "BTC/USDT", "1h", START + timedelta(minutes=30), START + timedelta(hours=5.5)
    )
    candles = await load_candles(hourly, exchanges=exchanges, conn=conn)
    hour = 3_600_000
    assert list(candles.timestamp) == [START_MS + h * hour for h in range(1, 6)]


async def test_ordex_candles_come_from_its_trades(conn: asyncpg.Connection) -> None:
    user_id = await insert_user(conn, "trader@example.com")
    at = START + timedelta(hours=2)
    await insert_ordex_trades(
        conn,
        user_id,
        [
            (at + timedelta(minutes=5), "65000", "0.1"),
            (at + timedelta(minutes=20), "65100", "0.2"),
            (at + timedelta(minutes=50), "64900", "0.3"),
            (at + timedelta(minutes=55), "64950", "0.1"),
            (at + timedelta(hours=2, minutes=1), "65200", "0.5"),
            (START + timedelta(days=2), "70000", "1"),  # outside the range
        ],
    )
    registry = await MarketRegistry.load(conn)
    candles = await load_candles(
        CandleQuery("ordex", "BTC/USDC", "1h", START, START + timedelta(days=1)),
        exchanges=CcxtExchanges(),
        conn=conn,
        registry=registry,
    )
    hour = 3_600_000
    assert list(candles.timestamp) == [START_MS + 2 * hour, START_MS + 4 * hour]
    assert list(candles.open) == [65000.0, 65200.0]
    assert list(candles.high) == [65100.0, 65200.0]
    assert list(candles.low) == [64900.0, 65200.0]
    assert list(candles.close) == [64950.0, 65200.0]
    assert list(candles.volume) == pytest.approx([0.7, 0.5])

    with pytest.raises(ServiceError) as unknown:
        await load_candles(
            CandleQuery("ordex", "DOGE/USDC", "1h", START, START + timedelta(days=1)),
            exchanges=CcxtExchanges(),
            conn=conn,
            registry=registry,
        )
    assert unknown.value.code == "BAD_SYMBOL"


@pytest.mark.parametrize(
    ("candle_query", "code"),
    [
        (CandleQuery("binance", "BTC/USDT", "3m", START, START + timedelta(days=1)), "INVALID_TIMEFRAME"),
        (CandleQuery("binance", "BTC/USDT", "1h", START, START), "INVALID_DATE_RANGE"),
        (CandleQuery("binance", "BTC/USDT", "1h", START, START - timedelta(days=1)), "INVALID_DATE_RANGE"),
        (CandleQuery("binance", "BTC/USDT", "1m", START, START + timedelta(days=1500)), "RANGE_TOO_LARGE"),
        (CandleQuery("nosuchexchange", "BTC/USDT", "1h", START, START + timedelta(days=1)), "UNKNOWN_EXCHANGE"),
        (CandleQuery("binance", "DOGE/XYZ", "1h", START, START + timedelta(days=1)), "BAD_SYMBOL"),
        (CandleQuery("binance", "BTCUSDT", "1h", START, START + timedelta(days=1)), "BAD_SYMBOL"),
    ],
)  # fmt: skip
async def test_bad_ranges_and_symbols_are_400(
    conn: asyncpg.Connection, exchanges: CcxtExchanges, candle_query: CandleQuery, code: str
) -> None:
    with pytest.raises(ServiceError) as refused:
        await load_candles(candle_query, exchanges=exchanges, conn=conn)
    assert (refused.value.status_code, refused.value.code) == (400, code)


async def test_exchange_errors_map_like_the_market_data_routes(
    conn: asyncpg.Connection, exchanges: CcxtExchanges, fake_binance: FakeBinance
) -> None:
    fake_binance.status_override = 503
    with pytest.raises(ServiceError) as down:
        await load_candles(query(10), exchanges=exchanges, conn=conn)
    assert (down.value.status_code, down.value.code) == (503, "EXCHANGE_UNAVAILABLE")
    assert await conn.fetchval("SELECT count(*) FROM candle_ranges") == 0
