"""JSON shapes of `/api/orders` (trading-app manual orders): the contract's names and spellings,
numbers as JSON numbers written exactly from the stored decimals (never through a float)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from fastapi.responses import Response
from pydantic import BaseModel, Field, WithJsonSchema

from ordex.api.schemas import API_ERRORS, ApiErrorOut
from ordex.db.manual_orders import ManualOrderRow
from ordex.services.markets import MarketRegistry, plain
from ordex.timestamps import iso_millis

Number = Annotated[Decimal, WithJsonSchema({"type": "number"})]
NumberIn = Annotated[
    Decimal | str, WithJsonSchema({"oneOf": [{"type": "number"}, {"type": "string"}]})
]
OrderType = Literal[
    "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
]  # fmt: skip
OrderTypeIn = Literal[
    "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
    "STOP", "STOP_MARKET", "STOP_LIMIT", "TAKE_PROFIT_MARKET",
]  # fmt: skip
OrderStatus = Literal[
    "PENDING", "OPEN", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED", "EXPIRED",
    "UNTRIGGERED",
]  # fmt: skip
Side = Literal["BUY", "SELL"]
TimeInForce = Literal["GTC", "IOC", "FOK", "GTD"]

MANUAL_ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    400: {
        "model": ApiErrorOut,
        "description": "VALIDATION_ERROR naming the `field`, INVALID_JSON, INVALID_ORDER, "
        "INSUFFICIENT_FUNDS, or ORDER_NOT_OPEN (cancelling a FILLED, REJECTED or EXPIRED order)",
    },
    404: {"model": ApiErrorOut, "description": "ORDER_NOT_FOUND: unknown, or another user's"},
    409: {"model": ApiErrorOut, "description": "DUPLICATE_CLIENT_ORDER_ID"},
}


class ManualOrderBody(BaseModel):
    """`POST /api/orders` (documentation: the route reads the body itself, numbers exactly)."""

    market: str = Field(description="market id or alias: ETH_USDC, ETH-USDC, ETH/USDC, BTC-PERP")
    side: Side
    orderType: OrderTypeIn = Field(
        description="STOP and STOP_MARKET mean STOP_LOSS, STOP_LIMIT STOP_LOSS_LIMIT, "
        "TAKE_PROFIT_MARKET TAKE_PROFIT; answers use the engine's names"
    )
    quantity: NumberIn = Field(description="on the market's lot grid")
    price: NumberIn | None = Field(
        default=None, description="LIMIT and *_LIMIT; on a MARKET order a protection price"
    )
    stopPrice: NumberIn | None = Field(
        default=None, description="trigger price: only and always for stop/take-profit types"
    )
    timeInForce: TimeInForce | None = Field(
        default=None, description="GTC for limit-priced types, IOC otherwise; GTD with expiresAt"
    )
    expiresAt: str | int | None = Field(
        default=None,
        description="GTD expiry: ISO 8601 (UTC without an offset) or epoch milliseconds; "
        "makes the order GTD when timeInForce is left out",
    )
    clientOrderId: str | None = Field(default=None, description="unique among live orders")
    postOnly: bool = False
    reduceOnly: bool = Field(default=False, description="perpetual markets only")
    leverage: int | None = Field(default=None, description="perpetual markets only")


class ManualOrderOut(BaseModel):
    orderId: str
    userId: str
    market: str = Field(description="the market as the contract spells it (ETH_USDC)")
    side: Side
    orderType: OrderType
    quantity: Number
    price: Number | None
    stopPrice: Number | None
    timeInForce: TimeInForce
    status: OrderStatus
    expiresAt: str | None
    createdAt: str
    filledQuantity: Number
    averagePrice: Number | None = Field(description="volume-weighted price of the fills")
    reason: str | None = Field(description="why the engine rejected or cancelled the order")
    updatedAt: str


class ManualOrderEnvelope(BaseModel):
    order: ManualOrderOut


class ManualOrderList(BaseModel):
    orders: list[ManualOrderOut]


def contract_market_id(registry: MarketRegistry, market_id: str) -> str:
    """The market's spelling with an underscore (`ETH_USDC`, `BTC_PERP`) when it has one."""
    market = registry.find(market_id)
    if market is not None:
        for alias in market.aliases:
            if "_" in alias and "/" not in alias and ":" not in alias:
                return alias
    return market_id


def _number(value: Decimal | None) -> orjson.Fragment | None:
    return None if value is None else orjson.Fragment(plain(value).encode())


def order_json(row: ManualOrderRow, user_id: uuid.UUID, registry: MarketRegistry) -> dict[str, Any]:
    return {
        "orderId": str(row.id),
        "userId": str(user_id),
        "market": contract_market_id(registry, row.market_id),
        "side": row.side,
        "orderType": row.type,
        "quantity": _number(row.quantity),
        "price": _number(row.price),
        "stopPrice": _number(row.trigger_price),
        "timeInForce": row.time_in_force,
        "status": row.status,
        "expiresAt": None if row.expires_at is None else iso_millis(row.expires_at),
        "createdAt": iso_millis(row.created_at),
        "filledQuantity": _number(row.filled_quantity),
        "averagePrice": _number(row.average_price),
        "reason": row.reject_reason or row.cancel_reason,
        "updatedAt": iso_millis(row.updated_at),
    }


def json_response(content: dict[str, Any], status_code: int = 200) -> Response:
    """JSON with the numbers as `order_json` wrote them (exact decimal text)."""
    return Response(orjson.dumps(content), status_code, media_type="application/json")
