"""Mark price arithmetic by hand: the median, impact prices from book levels, the mark on the tick
grid, positions valued at the mark, and the index from a local server speaking Binance's REST."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest

from ordex.crypto import SecretBox
from ordex.services import mark_prices
from ordex.services.mark_prices import IndexPrices, IndexSource, MarkPrice
from ordex.services.markets import Market, MarketRegistry
from ordex.services.venues import SessionSettings, Venues
from ordex.streams import top_of_book_key
from tests.marketdata.fake_binance import start_fake_binance
from tests.pipeline.conftest import Pipeline

D = Decimal


def test_median_of_odd_even_and_missing_values() -> None:
    assert mark_prices.median([D(3), D(1), D(2)]) == D(2)
    assert mark_prices.median([D(1), D(3)]) == D(2)
    assert mark_prices.median([D(3), D(1), D(2), D(4)]) == D("2.5")
    assert mark_prices.median([None, D(5)]) == D(5)
    assert mark_prices.median([None, None]) is None
    assert mark_prices.median([]) is None


# BTC-PERP: tick 0.1, lot 0.0001, 6 quote decimals: one tick times one lot is 10 atoms.
PER_TICK_LOT = 10
NOTIONAL_1000 = 1_000_000_000  # 1000 USDC in atoms


def test_impact_price_walks_the_levels_exactly() -> None:
    # 0.01 BTC at 65000 (650 USDC), then 350 USDC at 64999: 350/64999 BTC more.
    # Average: 1000 / (0.01 + 350/64999) = 64999000 / 999.99 = 64999.6499965..., to 5 places.
    bids = [(650_000, 100, 1), (649_990, 1_000, 1)]
    price = mark_prices.impact_price(bids, NOTIONAL_1000, PER_TICK_LOT, D("0.1"), 5)
    assert price == D("64999.65000")
    # A level that holds the whole notional: its own price.
    asks = [(650_010, 1_000, 2)]
    assert mark_prices.impact_price(asks, NOTIONAL_1000, PER_TICK_LOT, D("0.1"), 5) == D("65001")
    # Less than the notional in the book: the average over all of it.
    thin = [(650_010, 50, 1), (650_030, 50, 1)]
    assert mark_prices.impact_price(thin, NOTIONAL_1000, PER_TICK_LOT, D("0.1"), 5) == D("65002")
    assert mark_prices.impact_price([], NOTIONAL_1000, PER_TICK_LOT, D("0.1"), 5) is None


@pytest.fixture
def btc_perp() -> Market:
    from ordex.db.markets import MarketRow

    row = MarketRow(
        id="BTC-PERP", kind="PERP", base_asset="BTC", quote_asset="USDC",
        tick_size=D("0.1"), lot_size=D("0.0001"), min_quantity=D("0.0001"), quote_decimals=6,
        price_band=D("0.05"), max_leverage=20, initial_margin_rate=D("0.05"),
        maintenance_margin_rate=D("0.005"), maker_fee_rate=D("0.0002"),
        taker_fee_rate=D("0.0005"), funding_interval_hours=8, funding_rate_cap=D("0.00375"),
        status="ACTIVE", created_at=datetime.now(UTC),
    )  # fmt: skip
    market = MarketRegistry.from_rows([row], {}).find("BTC-PERP")
    assert market is not None
    return market


def test_mark_is_the_median_on_the_tick_grid(btc_perp: Market) -> None:
    # Two inputs: their mean, 65005.025, to the tick (half to even) 65005.0.
    mark = mark_prices.compute_mark(btc_perp, D("65000.05"), D("65010"), None, 7)
    assert mark == MarkPrice(D("65005.0"), D("65000.05"), D("65010"), None, 7)
    # With an index the middle one: 65000.05 -> 650000.5 ticks -> 650000 (half to even).
    mark = mark_prices.compute_mark(btc_perp, D("65000.05"), D("65010"), D("64990"), 8)
    assert mark is not None and mark.price == D("65000.0")
    # A thin book cannot move it: an impact mid far away is outvoted by last and index.
    mark = mark_prices.compute_mark(btc_perp, D("90000"), D("65010"), D("64990"), 9)
    assert mark is not None and mark.price == D("65010")
    assert mark_prices.compute_mark(btc_perp, None, None, None, 1) is None


def test_mark_fields_round_trip() -> None:
    mark = MarkPrice(D("65000.5"), D("65000.25"), D("65001"), None, 1234)
    fields = mark.fields()
    assert fields == {"price": "65000.5", "mid": "65000.25", "last": "65001", "index": "",
                      "ts": "1234"}  # fmt: skip
    assert MarkPrice.from_fields({k.encode(): v.encode() for k, v in fields.items()}) == mark


def test_positions_at_the_mark(btc_perp: Market) -> None:
    marks, collateral = {"BTC-PERP": D("66000")}, {"USDC": D("1000")}
    # Long 0.1 BTC bought at 65000 (cost 6500), mark 66000: unrealized 0.1 * 66000 - 6500 = 100.
    # Cross liquidation with 1000 USDC and nothing else: (6500 - 1000) / (0.1 * (1 - 0.005))
    # = 55276.381..., rounded up to the tick: 55276.4.
    (long,) = mark_prices.value_positions([(btc_perp, D("0.1"), D("6500"))], marks, collateral)
    assert long.mark_price == D("66000") and long.unrealized_pnl == D(100)
    assert long.liquidation_price == D("55276.4")
    # Short: -100 at the mark, liquidated at (6500 + 1000) / (0.1 * 1.005) = 74626.865...,
    # down to the tick.
    (short,) = mark_prices.value_positions([(btc_perp, D("-0.1"), D("6500"))], marks, collateral)
    assert short.unrealized_pnl == D(-100) and short.liquidation_price == D("74626.8")
    # The other positions of the account count: beside the short (PnL -100, maintenance
    # 0.1 * 66000 * 0.005 = 33) the long has 1000 - 100 - 33 = 867 to lose:
    # (6500 - 867) / 0.0995 = 56613.065..., up: 56613.1.
    both = mark_prices.value_positions(
        [(btc_perp, D("0.1"), D("6500")), (btc_perp, D("-0.1"), D("6500"))], marks, collateral
    )
    assert both[0].liquidation_price == D("56613.1")
    (flat,) = mark_prices.value_positions([(btc_perp, D(0), D(0))], marks, collateral)
    assert flat.unrealized_pnl == D(0) and flat.liquidation_price is None
    (unknown,) = mark_prices.value_positions([(btc_perp, D("0.1"), D("6500"))], {}, {})
    assert unknown == mark_prices.PositionMark(None, None, None)


def test_index_sources_setting() -> None:
    assert mark_prices.index_sources("") == []
    assert mark_prices.index_sources(" binance=usdt, kraken ,") == [
        IndexSource("binance", "USDT"),
        IndexSource("kraken", None),
    ]


async def test_index_is_the_median_of_exchange_tickers(btc_perp: Market) -> None:
    fake, runner = await start_fake_binance()
    index = IndexPrices(
        [IndexSource("binance", "USDT"), IndexSource("not-an-exchange")],
        base_urls={"binance": fake.url},
        timeout_ms=2000,
    )
    try:
        # The fake's BTCUSDT ticker: bid 42148.00, ask 42153.00 -> 42150.5; the unknown exchange
        # is left out.
        assert await index.fetch(btc_perp) == D("42150.5")
        fake.last_price = 43000.0
        assert await index.fetch(btc_perp) == D("43000")
    finally:
        await index.close()
        await runner.cleanup()


async def test_session_positions_on_ordex_perpetuals_mark_at_the_mark_price(
    pipeline: Pipeline,
) -> None:
    """Session positions on ordex's markets are marked by `Venues.last_price`: a perpetual at its
    mark price once there is one, a spot market (and a perpetual without a mark) at the last
    trade of the matcher's top of book."""
    venues = Venues(cast(Any, None), SecretBox("k" * 32), SessionSettings())
    await pipeline.redis.hset(top_of_book_key("BTC-PERP"), mapping={"last": "65010"})
    await pipeline.redis.hset(top_of_book_key("BTC-USDC"), mapping={"last": "64990"})

    async def price(symbol: str) -> Decimal | None:
        async with pipeline.pool.acquire() as conn:
            return await venues.last_price(
                conn, pipeline.redis, pipeline.registry, "ordex", "swap", symbol
            )

    assert await price("BTC/USDC:USDC") == D("65010")
    mark = MarkPrice(D("65000.5"), D("65001"), D("65010"), None, 1)
    await mark_prices.write_mark(pipeline.redis, "BTC-PERP", mark)
    assert await price("BTC/USDC:USDC") == D("65000.5")
    assert await price("BTC/USDC") == D("64990")
