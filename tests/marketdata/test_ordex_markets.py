"""ordex's own markets through the market-data routes (`exchangeId: "ordex"`): the matcher's top of
book, the persisted book, fills as trades and candles, the user's trading balance."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from ordex.config import Settings
from ordex.services.trading_accounts import ensure_trading_account
from ordex.streams import top_of_book_key
from tests.marketdata.conftest import MarketDataClient

ORDEX = {"exchangeId": "ordex"}


async def _order(
    conn: asyncpg.Connection, account: int, side: str, price: str, qty: str, status: str
) -> int:
    order_id: int = await conn.fetchval(
        """
        INSERT INTO orders (account_id, market_id, side, type, time_in_force, price, quantity,
                            status, hold_asset)
        VALUES ($1, 'BTC-USDC', $2, 'LIMIT', 'GTC', $3, $4, $5, 'USDC') RETURNING id
        """,
        account, side, Decimal(price), Decimal(qty), status,
    )  # fmt: skip
    return order_id


@pytest.fixture
async def seeded(md: MarketDataClient, settings: Settings) -> dict[str, Any]:
    """A book with two bids and an ask, three trades, a balance, and the matcher's top of book."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        account = await ensure_trading_account(conn, uuid.UUID(md.user_id))
        await _order(conn, account, "BUY", "64990", "0.5", "OPEN")
        await _order(conn, account, "BUY", "64990", "0.25", "PARTIALLY_FILLED")
        await _order(conn, account, "BUY", "64980", "1", "OPEN")
        await _order(conn, account, "SELL", "65010", "0.3", "OPEN")
        await _order(conn, account, "SELL", "65020", "0.3", "CANCELLED")
        taker = await _order(conn, account, "BUY", "65000", "0.3", "FILLED")
        for seq, price in ((4, "65000"), (9, "65005"), (12, "64995")):
            for liquidity in ("TAKER", "MAKER"):
                await conn.execute(
                    """
                    INSERT INTO fills (market_id, seq, order_id, account_id, side, liquidity,
                                       price, quantity, fee, fee_asset)
                    VALUES ('BTC-USDC', $1, $2, $3, 'BUY', $4, $5, 0.1, 0, 'USDC')
                    """,
                    seq, taker, account, liquidity, Decimal(price),
                )  # fmt: skip
        await conn.execute(
            "INSERT INTO balances (account_id, asset, total, held) VALUES ($1, 'USDC', 1000, 250)",
            account,
        )
    finally:
        await conn.close()
    assert settings.redis_url is not None
    redis = Redis.from_url(settings.redis_url)
    try:
        await redis.hset(
            top_of_book_key("BTC-USDC"), mapping={"bid": "64990", "ask": "65010", "last": "64995"}
        )
    finally:
        await redis.aclose()
    return {"account": account}


def data(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_ordex_ticker_book_trades_candles(md: MarketDataClient, seeded: Any) -> None:
    ticker = data(
        await md.post("/api/exchange/fetchTicker", {"config": ORDEX, "symbol": "BTC/USDC"})
    )
    assert ticker["symbol"] == "BTC/USDC"
    assert (ticker["bid"], ticker["ask"], ticker["last"]) == (64990.0, 65010.0, 64995.0)
    assert (ticker["open"], ticker["high"], ticker["low"]) == (65000.0, 65005.0, 64995.0)
    assert ticker["baseVolume"] == pytest.approx(0.3)

    book = data(
        await md.post("/api/exchange/fetchOrderBook", {"config": ORDEX, "symbol": "BTC-USDC"})
    )
    assert book["bids"] == [[64990.0, 0.75], [64980.0, 1.0]]
    assert book["asks"] == [[65010.0, 0.3]]

    trades = data(
        await md.post(
            "/api/exchange/fetchTrades", {"config": ORDEX, "symbol": "BTC/USDC", "limit": 2}
        )
    )
    assert [(t["id"], t["price"], t["side"]) for t in trades] == [
        ("9", 65005.0, "buy"),
        ("12", 64995.0, "buy"),
    ]

    candles = data(
        await md.post(
            "/api/exchange/fetchOHLCV", {"config": ORDEX, "symbol": "BTC/USDC", "timeframe": "1d"}
        )
    )
    assert len(candles) == 1
    assert candles[0][1:] == [65000.0, 65005.0, 64995.0, 64995.0, pytest.approx(0.3)]


async def test_ordex_balance_symbols_capabilities(md: MarketDataClient, seeded: Any) -> None:
    balance = data(await md.post("/api/exchange/fetchBalance", {"config": ORDEX}))
    assert balance["USDC"] == {"free": 750.0, "used": 250.0, "total": 1000.0}

    symbols = await md.get("/api/market", exchange="ordex", action="symbols")
    assert symbols.json()["symbols"] == ["BTC/USDC:USDC", "BTC/USDC", "ETH/USDC:USDC", "ETH/USDC"]

    summary = await md.get("/api/market", exchange="ordex", symbol="BTC/USDC")
    assert summary.status_code == 200
    assert summary.json()["last"] == 64995.0

    caps = data(await md.post("/api/exchange/capabilities", {"config": ORDEX}))
    assert caps["has"]["fetchOHLCV"] is True and "1h" in caps["timeframes"]

    watched = data(
        await md.post("/api/exchange/watchTicker", {"config": ORDEX, "symbol": "BTC/USDC"})
    )
    assert watched["last"] == 64995.0


async def test_ordex_unknown_symbol_and_timeframe_are_400(md: MarketDataClient) -> None:
    unknown = await md.post("/api/exchange/fetchTicker", {"config": ORDEX, "symbol": "DOGE/USDC"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "BAD_SYMBOL"
    timeframe = await md.post(
        "/api/exchange/fetchOHLCV", {"config": ORDEX, "symbol": "BTC/USDC", "timeframe": "3m"}
    )
    assert timeframe.status_code == 400 and timeframe.json()["code"] == "NOT_SUPPORTED"
