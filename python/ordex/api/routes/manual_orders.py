"""`/api/orders`: the trading app's manual orders on ordex's own markets (trading-app contract,
"Orders").

These are rows of the exchange's one `orders` table, placed through the same path as the root
`POST /orders` (validation, hold and risk check, order row and outbox row in one transaction,
then outbox -> matcher -> persister); the list, detail and cancel routes see every order of the
caller's trading account, whichever route placed it. Market ids take every alias (`ETH_USDC`,
`ETH-USDC`, `ETH/USDC`) and are answered as the contract spells them (`ETH_USDC`). Quantities and
prices are JSON numbers, written exactly; on input numbers and decimal strings are both read
exactly (never as floats).

Waiting for the engine: `POST` and `DELETE` wait up to `ORDEX_ORDER_WAIT_MS` (default 2000 ms)
for the engine's answer to their command, woken by the engine's events stream (no polling), and
answer the order as that answer leaves it:

- `POST` 201 with `OPEN` (resting), `FILLED` / `PARTIALLY_FILLED` (with `filledQuantity` and
  `averagePrice`), `CANCELLED` (an IOC or market remainder; `reason`), `UNTRIGGERED` (a stop
  waiting for its price), or `REJECTED` (`reason`, e.g. POST_ONLY_WOULD_TAKE); the funds of a
  rejected or cancelled order are released as on the exchange.
- `DELETE` 200 with `CANCELLED` once the engine has cancelled. An order that was already
  `CANCELLED` is answered the same way (cancelling is idempotent); one the engine had filled or
  expired before the cancel reached it is answered as stored then (the engine refuses such a
  cancel with `ORDER_NOT_FOUND`).
- No answer within the wait: not an error. `POST` answers 202 with the order as stored
  (`PENDING`), `DELETE` 202 with the order still open; the command is queued and takes effect
  all the same, and `GET /api/orders/{orderId}` shows the outcome.

The answer is returned once the persister has stored it too (PostgreSQL tells the waiting
process when it commits), so a `GET` right after shows the same order. Only a persister slower
than the wait leaves the answer computed from the engine's events, exactly as it will be stored.

Errors (`{"error", "code", "field"?}`): 400 INVALID_JSON, VALIDATION_ERROR naming the field
(`market`, `side`, `orderType`, `quantity`, `price`, `stopPrice`, `timeInForce`, `expiresAt`,
...; an unknown field or market, a price off the tick grid, a quantity off the lot grid or below
the minimum, an `expiresAt` in the past), INVALID_ORDER (a market order without a reference
price), INSUFFICIENT_FUNDS (the balance or margin cannot hold the order), ORDER_NOT_OPEN
(cancelling a FILLED, REJECTED or EXPIRED order); 404 ORDER_NOT_FOUND (unknown, or another
user's); 409 DUPLICATE_CLIENT_ORDER_ID. A refused order writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any, NoReturn

import asyncpg
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import Response

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.middleware import REQUEST_CONNECTION
from ordex.api.routes.exchange import market_registry
from ordex.api.schemas_manual_orders import (
    MANUAL_ORDER_ERRORS,
    ManualOrderBody,
    ManualOrderEnvelope,
    ManualOrderList,
    OrderStatus,
    Side,
    json_response,
    order_json,
)
from ordex.services import manual_orders
from ordex.services.errors import ServiceError
from ordex.services.manual_orders import ManualOrders, ManualOrderSettings, invalid
from ordex.services.orders import parse_order_id
from ordex.services.trading_accounts import ensure_trading_account, find_trading_account


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    service: ManualOrders | None = getattr(app.state, "manual_orders", None)
    if service is not None:
        await service.close()


router = APIRouter(
    prefix="/api/orders", tags=["orders"], responses=MANUAL_ORDER_ERRORS, lifespan=_lifespan
)

NOT_ANSWERED: dict[int | str, dict[str, Any]] = {
    202: {"model": ManualOrderEnvelope, "description": "the engine has not answered"}
}


def _service(request: Request) -> ManualOrders:
    state = request.app.state
    service: ManualOrders | None = getattr(state, "manual_orders", None)
    if service is None:
        wait_ms = ManualOrderSettings().ordex_order_wait_ms
        service = state.manual_orders = ManualOrders(
            state.pool, state.redis, state.settings.database_url, wait_ms=wait_ms
        )
    return service


async def _release_connection(request: Request) -> None:
    """Gives the request's connection back before waiting for the engine: a pool must not run dry
    because orders wait. The service takes connections of its own for the short steps."""
    held: tuple[asyncpg.Pool, Any] | None = request.scope.pop(REQUEST_CONNECTION, None)
    if held is not None:
        await held[0].release(held[1])


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


async def _json_body(request: Request) -> Any:
    """The body as JSON with numbers kept exact: fractions as `Decimal`, never floats."""
    raw = await request.body()
    if not raw.strip():
        raise invalid("A JSON body is required")
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ServiceError(400, "INVALID_JSON", "invalid JSON body") from None


BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ManualOrderBody.model_json_schema()}},
    }
}


@router.get("", response_model=ManualOrderList)
async def list_orders(
    request: Request,
    user: CurrentUser,
    conn: DbConn,
    market: str | None = None,
    status: OrderStatus | None = None,
    side: Side | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The caller's orders, newest first. Optional filters (combined with AND): `market` (any
    alias), `status`, `side`; paging with `limit` (1-500, default 100) and `offset`."""
    registry = await market_registry(request, conn)
    market_id = None
    if market is not None:
        found = registry.find(market)
        if found is None:
            raise invalid(f"Market {market!r} not found", "market")
        market_id = found.id
    account_id = await find_trading_account(conn, user.id)
    rows = await manual_orders.list_orders(
        conn, account_id, market_id=market_id, status=status, side=side, limit=limit,
        offset=offset,
    )  # fmt: skip
    return json_response({"orders": [order_json(r, user.id, registry) for r in rows]})


@router.post(
    "",
    status_code=201,
    response_model=ManualOrderEnvelope,
    responses=NOT_ANSWERED,
    openapi_extra=BODY,
)
async def place_order(request: Request, user: CurrentUser, conn: DbConn) -> Response:
    """Place a manual order and answer it as the engine left it (see the module notes): 201 once
    the engine has answered, 202 with `PENDING` when it has not within ORDEX_ORDER_WAIT_MS."""
    order = manual_orders.parse_manual_order(await _json_body(request))
    registry = await market_registry(request, conn)
    account_id = await ensure_trading_account(conn, user.id)
    await _release_connection(request)
    view = await _service(request).place(registry, account_id, order)
    body = {"order": order_json(view.row, user.id, registry)}
    return json_response(body, 201 if view.answered else 202)


@router.get("/{orderId}", response_model=ManualOrderEnvelope)
async def get_order(request: Request, orderId: str, user: CurrentUser, conn: DbConn) -> Response:
    order_id = parse_order_id(orderId)
    registry = await market_registry(request, conn)
    account_id = await find_trading_account(conn, user.id)
    row = await manual_orders.get_order(conn, account_id, order_id)
    return json_response({"order": order_json(row, user.id, registry)})


@router.delete("/{orderId}", response_model=ManualOrderEnvelope, responses=NOT_ANSWERED)
async def cancel_order(request: Request, orderId: str, user: CurrentUser, conn: DbConn) -> Response:
    """Cancel an order: 200 with `CANCELLED` once the engine has cancelled it (or had already),
    202 with the order still open when the engine has not answered within ORDEX_ORDER_WAIT_MS."""
    order_id = parse_order_id(orderId)
    registry = await market_registry(request, conn)
    account_id = await find_trading_account(conn, user.id)
    if account_id is None:
        raise manual_orders.order_not_found()
    await _release_connection(request)
    view = await _service(request).cancel(account_id, order_id)
    body = {"order": order_json(view.row, user.id, registry)}
    return json_response(body, 200 if view.answered else 202)
