"""ordex's own markets as a ccxt-shaped exchange (`exchangeId: "ordex"`).

- ticker: best bid, best ask and last price from the matcher's top of book (`md:top:{MARKET}`,
  written after every batch), 24h open/high/low/volume from the fills table, and for a perpetual
  `markPrice`/`indexPrice` from the mark worker (`md:mark:{MARKET}`);
- order book: the open quantity of resting orders per price, as the persister has applied them;
- trades and candles: taker fills (one per engine trade);
- balance: the user's trading account.

Symbols are ccxt's: `BTC/USDC` for spot, `BTC/USDC:USDC` for a perpetual; any alias resolves.
Shapes follow ccxt's unified structures so one client reads ordex and real exchanges alike.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ordex.db import market_data as market_data_repo
from ordex.db.types import Connection
from ordex.redis_client import RedisClient
from ordex.services import portfolio
from ordex.services.errors import ServiceError
from ordex.services.mark_prices import mark_key
from ordex.services.markets import Market, MarketRegistry
from ordex.services.trading_accounts import find_trading_account
from ordex.streams import top_of_book_key

TIMEFRAMES: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}
HAS = {
    "fetchTicker": True,
    "fetchOrderBook": True,
    "fetchTrades": True,
    "fetchOHLCV": True,
    "fetchBalance": True,
    "fetchMarkets": True,
    "watchTicker": True,
    "watchOrderBook": True,
    "watchTrades": True,
    "watchOHLCV": True,
    "watchBalance": True,
}


def ccxt_symbol(market: Market) -> str:
    base, quote = market.row.base_asset, market.row.quote_asset
    return f"{base}/{quote}:{quote}" if market.is_perp else f"{base}/{quote}"


def resolve_symbol(registry: MarketRegistry, symbol: str) -> Market:
    market = registry.find(symbol)
    if market is None:
        raise ServiceError(400, "BAD_SYMBOL", f"ordex does not have market symbol {symbol}")
    return market


def _num(value: Decimal | str | bytes | None) -> float | None:
    if value is None or value == b"" or value == "":
        return None
    if isinstance(value, bytes):
        value = value.decode()
    return float(value)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def symbols(registry: MarketRegistry, market_type: str | None = None) -> list[str]:
    wanted = {"spot": False, "swap": True, "future": True}.get(market_type or "")
    return [
        ccxt_symbol(m)
        for m in registry.markets
        if m.is_active and (wanted is None or m.is_perp == wanted)
    ]


def markets(registry: MarketRegistry) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "symbol": ccxt_symbol(m),
            "base": m.row.base_asset,
            "quote": m.row.quote_asset,
            "settle": m.row.quote_asset if m.is_perp else None,
            "type": "swap" if m.is_perp else "spot",
            "spot": not m.is_perp,
            "swap": m.is_perp,
            "active": m.is_active,
            "precision": {"price": float(m.row.tick_size), "amount": float(m.row.lot_size)},
            "limits": {"amount": {"min": float(m.row.min_quantity), "max": None}},
            "maker": float(m.row.maker_fee_rate),
            "taker": float(m.row.taker_fee_rate),
        }
        for m in registry.markets
    ]


async def ticker(conn: Connection, redis: RedisClient, market: Market) -> dict[str, Any]:
    top = await redis.hgetall(top_of_book_key(market.id))
    mark = await redis.hgetall(mark_key(market.id)) if market.is_perp else {}
    stats = await market_data_repo.day_stats(conn, market.id)
    last = _num(top.get(b"last")) or _num(stats.close)
    opened = _num(stats.open)
    change = None if last is None or opened is None else last - opened
    percentage = None if change is None or not opened else change / opened * 100
    now = int(time.time() * 1000)
    return {
        "symbol": ccxt_symbol(market),
        "timestamp": now,
        "datetime": _iso(now),
        "high": _num(stats.high),
        "low": _num(stats.low),
        "bid": _num(top.get(b"bid")),
        "bidVolume": None,
        "ask": _num(top.get(b"ask")),
        "askVolume": None,
        "open": opened,
        "close": last,
        "last": last,
        "previousClose": None,
        "change": change,
        "percentage": percentage,
        "average": None,
        "baseVolume": float(stats.base_volume),
        "quoteVolume": float(stats.quote_volume),
        "markPrice": _num(mark.get(b"price")),
        "indexPrice": _num(mark.get(b"index")),
        "info": {"market": market.id},
    }


async def order_book(conn: Connection, market: Market, limit: int | None) -> dict[str, Any]:
    levels = await market_data_repo.book_levels(conn, market.id, limit or 100)
    now = int(time.time() * 1000)
    return {
        "symbol": ccxt_symbol(market),
        "bids": [[float(lv.price), float(lv.quantity)] for lv in levels if lv.side == "BUY"],
        "asks": [[float(lv.price), float(lv.quantity)] for lv in levels if lv.side == "SELL"],
        "timestamp": now,
        "datetime": _iso(now),
        "nonce": None,
    }


def trade_json(market: Market, row: market_data_repo.TradeRow) -> dict[str, Any]:
    ms = _ms(row.created_at)
    price, amount = float(row.price), float(row.quantity)
    return {
        "id": str(row.seq),
        "order": str(row.order_id),
        "symbol": ccxt_symbol(market),
        "timestamp": ms,
        "datetime": _iso(ms),
        "side": row.side.lower(),
        "takerOrMaker": "taker",
        "price": price,
        "amount": amount,
        "cost": price * amount,
        "type": None,
        "fee": None,
        "info": {"market": market.id, "seq": row.seq},
    }


async def trades(conn: Connection, market: Market, limit: int | None) -> list[dict[str, Any]]:
    rows = await market_data_repo.recent_trades(conn, market.id, limit or 100)
    return [trade_json(market, row) for row in rows]


async def ohlcv(
    conn: Connection, market: Market, timeframe: str, limit: int | None
) -> list[list[float | int]]:
    interval = TIMEFRAMES.get(timeframe)
    if interval is None:
        raise ServiceError(
            400, "NOT_SUPPORTED", f"ordex has no timeframe {timeframe}; one of {list(TIMEFRAMES)}"
        )
    rows = await market_data_repo.candles(conn, market.id, interval, limit or 100)
    return [
        [
            _ms(c.bucket),
            float(c.open),
            float(c.high),
            float(c.low),
            float(c.close),
            float(c.volume),
        ]
        for c in rows
    ]


async def balance(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    """ccxt's balance structure: per asset free/used/total, and the free/used/total maps."""
    account_id = await find_trading_account(conn, user_id)
    rows = await portfolio.list_balances(conn, account_id)
    result: dict[str, Any] = {"info": {"account": account_id}, "free": {}, "used": {}, "total": {}}
    for row in rows:
        free, used, total = float(row.available), float(row.held), float(row.total)
        result[row.asset] = {"free": free, "used": used, "total": total}
        result["free"][row.asset] = free
        result["used"][row.asset] = used
        result["total"][row.asset] = total
    now = int(time.time() * 1000)
    result.update(timestamp=now, datetime=_iso(now))
    return result


def capabilities() -> dict[str, Any]:
    return {
        "exchangeId": "ordex",
        "name": "ordex",
        "marketType": "spot",
        "ccxtType": "regular",
        "has": dict(HAS),
        "timeframes": list(TIMEFRAMES),
        "rateLimit": 0,
    }
