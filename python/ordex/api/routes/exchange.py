"""The exchange routes of the root family: markets, deposits, orders, balances, positions, fills,
and the admin drain.

Errors use the root envelope `{"error": {"code", "message"}}` with these statuses:

- 400 INVALID_ORDER: an order body that is not JSON, misses a field, has a bad value, a price off
  the tick grid, a quantity off the lot grid or below the minimum, a leverage above the market's,
  or a market order without a reference price; 400 VALIDATION_ERROR for other bodies and queries.
- 401 UNAUTHENTICATED: no or an invalid credential. 403 FORBIDDEN: `/admin/drain` without ADMIN.
- 404 MARKET_NOT_FOUND: an unknown market id or alias. 404 ORDER_NOT_FOUND: an unknown order or
  another account's.
- 409 DUPLICATE_CLIENT_ORDER_ID: a live order of the account already uses the clientOrderId.
  409 ORDER_NOT_OPEN: cancelling an order that is already final. 409 MARGIN_MODE_LOCKED: a margin
  mode change while the account has a position or open orders in the market. 409 NOT_ISOLATED:
  moving margin of a position that is not an open isolated one.
- 422 INSUFFICIENT_MARGIN: the account cannot afford the order's hold, the margin added, or the
  margin removed (the position would fall below its initial margin).

`POST /orders` and `DELETE /orders/{orderId}` answer 202: the order is queued for its market's
engine; its status follows from the engine's events.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ordex.api.deps import AdminPrincipal, CurrentPrincipal, CurrentUser, DbConn, RedisDep
from ordex.api.schemas_exchange import (
    EXCHANGE_ERRORS,
    BalanceOut,
    CancelAccepted,
    DeleveragingOut,
    DepositBody,
    DrainOut,
    FillOut,
    FundingPaymentOut,
    FundingRateOut,
    LiquidationOut,
    MarginModeBody,
    MarginModeOut,
    MarketOut,
    OrderAccepted,
    OrderBody,
    OrderOut,
    PositionMarginBody,
    PositionOut,
    balance_json,
    deleveraging_json,
    fill_json,
    funding_payment_json,
    funding_rate_json,
    liquidation_json,
    market_json,
    order_json,
    position_json,
)
from ordex.db.positions import PositionRow
from ordex.db.types import Connection
from ordex.services import deposits as deposits_service
from ordex.services import funding as funding_service
from ordex.services import isolated_margin, liquidations, mark_prices, portfolio
from ordex.services import orders as orders_service
from ordex.services.exchange_errors import (
    ExchangeError,
    invalid_order,
    invalid_request,
    order_not_found,
)
from ordex.services.isolated_margin import ISOLATED
from ordex.services.mark_prices import PositionMark
from ordex.services.markets import Market, MarketRegistry
from ordex.services.order_batcher import OrderBatcher
from ordex.services.order_requests import parse_order_request
from ordex.services.trading_accounts import ensure_trading_account, find_trading_account

router = APIRouter(tags=["exchange"], responses=EXCHANGE_ERRORS)

OrderStatus = Literal[
    "PENDING", "OPEN", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED", "EXPIRED",
    "UNTRIGGERED",
]  # fmt: skip
Limit = Annotated[int, Query(ge=1, le=1000)]
REGISTRY_MAX_AGE_SECONDS = 5.0
ACCOUNT_CACHE_MAX = 100_000


async def market_registry(request: Request, conn: Connection) -> MarketRegistry:
    """The markets, reloaded every few seconds: a market halted in the database stops taking
    orders soon after without a restart, and no request pays for more than a dictionary lookup.
    `conn` is the request's connection: a second one could wait forever on a full pool."""
    state = request.app.state
    registry: MarketRegistry | None = getattr(state, "market_registry", None)
    loaded_at: float = getattr(state, "market_registry_loaded_at", 0.0)
    if registry is None or time.monotonic() - loaded_at > REGISTRY_MAX_AGE_SECONDS:
        registry = await MarketRegistry.load(conn)
        state.market_registry, state.market_registry_loaded_at = registry, time.monotonic()
    return registry


async def get_market_registry(request: Request, conn: DbConn) -> MarketRegistry:
    return await market_registry(request, conn)


Registry = Annotated[MarketRegistry, Depends(get_market_registry)]


def _known_accounts(request: Request) -> dict[uuid.UUID, int]:
    """user id -> trading account id of this process: the pair never changes once made, so the
    database is asked once per user (the map starts over past ACCOUNT_CACHE_MAX users)."""
    state = request.app.state
    known: dict[uuid.UUID, int] | None = getattr(state, "trading_account_ids", None)
    if known is None or len(known) >= ACCOUNT_CACHE_MAX:
        known = state.trading_account_ids = {}
    return known


async def _ensure_account(request: Request, conn: Connection, user_id: uuid.UUID) -> int:
    known = _known_accounts(request)
    account_id = known.get(user_id)
    if account_id is None:
        account_id = known[user_id] = await ensure_trading_account(conn, user_id)
    return account_id


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


async def _json_body(request: Request, error: Callable[..., ExchangeError]) -> Any:
    """The body as JSON with numbers kept exact (`Decimal`), or the family's error."""
    raw = await request.body()
    if not raw.strip():
        raise error("A JSON body is required")
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise error("Invalid JSON body") from None


def _body_schema(
    model: type[OrderBody] | type[DepositBody] | type[MarginModeBody] | type[PositionMarginBody],
) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


async def _markets_json(redis: RedisDep, markets: list[Market]) -> list[dict[str, Any]]:
    """The markets with their mark and funding outlook (perpetuals; None where unknown)."""
    marks = await mark_prices.read_marks(redis, [m.id for m in markets if m.is_perp])
    now_ms = int(time.time() * 1000)
    answers = []
    for market in markets:
        outlook = await funding_service.outlook(redis, market, now_ms)
        next_funding = outlook.next_funding_ms
        answers.append(
            market_json(
                market,
                marks.get(market.id),
                outlook.predicted_rate,
                None if next_funding is None else funding_service.ms_to_datetime(next_funding),
            )
        )
    return answers


@router.get("/markets", response_model=list[MarketOut])
async def list_markets(registry: Registry, redis: RedisDep) -> list[dict[str, Any]]:
    return await _markets_json(redis, list(registry.markets))


# `:path` so that aliases with a slash (`ETH/USDC`) resolve too.
@router.get("/markets/{marketId:path}", response_model=MarketOut)
async def get_market(marketId: str, registry: Registry, redis: RedisDep) -> dict[str, Any]:
    return (await _markets_json(redis, [registry.resolve(marketId)]))[0]


@router.post("/deposits", response_model=BalanceOut, openapi_extra=_body_schema(DepositBody))
async def deposit(
    request: Request, user: CurrentUser, conn: DbConn, registry: Registry
) -> dict[str, Any]:
    body = await _json_body(request, invalid_request)
    if not isinstance(body, dict):
        raise invalid_request("The body must be a JSON object")
    account_id = await _ensure_account(request, conn, user.id)
    balance = await deposits_service.deposit(
        conn, registry, account_id, body.get("asset"), body.get("amount")
    )
    return balance_json(balance)


@router.post(
    "/orders",
    status_code=202,
    response_model=OrderAccepted,
    openapi_extra=_body_schema(OrderBody),
)
async def submit_order(request: Request, principal: CurrentPrincipal, conn: DbConn) -> JSONResponse:
    # The hot route: the registry is read here rather than declared as a dependency,
    # which FastAPI would solve on every request.
    order_request = parse_order_request(await _json_body(request, invalid_order))
    registry = await market_registry(request, conn)
    account_id = await _ensure_account(request, conn, principal.user.id)
    # Concurrent orders of this process share one transaction (group commit); see OrderBatcher.
    batcher: OrderBatcher = request.app.state.order_batcher
    submitted = await batcher.submit(registry, account_id, order_request)
    # A response as is: FastAPI would validate the dict against OrderAccepted (documented above)
    # before rendering the same JSON.
    return JSONResponse({"orderId": submitted.order_id, "status": submitted.status}, 202)


@router.delete("/orders/{orderId}", status_code=202, response_model=CancelAccepted)
async def cancel_order(
    request: Request, orderId: str, user: CurrentUser, conn: DbConn
) -> dict[str, Any]:
    order_id = orders_service.parse_order_id(orderId)
    account_id = await _ensure_account(request, conn, user.id)
    requested = await orders_service.cancel_order(conn, account_id, order_id)
    return {
        "orderId": str(requested.order.id),
        "status": requested.order.status,
        "cancelRequested": True,
    }


@router.get("/orders", response_model=list[OrderOut])
async def list_orders(
    user: CurrentUser,
    conn: DbConn,
    registry: Registry,
    marketId: str | None = None,
    status: OrderStatus | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    market = None if marketId is None else registry.resolve(marketId)
    account_id = await find_trading_account(conn, user.id)
    if account_id is None:
        return []
    orders = await orders_service.list_orders(
        conn, account_id, market=market, status=status, limit=limit
    )
    return [order_json(o) for o in orders]


@router.get("/orders/{orderId}", response_model=OrderOut)
async def get_order(orderId: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    order_id = orders_service.parse_order_id(orderId)
    account_id = await find_trading_account(conn, user.id)
    if account_id is None:
        raise order_not_found()
    return order_json(await orders_service.get_order(conn, account_id, order_id))


@router.get("/balances", response_model=list[BalanceOut])
async def list_balances(user: CurrentUser, conn: DbConn) -> list[dict[str, Any]]:
    account_id = await find_trading_account(conn, user.id)
    return [balance_json(b) for b in await portfolio.list_balances(conn, account_id)]


async def _positions_json(
    conn: Connection,
    registry: MarketRegistry,
    redis: RedisDep,
    positions: list[PositionRow],
    all_positions: list[PositionRow],
) -> list[dict[str, Any]]:
    """`positions` at their marks: the cross ones against the account's cross collateral (its
    totals less the isolated margins of `all_positions`, the account's), each isolated one
    against its own margin."""
    account_id = positions[0].account_id if positions else None
    marks = await mark_prices.read_marks(redis, [p.market_id for p in positions])
    prices = {market_id: mark.price for market_id, mark in marks.items()}
    balances = await portfolio.list_balances(conn, account_id)
    markets = [registry.find(p.market_id) for p in positions]
    cross_collateral = {b.asset: b.total for b in balances}
    for p in all_positions:
        market = registry.find(p.market_id)
        if p.margin_mode == ISOLATED and market is not None:
            quote = market.row.quote_asset
            cross_collateral[quote] = cross_collateral.get(quote, Decimal(0)) - p.isolated_margin
    cross = [i for i, p in enumerate(positions) if p.margin_mode != ISOLATED]
    valued: list[PositionMark | None] = [None] * len(positions)
    cross_valued = mark_prices.value_positions(
        [(markets[i], positions[i].size, positions[i].cost) for i in cross],
        prices,
        cross_collateral,
    )
    for i, value in zip(cross, cross_valued, strict=True):
        valued[i] = value
    for i, p in enumerate(positions):
        market = markets[i]
        if p.margin_mode == ISOLATED:
            quote = market.row.quote_asset if market is not None else ""
            [valued[i]] = mark_prices.value_positions(
                [(market, p.size, p.cost)], prices, {quote: p.isolated_margin}
            )
    return [position_json(p, m, v) for p, m, v in zip(positions, markets, valued, strict=True)]


@router.get("/positions", response_model=list[PositionOut])
async def list_positions(
    user: CurrentUser, conn: DbConn, registry: Registry, redis: RedisDep
) -> list[dict[str, Any]]:
    account_id = await find_trading_account(conn, user.id)
    positions = await portfolio.list_positions(conn, account_id)
    return await _positions_json(conn, registry, redis, positions, positions)


@router.post(
    "/margin-mode", response_model=MarginModeOut, openapi_extra=_body_schema(MarginModeBody)
)
async def set_margin_mode(
    request: Request, user: CurrentUser, conn: DbConn, registry: Registry
) -> dict[str, Any]:
    """The account's margin mode in a perpetual market: CROSS (the default) or ISOLATED; refused
    (409 MARGIN_MODE_LOCKED) while the account has a position or open orders in it."""
    body = await _json_body(request, invalid_request)
    if not isinstance(body, dict):
        raise invalid_request("The body must be a JSON object")
    account_id = await _ensure_account(request, conn, user.id)
    market, mode = await isolated_margin.set_margin_mode(
        conn, registry, account_id, body.get("marketId"), body.get("marginMode")
    )
    return {"marketId": market.id, "marginMode": mode}


@router.post(
    "/positions/margin",
    response_model=PositionOut,
    openapi_extra=_body_schema(PositionMarginBody),
)
async def move_position_margin(
    request: Request, user: CurrentUser, conn: DbConn, registry: Registry, redis: RedisDep
) -> dict[str, Any]:
    """Adds margin to an isolated position (a positive amount, out of the free cross
    collateral) or removes some (negative, while the position keeps its initial margin);
    answers the position."""
    body = await _json_body(request, invalid_request)
    if not isinstance(body, dict):
        raise invalid_request("The body must be a JSON object")
    account_id = await _ensure_account(request, conn, user.id)
    position = await isolated_margin.move_margin(
        conn, redis, registry, account_id, body.get("marketId"), body.get("amount")
    )
    every = await portfolio.list_positions(conn, account_id)
    return (await _positions_json(conn, registry, redis, [position], every))[0]


@router.get("/funding", response_model=list[FundingPaymentOut])
async def list_funding(
    user: CurrentUser,
    conn: DbConn,
    registry: Registry,
    marketId: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """The caller's funding payments, newest interval first (negative amounts were paid)."""
    market = None if marketId is None else registry.resolve(marketId)
    account_id = await find_trading_account(conn, user.id)
    payments = await funding_service.list_payments(conn, account_id, market=market, limit=limit)
    return [funding_payment_json(p) for p in payments]


@router.get("/funding-rates", response_model=list[FundingRateOut])
async def list_funding_rates(
    conn: DbConn, registry: Registry, marketId: str, limit: Limit = 100
) -> list[dict[str, Any]]:
    """The market's settled funding rates, newest interval first."""
    market = registry.resolve(marketId)
    rates = await funding_service.list_rates(conn, market, limit=limit)
    return [funding_rate_json(r) for r in rates]


@router.get("/liquidations", response_model=list[LiquidationOut])
async def list_liquidations(
    user: CurrentUser,
    conn: DbConn,
    registry: Registry,
    marketId: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """The caller's liquidations, newest first (docs/exchange.md, "Liquidation")."""
    market = None if marketId is None else registry.resolve(marketId)
    account_id = await find_trading_account(conn, user.id)
    rows = await liquidations.list_liquidations(conn, account_id, market=market, limit=limit)
    return [liquidation_json(r) for r in rows]


@router.get("/deleveraging", response_model=list[DeleveragingOut])
async def list_deleveraging(
    user: CurrentUser,
    conn: DbConn,
    registry: Registry,
    marketId: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    """Auto-deleveraging that closed the caller's positions, as the bankrupt side or as the
    counterparty, newest first."""
    market = None if marketId is None else registry.resolve(marketId)
    account_id = await find_trading_account(conn, user.id)
    rows = await liquidations.list_deleveraging(conn, account_id, market=market, limit=limit)
    return [deleveraging_json(r) for r in rows]


@router.get("/fills", response_model=list[FillOut])
async def list_fills(
    user: CurrentUser,
    conn: DbConn,
    registry: Registry,
    marketId: str | None = None,
    orderId: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    market = None if marketId is None else registry.resolve(marketId)
    order_id = None if orderId is None else orders_service.parse_order_id(orderId)
    account_id = await find_trading_account(conn, user.id)
    fills = await portfolio.list_fills(
        conn, account_id, market=market, order_id=order_id, limit=limit
    )
    return [fill_json(f) for f in fills]


@router.post("/admin/drain", response_model=DrainOut)
async def drain(request: Request, _: AdminPrincipal) -> dict[str, Any]:
    """Embedded mode: run the workers until every stream is caught up. Production: a no-op
    (the workers run as their own processes)."""
    runtime = getattr(request.app.state, "exchange_runtime", None)
    if runtime is None:
        return {"drained": False, "mode": "production"}
    result = await runtime.drain()
    return {"drained": True, "mode": "embedded", **(result if isinstance(result, dict) else {})}
