"""JSON shapes of the exchange routes (the contract's camelCase names; decimals as strings)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from ordex.api.schemas import ROOT_ERRORS, RootErrorOut
from ordex.db.balances import BalanceRow
from ordex.db.fills import FillRow
from ordex.db.orders import OrderRow
from ordex.db.positions import PositionRow
from ordex.services.markets import Market, plain
from ordex.timestamps import iso_millis

EXCHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ROOT_ERRORS,
    400: {"model": RootErrorOut, "description": "INVALID_ORDER or VALIDATION_ERROR"},
    401: {"model": RootErrorOut, "description": "UNAUTHENTICATED"},
    403: {"model": RootErrorOut, "description": "FORBIDDEN"},
    404: {"model": RootErrorOut, "description": "MARKET_NOT_FOUND or ORDER_NOT_FOUND"},
    409: {"model": RootErrorOut, "description": "DUPLICATE_CLIENT_ORDER_ID or ORDER_NOT_OPEN"},
    422: {"model": RootErrorOut, "description": "INSUFFICIENT_MARGIN"},
}


def _plain_or_none(value: Decimal | None) -> str | None:
    return None if value is None else plain(value)


class MarketOut(BaseModel):
    id: str
    symbol: str
    kind: str
    baseAsset: str
    quoteAsset: str
    tickSize: str
    lotSize: str
    minQuantity: str
    quoteDecimals: int
    priceBand: str
    maxLeverage: int
    initialMarginRate: str
    maintenanceMarginRate: str
    makerFeeRate: str
    takerFeeRate: str
    fundingIntervalHours: int
    fundingRateCap: str
    status: str
    aliases: list[str]


def market_json(market: Market) -> dict[str, Any]:
    row = market.row
    return {
        "id": row.id,
        "symbol": row.id,
        "kind": row.kind,
        "baseAsset": row.base_asset,
        "quoteAsset": row.quote_asset,
        "tickSize": plain(row.tick_size),
        "lotSize": plain(row.lot_size),
        "minQuantity": plain(row.min_quantity),
        "quoteDecimals": row.quote_decimals,
        "priceBand": plain(row.price_band),
        "maxLeverage": row.max_leverage,
        "initialMarginRate": plain(row.initial_margin_rate),
        "maintenanceMarginRate": plain(row.maintenance_margin_rate),
        "makerFeeRate": plain(row.maker_fee_rate),
        "takerFeeRate": plain(row.taker_fee_rate),
        "fundingIntervalHours": row.funding_interval_hours,
        "fundingRateCap": plain(row.funding_rate_cap),
        "status": row.status,
        "aliases": list(market.aliases),
    }


class DepositBody(BaseModel):
    """Documentation of `POST /deposits`; the route validates the raw JSON itself."""

    asset: str = Field(examples=["USDC"])
    amount: str = Field(examples=["10000"], description="positive decimal string")


class BalanceOut(BaseModel):
    asset: str
    total: str
    held: str
    available: str


def balance_json(balance: BalanceRow) -> dict[str, Any]:
    return {
        "asset": balance.asset,
        "total": plain(balance.total),
        "held": plain(balance.held),
        "available": plain(balance.available),
    }


class OrderBody(BaseModel):
    """Documentation of `POST /orders`; the route validates the raw JSON itself so that every
    problem, malformed JSON included, is an INVALID_ORDER."""

    marketId: str = Field(examples=["BTC-PERP"])
    side: str = Field(examples=["BUY"], description="BUY or SELL")
    type: str = Field(
        "LIMIT",
        description="LIMIT, MARKET, STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT",
    )
    quantity: str = Field(examples=["1.25"])
    price: str | None = Field(None, examples=["65000"], description="required for limit types")
    triggerPrice: str | None = Field(None, description="required for conditional types")
    triggerBy: str = Field("LAST_PRICE", description="LAST_PRICE or MARK_PRICE")
    timeInForce: str | None = Field(None, description="GTC, IOC, FOK or GTD")
    expireAt: int | None = Field(None, description="milliseconds since the epoch, for GTD")
    reduceOnly: bool = False
    postOnly: bool = False
    clientOrderId: str | None = Field(None, max_length=36, examples=["client-123"])
    leverage: int | None = Field(None, ge=1, examples=[10], description="perpetuals; default 1")
    stp: str = Field("NONE", description="NONE, EXPIRE_TAKER, EXPIRE_MAKER or EXPIRE_BOTH")


class OrderAccepted(BaseModel):
    orderId: str
    status: str


class CancelAccepted(BaseModel):
    orderId: str
    status: str
    cancelRequested: bool


class OrderOut(BaseModel):
    orderId: str
    clientOrderId: str | None
    marketId: str
    side: str
    type: str
    timeInForce: str
    price: str | None
    triggerPrice: str | None
    quantity: str
    filledQuantity: str
    remainingQuantity: str
    averagePrice: str | None
    status: str
    rejectReason: str | None
    cancelReason: str | None
    reduceOnly: bool
    postOnly: bool
    leverage: int | None
    holdAsset: str
    holdAmount: str
    createdAt: str
    updatedAt: str


def order_json(order: OrderRow) -> dict[str, Any]:
    return {
        "orderId": str(order.id),
        "clientOrderId": order.client_order_id,
        "marketId": order.market_id,
        "side": order.side,
        "type": order.type,
        "timeInForce": order.time_in_force,
        "price": _plain_or_none(order.price),
        "triggerPrice": _plain_or_none(order.trigger_price),
        "quantity": plain(order.quantity),
        "filledQuantity": plain(order.filled_quantity),
        "remainingQuantity": plain(order.quantity - order.filled_quantity),
        "averagePrice": _plain_or_none(order.average_price),
        "status": order.status,
        "rejectReason": order.reject_reason,
        "cancelReason": order.cancel_reason,
        "reduceOnly": order.reduce_only,
        "postOnly": order.post_only,
        "leverage": order.leverage,
        "holdAsset": order.hold_asset,
        "holdAmount": plain(order.hold_amount),
        "createdAt": iso_millis(order.created_at),
        "updatedAt": iso_millis(order.updated_at),
    }


class PositionOut(BaseModel):
    marketId: str
    side: str
    size: str
    cost: str
    entryPrice: str | None
    realizedPnl: str
    updatedAt: str


def position_json(position: PositionRow, market: Market | None) -> dict[str, Any]:
    size = position.size
    entry: str | None = None
    if size != 0:
        entry_price = position.cost / abs(size)
        if market is not None:
            # A display value: the average entry to the market's tick precision plus two digits.
            places = Decimal(1).scaleb(-(len(plain(market.row.tick_size).partition(".")[2]) + 2))
            entry_price = entry_price.quantize(places)
        entry = plain(entry_price)
    return {
        "marketId": position.market_id,
        "side": "LONG" if size > 0 else "SHORT" if size < 0 else "FLAT",
        "size": plain(size),
        "cost": plain(position.cost),
        "entryPrice": entry,
        "realizedPnl": plain(position.realized_pnl),
        "updatedAt": iso_millis(position.updated_at),
    }


class FillOut(BaseModel):
    fillId: str
    orderId: str
    marketId: str
    side: str
    liquidity: str
    price: str
    quantity: str
    fee: str
    feeAsset: str
    realizedPnl: str
    createdAt: str


def fill_json(fill: FillRow) -> dict[str, Any]:
    return {
        "fillId": str(fill.id),
        "orderId": str(fill.order_id),
        "marketId": fill.market_id,
        "side": fill.side,
        "liquidity": fill.liquidity,
        "price": plain(fill.price),
        "quantity": plain(fill.quantity),
        "fee": plain(fill.fee),
        "feeAsset": fill.fee_asset,
        "realizedPnl": plain(fill.realized_pnl),
        "createdAt": iso_millis(fill.created_at),
    }


class DrainOut(BaseModel):
    model_config = {"extra": "allow"}

    drained: bool
    mode: str
