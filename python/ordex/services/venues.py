"""What trading sessions need from the markets they trade on, whatever the exchange.

`Venues` answers, for an (exchange, market type, symbol):

- the market's spec: base and quote assets, price and amount steps, fee rates (ccxt's market info;
  ordex's market row for `ordex`);
- its current L2 book and its recent trade prints (ccxt `fetchOrderBook` / `fetchTrades`; ordex's
  persisted book and taker fills, read without touching them), exact as `Decimal`s;
- its last price (to mark positions);
- a ccxt instance signed with the user's stored keys (live sessions).

Books are cached per process for `ordex_paper_book_max_age_ms` with one fetch in flight per market,
so a burst of paper orders costs the exchange one request per period (0: every order fetches);
past half that age the next order starts a fetch in the background and still uses the cached one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, cast

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordex.crypto import SecretBox
from ordex.db import market_data as market_data_repo
from ordex.db.trading_sessions import SessionRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services.errors import ServiceError
from ordex.services.mark_prices import read_mark
from ordex.services.market_data import (
    ORDEX_EXCHANGE_ID,
    ExchangeConfig,
    MarketDataService,
    stored_credentials,
)
from ordex.services.markets import Market, MarketRegistry
from ordex.services.paper_matching import Book, Fees, Level, Print, number, rate
from ordex.streams import top_of_book_key

log = get_logger(__name__)

TICK_SIZE = 4  # ccxt's precisionMode constants
DECIMAL_PLACES = 2
PRINTS_LIMIT = 100
LAST_PRICE_MAX_AGE_SECONDS = 1.0  # a page of sessions or positions asks the ticker once


class SessionSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # The exchange of a session started without one.
    ordex_session_default_exchange: str = "binance"
    # How old a book a paper order may fill against (ms); 0 fetches one for every order.
    ordex_paper_book_max_age_ms: Annotated[int, Field(ge=0, le=60_000)] = 250
    ordex_paper_book_depth: Annotated[int, Field(ge=5, le=1000)] = 100
    # How often the session watcher looks at the markets of resting paper and live orders.
    ordex_session_watch_seconds: Annotated[float, Field(gt=0, le=300)] = 1.0
    # How long a cancel of an internal (ordex exchange) order waits for the engine's answer.
    ordex_session_cancel_wait_ms: Annotated[int, Field(ge=0, le=30_000)] = 2_000


@dataclass(frozen=True, slots=True)
class MarketSpec:
    exchange: str
    market_type: str
    symbol: str
    base: str
    quote: str
    price_step: Decimal | None
    amount_step: Decimal | None
    min_amount: Decimal | None
    fees: Fees


def bad_symbol(exchange: str, symbol: str) -> ServiceError:
    return ServiceError(400, "BAD_SYMBOL", f"{exchange} has no market {symbol}", field="symbol")


def _step(mode: Any, value: Any) -> Decimal | None:
    if value is None:
        return None
    if mode == TICK_SIZE:
        return number(value)
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    return None


def _ordex_spec(market: Market, symbol: str) -> MarketSpec:
    row = market.row
    return MarketSpec(
        exchange=ORDEX_EXCHANGE_ID,
        market_type="swap" if market.is_perp else "spot",
        symbol=symbol,
        base=row.base_asset,
        quote=row.quote_asset,
        price_step=row.tick_size,
        amount_step=row.lot_size,
        min_amount=row.min_quantity,
        fees=Fees(maker=row.maker_fee_rate, taker=row.taker_fee_rate),
    )


def _levels(rows: Any) -> tuple[Level, ...]:
    return tuple(
        Level(number(row[0]), number(row[1]))
        for row in rows or ()
        if row[0] is not None and row[1] is not None
    )


class Venues:
    """One per API process (and the session watcher): market data, keys and a book cache."""

    def __init__(
        self, market_data: MarketDataService, box: SecretBox, settings: SessionSettings
    ) -> None:
        self.market_data = market_data
        self.box = box
        self.settings = settings
        self._books: dict[tuple[str, str, str], tuple[float, Book]] = {}
        self._fetching: dict[tuple[str, str, str], asyncio.Lock] = {}
        # (user, session id) -> the session as last read: what never changes of it (venue,
        # exchange, market, keys) saves a read per order; its status is checked again in the
        # order's own transaction.
        self.sessions: dict[tuple[uuid.UUID, uuid.UUID], SessionRow] = {}
        self._background: set[asyncio.Task[Book]] = set()
        self._last_prices: dict[tuple[str, str, str], tuple[float, Decimal | None]] = {}

    # --- markets ------------------------------------------------------------------------------

    async def _public(self, exchange: str, market_type: str) -> Any:
        return await self.market_data.exchanges.get(ExchangeConfig(exchange, market_type))

    async def spec(
        self, registry: MarketRegistry, exchange: str, market_type: str, symbol: str
    ) -> MarketSpec:
        """The market, or 400 BAD_SYMBOL naming `symbol`."""
        if exchange == ORDEX_EXCHANGE_ID:
            market = registry.find(symbol)
            if market is None:
                raise bad_symbol(exchange, symbol)
            return _ordex_spec(market, symbol)
        instance = await self._public(exchange, market_type)
        market = (instance.markets or {}).get(symbol)
        if market is None:
            raise bad_symbol(exchange, symbol)
        trading = (instance.fees or {}).get("trading", {})
        precision = market.get("precision") or {}
        amount_limits = (market.get("limits") or {}).get("amount") or {}
        return MarketSpec(
            exchange=exchange,
            market_type=market_type,
            symbol=symbol,
            base=str(market["base"]),
            quote=str(market["quote"]),
            price_step=_step(instance.precisionMode, precision.get("price")),
            amount_step=_step(instance.precisionMode, precision.get("amount")),
            min_amount=(None if amount_limits.get("min") is None else number(amount_limits["min"])),
            fees=Fees(
                maker=rate(market.get("maker", trading.get("maker")) or 0),
                taker=rate(market.get("taker", trading.get("taker")) or 0),
            ),
        )

    # --- books, prints, prices ----------------------------------------------------------------

    async def order_book(
        self,
        conn: Connection,
        registry: MarketRegistry,
        spec: MarketSpec,
        *,
        max_age_ms: int | None = None,
    ) -> Book:
        """The venue's current book (cached for at most `max_age_ms`, the settings' by default)."""
        key = (spec.exchange, spec.market_type, spec.symbol)
        max_age = (
            self.settings.ordex_paper_book_max_age_ms if max_age_ms is None else max_age_ms
        ) / 1000
        cached = self._books.get(key)
        if cached is not None:
            age = time.monotonic() - cached[0]
            if age <= max_age:
                if age > max_age / 2:
                    self._refresh_ahead(conn, registry, spec, key)
                return cached[1]
        return await self._refresh(conn, registry, spec, key, max_age)

    async def _refresh(
        self,
        conn: Connection,
        registry: MarketRegistry,
        spec: MarketSpec,
        key: tuple[str, str, str],
        max_age: float,
    ) -> Book:
        lock = self._fetching.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._books.get(key)
            if cached is not None and time.monotonic() - cached[0] <= max_age:
                return cached[1]
            started = time.monotonic()
            book = await self._fetch_book(conn, registry, spec)
            self._books[key] = (started, book)
            return book

    def _refresh_ahead(
        self,
        conn: Connection,
        registry: MarketRegistry,
        spec: MarketSpec,
        key: tuple[str, str, str],
    ) -> None:
        """Past half its age a book is fetched again in the background, so the orders of a busy
        market seldom wait for a fetch. (ordex's own book is read with the request's connection:
        it is fetched in line instead.)"""
        if spec.exchange == ORDEX_EXCHANGE_ID or self._fetching.get(key, asyncio.Lock()).locked():
            return
        task = asyncio.ensure_future(self._refresh(conn, registry, spec, key, 0.0))
        self._background.add(task)
        task.add_done_callback(self._done)

    async def close(self) -> None:
        """Stops background book fetches (the ccxt instances belong to the market-data service)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _done(self, task: asyncio.Task[Book]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("book refresh failed", error=str(task.exception()))

    async def _fetch_book(
        self, conn: Connection, registry: MarketRegistry, spec: MarketSpec
    ) -> Book:
        depth = self.settings.ordex_paper_book_depth
        if spec.exchange == ORDEX_EXCHANGE_ID:
            market = registry.find(spec.symbol)
            if market is None:
                raise bad_symbol(spec.exchange, spec.symbol)
            levels = await market_data_repo.book_levels(conn, market.id, depth)
            return Book(
                bids=tuple(Level(lv.price, lv.quantity) for lv in levels if lv.side == "BUY"),
                asks=tuple(Level(lv.price, lv.quantity) for lv in levels if lv.side == "SELL"),
            )
        config = ExchangeConfig(spec.exchange, spec.market_type)
        instance = await self._public(spec.exchange, spec.market_type)
        raw = await self.market_data.exchanges.call(
            config, instance.fetch_order_book, spec.symbol, depth
        )
        return Book(bids=_levels(raw.get("bids")), asks=_levels(raw.get("asks")))

    async def prints(
        self, conn: Connection, registry: MarketRegistry, spec: MarketSpec
    ) -> list[Print]:
        """The venue's recent trades, oldest first."""
        if spec.exchange == ORDEX_EXCHANGE_ID:
            market = registry.find(spec.symbol)
            if market is None:
                return []
            rows = await market_data_repo.recent_trades(conn, market.id, PRINTS_LIMIT)
            return [Print(f"{r.seq:020d}", r.price, r.quantity) for r in rows]
        config = ExchangeConfig(spec.exchange, spec.market_type)
        instance = await self._public(spec.exchange, spec.market_type)
        raw = await self.market_data.exchanges.call(
            config, instance.fetch_trades, spec.symbol, None, PRINTS_LIMIT
        )
        trades = sorted(raw or [], key=lambda t: (t.get("timestamp") or 0, str(t.get("id"))))
        return [
            Print(
                str(t.get("id") or f"{t.get('timestamp')}:{t.get('price')}:{t.get('amount')}"),
                number(t["price"]),
                number(t["amount"]),
            )
            for t in trades
            if t.get("price") is not None and t.get("amount") is not None
        ]

    async def last_price(
        self,
        conn: Connection,
        redis: RedisClient,
        registry: MarketRegistry,
        exchange: str,
        market_type: str,
        symbol: str,
    ) -> Decimal | None:
        """The price the venue's positions are marked at: the mark price of ordex's perpetual
        markets, else the venue's last trade price; None when it cannot be had (positions then
        mark at their last fill)."""
        if exchange == ORDEX_EXCHANGE_ID:
            market = registry.find(symbol)
            if market is None:
                return None
            if market.is_perp:
                mark = await read_mark(redis, market.id)
                if mark is not None:
                    return mark.price
            last = cast(bytes | None, await redis.hget(top_of_book_key(market.id), "last"))
            if last:
                return Decimal(last.decode())
            rows = await market_data_repo.recent_trades(conn, market.id, 1)
            return rows[-1].price if rows else None
        key = (exchange, market_type, symbol)
        cached = self._last_prices.get(key)
        if cached is not None and time.monotonic() - cached[0] <= LAST_PRICE_MAX_AGE_SECONDS:
            return cached[1]
        config = ExchangeConfig(exchange, market_type)
        try:
            instance = await self._public(exchange, market_type)
            ticker = await self.market_data.exchanges.call(config, instance.fetch_ticker, symbol)
        except ServiceError:
            return None
        last = ticker.get("last") if isinstance(ticker, dict) else None
        price = None if last is None else number(last)
        self._last_prices[key] = (time.monotonic(), price)
        return price

    # --- live ---------------------------------------------------------------------------------

    async def private(
        self,
        conn: Connection,
        user_id: uuid.UUID,
        exchange: str,
        market_type: str,
        account_id: uuid.UUID | None,
    ) -> tuple[ExchangeConfig, Any]:
        """A ccxt instance with the user's keys for the exchange (the given stored account, or
        their newest for that exchange); 400 NO_API_KEYS without any."""
        config = ExchangeConfig(exchange, market_type, account_id=account_id)
        credentials = await stored_credentials(conn, self.box, user_id, exchange, account_id)
        return config, await self.market_data.exchanges.get(config, credentials)

    async def call(self, config: ExchangeConfig, method: Any, *args: Any) -> Any:
        """A ccxt call with ccxt's errors as `ServiceError`s."""
        return await self.market_data.exchanges.call(config, method, *args)
