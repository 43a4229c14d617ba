"""Market data: `/api/exchange/*` (ccxt's unified methods over any exchange, ordex included) and
`/api/market` (symbols and a ticker summary).

Every `/api/exchange/*` body carries `config` = `{exchangeId, marketType?, ccxtType?, accountId?}`
and answers `{"success": true, "data": ...}` with ccxt's unified structures. Errors use the `/api`
envelope `{"error", "code", "details"?}`: 400 for unsupported features and unknown exchanges or
symbols, 401/403 when the exchange refuses the stored keys, 408 on timeouts, 429 when the exchange
rate-limits, 502 for other exchange errors, 503 when the exchange is unreachable.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ordex.api.deps import CurrentUser, DbConn, RedisDep
from ordex.api.routes.exchange import Registry
from ordex.api.workspace_deps import SecretBoxDep
from ordex.services.errors import ServiceError
from ordex.services.market_data import (
    MAX_LIMIT,
    WATCH_METHODS,
    Caller,
    CcxtExchanges,
    ExchangeConfig,
    MarketDataService,
)
from ordex.services.market_data_settings import MarketDataSettings

router = APIRouter(tags=["market data"])

_EXCHANGE_ID = r"^[a-z0-9_]{1,50}$"
_MARKET_TYPES = Literal["spot", "margin", "swap", "future", "option", "linear", "inverse"]


class ConfigIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # clients send more (sandbox, provider ids)

    exchangeId: str = Field(pattern=_EXCHANGE_ID)
    marketType: _MARKET_TYPES = "spot"
    ccxtType: Literal["regular", "pro"] = "regular"
    accountId: uuid.UUID | None = None

    def to_config(self) -> ExchangeConfig:
        return ExchangeConfig(self.exchangeId, self.marketType, self.ccxtType, self.accountId)


class ConfigBody(BaseModel):
    config: ConfigIn


class SymbolBody(ConfigBody):
    symbol: str = Field(min_length=1, max_length=64)
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


class OhlcvBody(SymbolBody):
    timeframe: str = Field(default="1m", pattern=r"^[0-9]{1,3}[smhdwMy]$")


class WatchBody(ConfigBody):
    symbol: str | None = Field(default=None, min_length=1, max_length=64)
    timeframe: str = Field(default="1m", pattern=r"^[0-9]{1,3}[smhdwMy]$")


def market_data_service(request: Request) -> MarketDataService:
    """One service (and ccxt instance cache) per app, built on first use."""
    service: MarketDataService | None = getattr(request.app.state, "market_data", None)
    if service is None:
        settings = MarketDataSettings()
        service = MarketDataService(
            CcxtExchanges(
                base_urls=settings.ordex_ccxt_base_urls,
                timeout_ms=settings.ordex_ccxt_timeout_ms,
            )
        )
        request.app.state.market_data = service
    return service


MarketData = Annotated[MarketDataService, Depends(market_data_service)]


async def get_caller(
    user: CurrentUser, conn: DbConn, redis: RedisDep, box: SecretBoxDep, registry: Registry
) -> Caller:
    return Caller(conn=conn, redis=redis, box=box, user_id=user.id, registry=registry)


CallerDep = Annotated[Caller, Depends(get_caller)]


def _data(value: Any) -> dict[str, Any]:
    return {"success": True, "data": value}


@router.post("/api/exchange/instance")
async def instance(body: ConfigBody, caller: CallerDep, service: MarketData) -> dict[str, Any]:
    return _data(await service.instance(caller, body.config.to_config()))


@router.post("/api/exchange/capabilities")
async def capabilities(body: ConfigBody, caller: CallerDep, service: MarketData) -> dict[str, Any]:
    return _data(await service.capabilities(caller, body.config.to_config()))


@router.post("/api/exchange/fetchTicker")
async def fetch_ticker(body: SymbolBody, caller: CallerDep, service: MarketData) -> dict[str, Any]:
    return _data(await service.fetch_ticker(caller, body.config.to_config(), body.symbol))


@router.post("/api/exchange/fetchOrderBook")
async def fetch_order_book(
    body: SymbolBody, caller: CallerDep, service: MarketData
) -> dict[str, Any]:
    config = body.config.to_config()
    return _data(await service.fetch_order_book(caller, config, body.symbol, body.limit))


@router.post("/api/exchange/fetchTrades")
async def fetch_trades(body: SymbolBody, caller: CallerDep, service: MarketData) -> dict[str, Any]:
    config = body.config.to_config()
    return _data(await service.fetch_trades(caller, config, body.symbol, body.limit))


@router.post("/api/exchange/fetchOHLCV")
async def fetch_ohlcv(body: OhlcvBody, caller: CallerDep, service: MarketData) -> dict[str, Any]:
    config = body.config.to_config()
    return _data(await service.fetch_ohlcv(caller, config, body.symbol, body.timeframe, body.limit))


@router.post("/api/exchange/fetchBalance")
async def fetch_balance(body: ConfigBody, caller: CallerDep, service: MarketData) -> dict[str, Any]:
    return _data(await service.fetch_balance(caller, body.config.to_config()))


@router.post("/api/exchange/{method}")
async def watch(
    method: str, body: WatchBody, caller: CallerDep, service: MarketData
) -> dict[str, Any]:
    """`watchTicker`, `watchOrderBook`, `watchTrades`, `watchOHLCV`, `watchBalance`: the next update
    of the exchange's ccxt.pro stream (config.ccxtType must be "pro")."""
    if method not in WATCH_METHODS:
        raise ServiceError(404, "NOT_FOUND", f"Unknown market-data method {method}")
    extra = (body.timeframe,) if method == "watchOHLCV" else ()
    return _data(await service.watch(caller, body.config.to_config(), method, body.symbol, extra))


@router.get("/api/market")
async def market(
    caller: CallerDep,
    service: MarketData,
    exchange: Annotated[str, Query(pattern=_EXCHANGE_ID)],
    action: Annotated[Literal["symbols"] | None, Query()] = None,
    symbol: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> dict[str, Any]:
    """`?exchange=X&action=symbols` -> `{"symbols": [...]}`; `?exchange=X&symbol=Y` -> a ticker
    summary with `change24h` in percent and an ISO timestamp."""
    config = ExchangeConfig(exchange)
    if action == "symbols":
        return {"symbols": await service.symbols(caller, config)}
    if symbol is None:
        raise ServiceError(
            400, "VALIDATION_ERROR", "symbol or action=symbols is required", field="symbol"
        )
    ticker = await service.fetch_ticker(caller, config, symbol)
    timestamp = ticker.get("timestamp")
    moment = datetime.fromtimestamp(timestamp / 1000, tz=UTC) if timestamp else datetime.now(UTC)
    return {
        "symbol": ticker.get("symbol", symbol),
        "last": ticker.get("last"),
        "bid": ticker.get("bid"),
        "ask": ticker.get("ask"),
        "volume": ticker.get("baseVolume"),
        "change24h": ticker.get("percentage"),
        "timestamp": moment.isoformat().replace("+00:00", "Z"),
    }
