"""Live market-data feeds for the Socket.IO `subscribe`/`data` protocol.

A feed is one (exchange, market type, ccxt type, symbol, data type[, timeframe]) and, for balances,
one user's keys. Each feed has one upstream shared by every subscriber of this process:

- ccxt exchanges: one task looping over ccxt.pro's `watch*` (config.ccxtType "pro" and the exchange
  has it) or polling the REST method; it is cancelled when the last subscriber leaves;
- ordex's own markets: no loop of their own; the live fan-out hands every batch of engine events
  to `on_engine_events`, which updates the feed (trades from trade events, the book from
  `book_delta` level totals, the current candle) and sends it.

A new subscriber gets the current state at once (ordex) or with the upstream's next update (ccxt).
Deliveries go to the feed's room: one encode and one send per subscriber, whatever their number.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg
import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]

from ordex.db import live as live_repo
from ordex.db import market_data as market_data_repo
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import ordex_market_data
from ordex.services.errors import ServiceError
from ordex.services.exchange_accounts import Credentials
from ordex.services.market_data import ExchangeConfig, MarketDataService, map_ccxt_error
from ordex.services.markets import Market, MarketRegistry
from ordex.services.trading_accounts import find_trading_account

log = get_logger(__name__)

DATA_TYPES = ("ticker", "trades", "orderbook", "ohlcv", "balance")
WATCH = {
    "ticker": ("watchTicker", "fetchTicker"),
    "trades": ("watchTrades", "fetchTrades"),
    "orderbook": ("watchOrderBook", "fetchOrderBook"),
    "ohlcv": ("watchOHLCV", "fetchOHLCV"),
    "balance": ("watchBalance", "fetchBalance"),
}
# ccxt.pro's way to tell the exchange a stream is no longer wanted, where it has one.
UNWATCH = {
    "ticker": "unWatchTicker",
    "trades": "unWatchTrades",
    "orderbook": "unWatchOrderBook",
    "ohlcv": "unWatchOHLCV",
}
BOOK_DEPTH = 50
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    config: ExchangeConfig
    data_type: str
    symbol: str | None = None
    timeframe: str = "1m"
    user_id: uuid.UUID | None = None  # balance feeds are one user's

    @property
    def subscription_id(self) -> str:
        parts = [
            self.config.exchange_id,
            self.config.market_type,
            self.symbol or "",
            self.data_type,
        ]
        if self.data_type == "ohlcv":
            parts.append(self.timeframe)
        return ":".join(parts)

    @property
    def room(self) -> str:
        owner = f":{self.user_id}" if self.user_id is not None else ""
        return f"feed:{self.config.ccxt_type}:{self.subscription_id}{owner}"


@dataclass(eq=False, slots=True)
class Feed:
    spec: FeedSpec
    members: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    exchange: Any = None  # the ccxt instance of a ccxt feed
    credentials: Credentials | None = None
    market: Market | None = None  # ordex feeds
    account_id: int | None = None  # ordex balance feeds
    book: dict[str, dict[Decimal, Decimal]] = field(default_factory=dict)
    candle: list[float] | None = None  # [start ms, open, high, low, close, volume]


# (room, "data" or "error", payload)
Deliver = Callable[[str, str, dict[str, Any]], Awaitable[None]]


class FeedHub:
    def __init__(
        self,
        market_data: MarketDataService,
        pool: asyncpg.Pool,
        redis: RedisClient,
        registry: Callable[[], Awaitable[MarketRegistry]],
        deliver: Deliver,
        *,
        poll_seconds: float = 2.0,
    ) -> None:
        self._market_data = market_data
        self._pool = pool
        self._redis = redis
        self._registry = registry
        self._deliver = deliver
        self._poll_seconds = poll_seconds
        self._feeds: dict[str, Feed] = {}
        self._ordex_feeds: dict[str, set[Feed]] = {}
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()

    def upstream_count(self) -> int:
        """Running upstream loops (ccxt feeds) plus ordex feeds being fed."""
        loops = sum(1 for f in self._feeds.values() if f.task is not None and not f.task.done())
        return loops + sum(len(feeds) for feeds in self._ordex_feeds.values())

    def feed_count(self) -> int:
        return len(self._feeds)

    async def subscribe(
        self, member: str, spec: FeedSpec, credentials: Credentials | None = None
    ) -> Feed:
        """Adds `member` (a socket id) to the feed, creating and starting it on first use.
        Raises ServiceError for an unknown exchange, symbol or data type."""
        async with self._lock:
            feed = self._feeds.get(spec.room)
            if feed is None:
                feed = Feed(spec, credentials=credentials)
                await self._start(feed)
                self._feeds[spec.room] = feed
            feed.members.add(member)
        if spec.config.is_ordex:
            # The current state to the new subscriber only (its id is its own room).
            self._spawn(self._send_ordex_snapshot(feed, member))
        return feed

    async def unsubscribe(self, member: str, room: str) -> bool:
        async with self._lock:
            feed = self._feeds.get(room)
            if feed is None or member not in feed.members:
                return False
            feed.members.discard(member)
            if not feed.members:
                await self._stop(feed)
        return True

    async def leave_all(self, member: str) -> None:
        for room in [room for room, feed in self._feeds.items() if member in feed.members]:
            await self.unsubscribe(member, room)

    async def close(self) -> None:
        async with self._lock:
            for feed in list(self._feeds.values()):
                await self._stop(feed)
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # ----- lifecycle of one feed ----------------------------------------------------------

    async def _start(self, feed: Feed) -> None:
        spec = feed.spec
        if spec.data_type not in DATA_TYPES:
            raise ServiceError(400, "NOT_SUPPORTED", f"Unknown dataType {spec.data_type}")
        if spec.data_type != "balance" and not spec.symbol:
            raise ServiceError(400, "VALIDATION_ERROR", "symbol is required", field="symbol")
        if spec.config.is_ordex:
            await self._start_ordex(feed)
            return
        exchange = await self._market_data.exchanges.get(spec.config, feed.credentials)
        if spec.symbol and spec.symbol not in (exchange.markets or {}):
            raise ServiceError(
                400, "BAD_SYMBOL", f"{spec.config.exchange_id} does not have market {spec.symbol}"
            )
        feed.exchange = exchange
        feed.task = asyncio.create_task(self._ccxt_loop(feed, exchange), name=spec.room)

    async def _stop(self, feed: Feed) -> None:
        self._feeds.pop(feed.spec.room, None)
        if feed.market is not None:
            feeds = self._ordex_feeds.get(feed.market.id)
            if feeds is not None:
                feeds.discard(feed)
                if not feeds:
                    del self._ordex_feeds[feed.market.id]
        task, feed.task = feed.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._unwatch(feed)

    async def _unwatch(self, feed: Feed) -> None:
        """Ends the exchange's stream of a ccxt.pro feed; the instance's connection stays for
        other feeds."""
        spec, exchange = feed.spec, feed.exchange
        method = UNWATCH.get(spec.data_type)
        if exchange is None or spec.config.ccxt_type != "pro" or method is None:
            return
        if not exchange.has.get(method):
            return
        args: tuple[Any, ...] = (
            (spec.symbol, spec.timeframe) if spec.data_type == "ohlcv" else (spec.symbol,)
        )
        try:
            async with asyncio.timeout(5):
                await getattr(exchange, method)(*args)
        except (ccxt_async.BaseError, TimeoutError) as exc:
            log.info("exchange stream not ended", feed=spec.room, error=str(exc))

    # ----- ccxt upstream ------------------------------------------------------------------

    async def _ccxt_loop(self, feed: Feed, exchange: Any) -> None:
        spec = feed.spec
        watch, fetch = WATCH[spec.data_type]
        streaming = spec.config.ccxt_type == "pro" and bool(exchange.has.get(watch))
        method = getattr(exchange, watch if streaming else fetch)
        if spec.data_type == "balance":
            args: tuple[Any, ...] = ()
        elif spec.data_type == "ohlcv":
            args = (spec.symbol, spec.timeframe)
        else:
            args = (spec.symbol,)
        failures = 0
        while True:
            try:
                data = await method(*args)
            except asyncio.CancelledError:
                raise
            except ccxt_async.BaseError as exc:
                error = map_ccxt_error(exc, spec.config.exchange_id)
                await self._send(feed, "error", {"error": error.message, "code": error.code})
                await asyncio.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
                failures += 1
                continue
            failures = 0
            await self._send(feed, "data", data)
            if not streaming:
                await asyncio.sleep(self._poll_seconds)

    async def _send(self, feed: Feed, event: str, data: Any, to: str | None = None) -> None:
        spec = feed.spec
        payload = {
            "subscriptionId": spec.subscription_id,
            "exchangeId": spec.config.exchange_id,
            "symbol": spec.symbol,
            "dataType": spec.data_type,
            "timestamp": int(time.time() * 1000),
        }
        if event == "error":
            payload.update(data)  # {"error": message, "code": CODE}
        else:
            payload["data"] = data
        await self._deliver(to or spec.room, event, payload)

    # ----- ordex's own markets --------------------------------------------------------------

    async def _start_ordex(self, feed: Feed) -> None:
        spec = feed.spec
        registry = await self._registry()
        if spec.data_type == "balance":
            assert spec.user_id is not None
            async with self._pool.acquire() as conn:
                feed.account_id = await find_trading_account(conn, spec.user_id)
            return
        assert spec.symbol is not None
        market = ordex_market_data.resolve_symbol(registry, spec.symbol)
        if spec.data_type == "ohlcv" and spec.timeframe not in ordex_market_data.TIMEFRAMES:
            raise ServiceError(400, "NOT_SUPPORTED", f"ordex has no timeframe {spec.timeframe}")
        feed.market = market
        async with self._pool.acquire() as conn:
            if spec.data_type == "orderbook":
                levels = await market_data_repo.book_levels(conn, market.id, 10_000)
                feed.book = {"BUY": {}, "SELL": {}}
                for level in levels:
                    feed.book[level.side][level.price] = level.quantity
            elif spec.data_type == "ohlcv":
                candles = await ordex_market_data.ohlcv(conn, market, spec.timeframe, 1)
                feed.candle = [float(v) for v in candles[-1]] if candles else None
        self._ordex_feeds.setdefault(market.id, set()).add(feed)

    async def _send_ordex_snapshot(self, feed: Feed, member: str) -> None:
        spec, market = feed.spec, feed.market
        async with self._pool.acquire() as conn:
            if spec.data_type == "balance":
                assert spec.user_id is not None
                data: Any = await ordex_market_data.balance(conn, spec.user_id)
            elif market is None:
                return
            elif spec.data_type == "ticker":
                data = await ordex_market_data.ticker(conn, self._redis, market)
            elif spec.data_type == "trades":
                data = await ordex_market_data.trades(conn, market, 50)
            elif spec.data_type == "orderbook":
                data = self._book_json(feed)
            else:
                data = [feed.candle] if feed.candle else []
        await self._send(feed, "data", data, to=member)

    def _book_json(self, feed: Feed) -> dict[str, Any]:
        assert feed.market is not None
        bids = sorted(feed.book.get("BUY", {}).items(), reverse=True)[:BOOK_DEPTH]
        asks = sorted(feed.book.get("SELL", {}).items())[:BOOK_DEPTH]
        now = int(time.time() * 1000)
        return {
            "symbol": ordex_market_data.ccxt_symbol(feed.market),
            "bids": [[float(p), float(q)] for p, q in bids],
            "asks": [[float(p), float(q)] for p, q in asks],
            "timestamp": now,
            "nonce": None,
        }

    async def on_engine_events(self, market_id: str, events: list[dict[str, Any]]) -> None:
        feeds = self._ordex_feeds.get(market_id)
        balance_feeds = [
            f for f in self._feeds.values() if f.spec.config.is_ordex and f.account_id is not None
        ]
        if not feeds and not balance_feeds:
            return
        trades = [e for e in events if e.get("type") == "trade"]
        deltas = [e for e in events if e.get("type") == "book_delta"]
        for feed in list(feeds or ()):
            await self._update_ordex_feed(feed, trades, deltas)
        if trades and balance_feeds:
            accounts = {int(t[k]) for t in trades for k in ("taker_account", "maker_account")}
            last_seq = max(int(t.get("seq", 0)) for t in trades)
            for feed in balance_feeds:
                if feed.account_id in accounts:
                    self._spawn(self._send_balance_when_applied(feed, market_id, last_seq))

    async def _update_ordex_feed(
        self, feed: Feed, trades: list[dict[str, Any]], deltas: list[dict[str, Any]]
    ) -> None:
        market, data_type = feed.market, feed.spec.data_type
        assert market is not None
        if data_type == "trades" and trades:
            await self._send(feed, "data", [_trade_from_event(market, t) for t in trades])
        elif data_type == "orderbook" and deltas:
            for delta in deltas:
                side = feed.book.setdefault(str(delta["side"]), {})
                price, qty = Decimal(str(delta["price"])), Decimal(str(delta["qty"]))
                if qty == 0:
                    side.pop(price, None)
                else:
                    side[price] = qty
            await self._send(feed, "data", self._book_json(feed))
        elif data_type == "ticker" and (trades or deltas):
            async with self._pool.acquire() as conn:
                ticker = await ordex_market_data.ticker(conn, self._redis, market)
            await self._send(feed, "data", ticker)
        elif data_type == "ohlcv" and trades:
            interval = ordex_market_data.TIMEFRAMES[feed.spec.timeframe].total_seconds() * 1000
            for trade in trades:
                traded, amount = float(trade["price"]), float(trade["qty"])
                bucket = int(time.time() * 1000 // interval * interval)
                candle = feed.candle
                if candle is None or candle[0] != bucket:
                    feed.candle = [float(bucket), traded, traded, traded, traded, amount]
                else:
                    candle[2], candle[3] = max(candle[2], traded), min(candle[3], traded)
                    candle[4], candle[5] = traded, candle[5] + amount
            await self._send(feed, "data", [feed.candle])

    async def _send_balance_when_applied(self, feed: Feed, market_id: str, seq: int) -> None:
        deadline = time.monotonic() + 5.0
        assert feed.spec.user_id is not None
        async with self._pool.acquire() as conn:
            while await live_repo.applied_seq(conn, market_id) < seq:
                if time.monotonic() > deadline:
                    return
                await asyncio.sleep(0.05)
            data = await ordex_market_data.balance(conn, feed.spec.user_id)
        await self._send(feed, "data", data)


def _trade_from_event(market: Market, event: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time() * 1000)
    price, amount = float(event["price"]), float(event["qty"])
    return {
        "id": str(event.get("seq")),
        "order": str(event.get("taker_order_id")),
        "symbol": ordex_market_data.ccxt_symbol(market),
        "timestamp": now,
        "datetime": None,
        "side": str(event.get("taker_side", "")).lower(),
        "takerOrMaker": "taker",
        "price": price,
        "amount": amount,
        "cost": price * amount,
        "info": {"market": market.id, "seq": event.get("seq")},
    }
