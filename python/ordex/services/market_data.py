"""Market data from real exchanges through ccxt, and from ordex's own markets.

One `MarketDataService` per API process keeps ccxt instances cached per (exchange, market type,
ccxt type, credentials): markets are loaded once per instance and refreshed after
`MARKETS_TTL_SECONDS`, and ccxt's own rate limiter stays on, so every request of the process shares
one limiter per exchange account. ccxt's errors become `ServiceError`s with the `/api` statuses:
NotSupported and bad symbols 400, timeouts 408, authentication 401, permissions 403, rate limits 429,
an exchange that is down 503 and any other exchange error 502.

`exchangeId: "ordex"` is served by `OrdexMarketData` (the engine's top of book, the persisted book
and fills) through the same methods.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]
import ccxt.pro as ccxt_pro  # type: ignore[import-untyped]

from ordex.crypto import SecretBox
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import exchange_accounts, ordex_market_data
from ordex.services.errors import ServiceError
from ordex.services.exchange_accounts import Credentials
from ordex.services.markets import MarketRegistry

log = get_logger(__name__)

ORDEX_EXCHANGE_ID = "ordex"
MARKETS_TTL_SECONDS = 3600.0
DEFAULT_TIMEOUT_MS = 15_000
MAX_CACHED_INSTANCES = 256
MAX_LIMIT = 1000
CcxtType = Literal["regular", "pro"]
T = TypeVar("T")

# The unified methods the routes expose, with the `has` flag that says an exchange supports them.
WATCH_METHODS = ("watchTicker", "watchOrderBook", "watchTrades", "watchOHLCV", "watchBalance")


@dataclass(frozen=True, slots=True)
class ExchangeConfig:
    """The `config` object of every market-data request."""

    exchange_id: str
    market_type: str = "spot"
    ccxt_type: CcxtType = "regular"
    account_id: uuid.UUID | None = None  # which stored key to use; default: the newest one

    @property
    def is_ordex(self) -> bool:
        return self.exchange_id == ORDEX_EXCHANGE_ID


def bad_request(message: str, code: str = "INVALID_REQUEST") -> ServiceError:
    return ServiceError(400, code, message)


def _ccxt_status(exc: Exception) -> tuple[int, str]:
    # Subclasses before their bases: PermissionDenied is an AuthenticationError, BadSymbol a
    # BadRequest, RequestTimeout and RateLimitExceeded are NetworkErrors.
    table: tuple[tuple[type[Exception], int, str], ...] = (
        (ccxt_async.NotSupported, 400, "NOT_SUPPORTED"),
        (ccxt_async.BadSymbol, 400, "BAD_SYMBOL"),
        (ccxt_async.ArgumentsRequired, 400, "INVALID_REQUEST"),
        (ccxt_async.BadRequest, 400, "INVALID_REQUEST"),
        (ccxt_async.PermissionDenied, 403, "EXCHANGE_PERMISSION_DENIED"),
        (ccxt_async.AccountSuspended, 403, "EXCHANGE_ACCOUNT_SUSPENDED"),
        (ccxt_async.AuthenticationError, 401, "EXCHANGE_AUTHENTICATION_FAILED"),
        (ccxt_async.RequestTimeout, 408, "REQUEST_TIMEOUT"),
        (ccxt_async.RateLimitExceeded, 429, "RATE_LIMITED"),
        (ccxt_async.DDoSProtection, 429, "RATE_LIMITED"),
        (ccxt_async.NetworkError, 503, "EXCHANGE_UNAVAILABLE"),
        (ccxt_async.ExchangeError, 502, "EXCHANGE_ERROR"),
    )
    for kind, status, code in table:
        if isinstance(exc, kind):
            return status, code
    return 502, "EXCHANGE_ERROR"


def map_ccxt_error(exc: Exception, exchange_id: str) -> ServiceError:
    status, code = _ccxt_status(exc)
    # ccxt messages start with the exchange id and may quote the exchange's whole answer: keep
    # them short, and never echo request headers (ccxt does not put credentials in messages).
    detail = str(exc).strip() or type(exc).__name__
    if len(detail) > 300:
        detail = detail[:300] + "..."
    return ServiceError(status, code, f"{exchange_id}: {type(exc).__name__}", details=detail)


def credential_fingerprint(credentials: Credentials | None) -> str:
    if credentials is None:
        return ""
    material = "\0".join((credentials.api_key, credentials.secret, credentials.passphrase or ""))
    return hashlib.sha256(material.encode()).hexdigest()


def override_base_urls(urls: Any, base: str) -> Any:
    """Every absolute URL in ccxt's `urls["api"]` moved to `base` (scheme and host), path kept:
    points an exchange class at a mirror or a local server. WebSocket URLs get ws/wss."""
    target = urlsplit(base)
    if isinstance(urls, str):
        parts = urlsplit(urls)
        if not parts.scheme:
            return urls
        scheme = target.scheme
        if parts.scheme in ("ws", "wss"):
            scheme = "wss" if target.scheme == "https" else "ws"
        return parts._replace(scheme=scheme, netloc=target.netloc).geturl()
    if isinstance(urls, dict):
        return {key: override_base_urls(value, base) for key, value in urls.items()}
    if isinstance(urls, list):
        return [override_base_urls(value, base) for value in urls]
    return urls


@dataclass(slots=True)
class CachedExchange:
    exchange: Any  # a ccxt Exchange instance
    markets_loaded_at: float | None
    lock: asyncio.Lock


def supported_exchange_ids(ccxt_type: CcxtType = "regular") -> list[str]:
    module = ccxt_pro if ccxt_type == "pro" else ccxt_async
    return list(module.exchanges)


class CcxtExchanges:
    """The ccxt instance cache of one process."""

    def __init__(
        self,
        *,
        base_urls: Mapping[str, str] | None = None,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        markets_ttl_seconds: float = MARKETS_TTL_SECONDS,
        max_instances: int = MAX_CACHED_INSTANCES,
    ) -> None:
        self._base_urls = dict(base_urls or {})
        self._timeout_ms = timeout_ms
        self._markets_ttl = markets_ttl_seconds
        self._max_instances = max_instances
        self._instances: OrderedDict[tuple[str, str, str, str], CachedExchange] = OrderedDict()
        self._creating = asyncio.Lock()

    def _create(self, config: ExchangeConfig, credentials: Credentials | None) -> Any:
        module = ccxt_pro if config.ccxt_type == "pro" else ccxt_async
        if config.exchange_id not in module.exchanges:
            kind = "ccxt.pro" if config.ccxt_type == "pro" else "ccxt"
            raise bad_request(
                f"Exchange '{config.exchange_id}' is not supported by {kind}", "UNKNOWN_EXCHANGE"
            )
        options: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": self._timeout_ms,
            "options": {"defaultType": config.market_type},
        }
        if credentials is not None:
            options.update(apiKey=credentials.api_key, secret=credentials.secret)
            if credentials.passphrase:
                options["password"] = credentials.passphrase
        exchange = getattr(module, config.exchange_id)(options)
        base = self._base_urls.get(config.exchange_id)
        if base:
            exchange.urls["api"] = override_base_urls(exchange.urls["api"], base)
        return exchange

    async def get(self, config: ExchangeConfig, credentials: Credentials | None = None) -> Any:
        """The cached instance, created with its markets loaded on first use and refreshed when
        they are older than the TTL."""
        key = (
            config.exchange_id,
            config.market_type,
            config.ccxt_type,
            credential_fingerprint(credentials),
        )
        async with self._creating:
            cached = self._instances.get(key)
            if cached is None:
                exchange = self._create(config, credentials)
                cached = CachedExchange(exchange, None, asyncio.Lock())
                self._instances[key] = cached
                evicted = self._evict()
            else:
                self._instances.move_to_end(key)
                evicted = []
        for old in evicted:
            await _close_quietly(old.exchange)
        async with cached.lock:
            loaded_at = cached.markets_loaded_at
            if loaded_at is None or time.monotonic() - loaded_at > self._markets_ttl:
                try:
                    await self.call(config, cached.exchange.load_markets, loaded_at is not None)
                except ServiceError:
                    if loaded_at is None:
                        # Never usable (refused keys, unreachable): not kept, so the next request
                        # starts clean and the cache holds only working instances.
                        if self._instances.get(key) is cached:
                            del self._instances[key]
                        await _close_quietly(cached.exchange)
                    raise
                cached.markets_loaded_at = time.monotonic()
        return cached.exchange

    async def describe(self, config: ExchangeConfig) -> dict[str, Any]:
        """What the exchange's ccxt class declares (`has`, timeframes, rate limit): no network
        call, so it answers offline and at once, unlike an instance with its markets loaded."""
        exchange = self._create(config, None)
        try:
            return capabilities_of(exchange, config)
        finally:
            await _close_quietly(exchange)

    @asynccontextmanager
    async def transient(
        self, config: ExchangeConfig, credentials: Credentials | None
    ) -> AsyncIterator[Any]:
        """An instance outside the cache, closed on exit: for credentials that are only being
        tried (`/api/exchange-keys/validate`), which must leave nothing behind."""
        exchange = self._create(config, credentials)
        try:
            yield exchange
        finally:
            await _close_quietly(exchange)

    def _evict(self) -> list[CachedExchange]:
        evicted: list[CachedExchange] = []
        while len(self._instances) > self._max_instances:
            _, old = self._instances.popitem(last=False)
            evicted.append(old)
        return evicted

    async def call(
        self, config: ExchangeConfig, method: Callable[..., Awaitable[T]], *args: Any
    ) -> T:
        try:
            return await method(*args)
        except ccxt_async.BaseError as exc:
            raise map_ccxt_error(exc, config.exchange_id) from exc
        except TimeoutError as exc:
            raise ServiceError(408, "REQUEST_TIMEOUT", f"{config.exchange_id}: timed out") from exc

    async def close(self) -> None:
        instances = list(self._instances.values())
        self._instances.clear()
        for cached in instances:
            await _close_quietly(cached.exchange)

    def cached_count(self) -> int:
        return len(self._instances)


async def _close_quietly(exchange: Any) -> None:
    try:
        await exchange.close()
    except Exception as exc:  # closing never fails a request
        log.warning("ccxt instance did not close cleanly", error=str(exc))


async def stored_credentials(
    conn: Connection,
    box: SecretBox,
    user_id: uuid.UUID,
    exchange_id: str,
    account_id: uuid.UUID | None,
) -> Credentials:
    """The user's keys for the exchange: the named account, or their newest for that exchange."""
    if account_id is None:
        accounts = [
            a
            for a in await exchange_accounts.list_accounts(conn, user_id)
            if a.exchange == exchange_id
        ]
        if not accounts:
            raise bad_request(f"No API keys stored for exchange '{exchange_id}'", "NO_API_KEYS")
        account_id = accounts[-1].id
    return await exchange_accounts.credentials(conn, box, user_id, account_id)


def check_limit(limit: int | None) -> int | None:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def capabilities_of(exchange: Any, config: ExchangeConfig) -> dict[str, Any]:
    return {
        "exchangeId": config.exchange_id,
        "name": exchange.name,
        "marketType": config.market_type,
        "ccxtType": config.ccxt_type,
        "has": {key: value for key, value in exchange.has.items() if value is not None},
        "timeframes": list((exchange.timeframes or {}).keys()),
        "rateLimit": exchange.rateLimit,
    }


@dataclass(frozen=True, slots=True)
class Caller:
    """What a market-data request needs besides its config: the database, Redis, the user."""

    conn: Connection
    redis: RedisClient
    box: SecretBox
    user_id: uuid.UUID
    registry: MarketRegistry


class MarketDataService:
    """The unified methods over ccxt exchanges and ordex's own markets."""

    def __init__(self, exchanges: CcxtExchanges, watch_timeout_seconds: float = 30.0) -> None:
        self.exchanges = exchanges
        self.watch_timeout_seconds = watch_timeout_seconds

    async def _exchange(self, caller: Caller, config: ExchangeConfig, private: bool) -> Any:
        credentials = None
        if private:
            credentials = await stored_credentials(
                caller.conn, caller.box, caller.user_id, config.exchange_id, config.account_id
            )
        return await self.exchanges.get(config, credentials)

    async def instance(self, caller: Caller, config: ExchangeConfig) -> dict[str, Any]:
        if config.is_ordex:
            symbols = ordex_market_data.symbols(caller.registry, config.market_type)
            return {"exchangeId": ORDEX_EXCHANGE_ID, "cached": True, "symbols": symbols}
        exchange = await self._exchange(caller, config, private=False)
        return {
            "exchangeId": config.exchange_id,
            "marketType": config.market_type,
            "ccxtType": config.ccxt_type,
            "cached": True,
            "marketsCount": len(exchange.markets or {}),
        }

    async def symbols(self, caller: Caller, config: ExchangeConfig) -> list[str]:
        if config.is_ordex:
            return ordex_market_data.symbols(caller.registry)
        exchange = await self._exchange(caller, config, private=False)
        return sorted(
            symbol
            for symbol, market in (exchange.markets or {}).items()
            if market.get("active") is not False
        )

    async def capabilities(self, caller: Caller, config: ExchangeConfig) -> dict[str, Any]:
        if config.is_ordex:
            return ordex_market_data.capabilities()
        return await self.exchanges.describe(config)

    async def _unified(
        self, caller: Caller, config: ExchangeConfig, method: str, *args: Any
    ) -> Any:
        exchange = await self._exchange(caller, config, private=method == "fetchBalance")
        if not exchange.has.get(method):
            raise bad_request(f"{config.exchange_id} does not support {method}", "NOT_SUPPORTED")
        return await self.exchanges.call(config, getattr(exchange, method), *args)

    async def fetch_ticker(self, caller: Caller, config: ExchangeConfig, symbol: str) -> Any:
        if config.is_ordex:
            market = ordex_market_data.resolve_symbol(caller.registry, symbol)
            return await ordex_market_data.ticker(caller.conn, caller.redis, market)
        return await self._unified(caller, config, "fetchTicker", symbol)

    async def fetch_order_book(
        self, caller: Caller, config: ExchangeConfig, symbol: str, limit: int | None
    ) -> Any:
        if config.is_ordex:
            market = ordex_market_data.resolve_symbol(caller.registry, symbol)
            return await ordex_market_data.order_book(caller.conn, market, limit)
        return await self._unified(caller, config, "fetchOrderBook", symbol, limit)

    async def fetch_trades(
        self, caller: Caller, config: ExchangeConfig, symbol: str, limit: int | None
    ) -> Any:
        if config.is_ordex:
            market = ordex_market_data.resolve_symbol(caller.registry, symbol)
            return await ordex_market_data.trades(caller.conn, market, limit)
        return await self._unified(caller, config, "fetchTrades", symbol, None, limit)

    async def fetch_ohlcv(
        self,
        caller: Caller,
        config: ExchangeConfig,
        symbol: str,
        timeframe: str,
        limit: int | None,
    ) -> Any:
        if config.is_ordex:
            market = ordex_market_data.resolve_symbol(caller.registry, symbol)
            return await ordex_market_data.ohlcv(caller.conn, market, timeframe, limit)
        return await self._unified(caller, config, "fetchOHLCV", symbol, timeframe, None, limit)

    async def fetch_balance(self, caller: Caller, config: ExchangeConfig) -> Any:
        if config.is_ordex:
            return await ordex_market_data.balance(caller.conn, caller.user_id)
        return await self._unified(caller, config, "fetchBalance")

    async def watch(
        self,
        caller: Caller,
        config: ExchangeConfig,
        method: str,
        symbol: str | None,
        extra: tuple[Any, ...] = (),
    ) -> Any:
        """One update of a ccxt.pro stream (the next one the exchange sends). ordex's markets
        answer with their current state."""
        if method not in WATCH_METHODS:
            raise bad_request(f"Unknown method {method}", "NOT_SUPPORTED")
        if config.is_ordex:
            return await self._ordex_snapshot(caller, method, symbol, extra)
        if config.ccxt_type != "pro":
            raise bad_request(f"{method} needs config.ccxtType 'pro'", "NOT_SUPPORTED")
        if method != "watchBalance" and not symbol:
            raise bad_request("symbol is required", "VALIDATION_ERROR")
        args = () if method == "watchBalance" else (symbol, *extra)
        exchange = await self._exchange(caller, config, private=method == "watchBalance")
        if not exchange.has.get(method):
            raise bad_request(f"{config.exchange_id} does not support {method}", "NOT_SUPPORTED")
        try:
            async with asyncio.timeout(self.watch_timeout_seconds):
                return await self.exchanges.call(config, getattr(exchange, method), *args)
        except TimeoutError as exc:
            raise ServiceError(
                408, "REQUEST_TIMEOUT", f"{config.exchange_id}: no {method} update in time"
            ) from exc

    async def _ordex_snapshot(
        self, caller: Caller, method: str, symbol: str | None, extra: tuple[Any, ...]
    ) -> Any:
        config = ExchangeConfig(ORDEX_EXCHANGE_ID)
        if method == "watchBalance":
            return await self.fetch_balance(caller, config)
        if not symbol:
            raise bad_request("symbol is required", "VALIDATION_ERROR")
        if method == "watchTicker":
            return await self.fetch_ticker(caller, config, symbol)
        if method == "watchOrderBook":
            return await self.fetch_order_book(caller, config, symbol, None)
        if method == "watchTrades":
            return await self.fetch_trades(caller, config, symbol, None)
        timeframe = extra[0] if extra else "1m"
        return await self.fetch_ohlcv(caller, config, symbol, str(timeframe), None)

    async def close(self) -> None:
        await self.exchanges.close()
