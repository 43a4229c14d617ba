"""`/api/v1/orders`: orders of trading sessions (cryptofunk), on every venue.

- `GET /api/v1/orders` (`session_id`, `symbol`, `status`: combined with AND; `limit`, `offset`)
  -> `{orders, count}`, newest first;
- `GET /api/v1/orders/{id}` -> `{order}`;
- `POST /api/v1/orders` -> 201 `{order, message: "Order created successfully"}`: `symbol`,
  `side`, `type` (every type of the Order model), `quantity`, `price`, `stop_price`,
  `time_in_force`, `session_id`, `reason` (see `services.session_orders` for which venue);
- `DELETE /api/v1/orders/{id}` -> `{order, message: "Order cancelled successfully"}`, 400
  ORDER_NOT_CANCELLABLE once the order is final.

An id that is not a UUID is a 400 ("invalid order_id format"); an unknown order or another user's a
404 ORDER_NOT_FOUND.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ordex.api.deps import CurrentPrincipal, DbConn
from ordex.api.routes.trade import Context, context_for
from ordex.api.schemas_trade import (
    TRADE_ERRORS,
    OrderBody,
    OrderEnvelope,
    OrderList,
    OrderStatus,
    OrderWithMessage,
    UuidText,
    body_schema,
    exact_json,
)
from ordex.services import session_orders
from ordex.services.session_order_requests import parse_order_input, uuid_field

router = APIRouter(prefix="/api/v1/orders", tags=["session orders"], responses=TRADE_ERRORS)


@router.get("", response_model=OrderList)
async def list_orders(
    ctx: Context,
    session_id: UuidText | None = None,
    symbol: Annotated[str | None, Query(max_length=64)] = None,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The caller's session orders, newest first; the filters combine with AND."""
    session = uuid_field({"session_id": session_id}, "session_id", required=False)
    rows = await session_orders.list_orders(
        ctx, session_id=session, symbol=symbol, status=status, limit=limit, offset=offset
    )
    positions = await session_orders.position_ids(ctx, rows)
    orders = [session_orders.order_json(row, positions.get(row.id)) for row in rows]
    return {"orders": orders, "count": len(orders)}


@router.get("/{order_id}", response_model=OrderEnvelope)
async def get_order(order_id: UuidText, ctx: Context) -> dict[str, Any]:
    row = await session_orders.get_order(ctx, session_orders.parse_order_id(order_id))
    positions = await session_orders.position_ids(ctx, [row])
    return {"order": session_orders.order_json(row, positions.get(row.id))}


@router.post(
    "",
    status_code=201,
    response_model=OrderWithMessage,
    openapi_extra=body_schema(OrderBody),
)
async def create_order(request: Request, principal: CurrentPrincipal, conn: DbConn) -> JSONResponse:
    """Place an order: at once on the paper venue (against the exchange's current book), sent to
    the exchange on the live one, queued to ordex's engine on the internal one."""
    order = parse_order_input(await exact_json(request))
    ctx = await context_for(request, principal.user.id, conn)
    row = await session_orders.place_order(ctx, order)
    return JSONResponse(
        {"order": session_orders.order_json(row), "message": "Order created successfully"}, 201
    )


@router.delete("/{order_id}", response_model=OrderWithMessage)
async def cancel_order(order_id: UuidText, ctx: Context) -> dict[str, Any]:
    row = await session_orders.cancel_order(ctx, session_orders.parse_order_id(order_id))
    message = (
        "Order cancelled successfully" if row.status == "CANCELED" else "Order cancel requested"
    )
    return {"order": session_orders.order_json(row), "message": message}
