"""JSON shapes of the exchange routes (the contract's camelCase names; decimals as strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from ordex.api.schemas import ROOT_ERRORS, RootErrorOut
from ordex.db.balances import BalanceRow
from ordex.db.fills import FillRow
from ordex.db.funding import FundingPaymentRow, FundingRateRow
from ordex.db.liquidation_history import DeleveragingRow, LiquidationRow
from ordex.db.orders import OrderRow
from ordex.db.positions import PositionRow
from ordex.services.mark_prices import MarkPrice, PositionMark
from ordex.services.markets import Market, plain
from ordex.timestamps import iso_millis

EXCHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ROOT_ERRORS,
    400: {"model": RootErrorOut, "description": "INVALID_ORDER or VALIDATION_ERROR"},
    401: {"model": RootErrorOut, "description": "UNAUTHENTICATED"},
    403: {"model": RootErrorOut, "description": "FORBIDDEN"},
    404: {"model": RootErrorOut, "description": "MARKET_NOT_FOUND or ORDER_NOT_FOUND"},
    409: {
        "model": RootErrorOut,
        "description": "DUPLICATE_CLIENT_ORDER_ID, ORDER_NOT_OPEN, MARGIN_MODE_LOCKED or NOT_ISOLATED",
    },
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
    markPrice: str | None = Field(
        None, description="perpetuals: the mark price (median of impact mid, last, index)"
    )
    indexPrice: str | None = Field(None, description="the external index, when configured")
    predictedFundingRate: str | None = Field(
        None, description="the rate the current interval would settle at now (longs pay if > 0)"
    )
    nextFundingTime: str | None = Field(None, description="end of the current funding interval")


def market_json(
    market: Market,
    mark: MarkPrice | None = None,
    predicted_rate: Decimal | None = None,
    next_funding: datetime | None = None,
) -> dict[str, Any]:
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
        "markPrice": None if mark is None else plain(mark.price),
        "indexPrice": _plain_or_none(None if mark is None else mark.index),
        "predictedFundingRate": _plain_or_none(predicted_rate),
        "nextFundingTime": None if next_funding is None else iso_millis(next_funding),
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
    markPrice: str | None = Field(None, description="the market's mark price")
    unrealizedPnl: str | None = Field(None, description="at the mark price, in the quote asset")
    liquidationPrice: str | None = Field(
        None,
        description="cross margin: the mark at which the account falls to maintenance; isolated:"
        " the mark at which the position's isolated margin does",
    )
    marginMode: str = Field("CROSS", description="CROSS or ISOLATED")
    isolatedMargin: str = Field("0", description="the isolated position's own collateral")


class MarginModeBody(BaseModel):
    """Documentation of `POST /margin-mode`; the route validates the raw JSON itself."""

    marketId: str = Field(examples=["BTC-PERP"])
    marginMode: str = Field(examples=["ISOLATED"], description="CROSS or ISOLATED")


class MarginModeOut(BaseModel):
    marketId: str
    marginMode: str


class PositionMarginBody(BaseModel):
    """Documentation of `POST /positions/margin`; the route validates the raw JSON itself."""

    marketId: str = Field(examples=["BTC-PERP"])
    amount: str = Field(
        examples=["100"], description="decimal string: positive adds margin, negative removes it"
    )


def position_json(
    position: PositionRow, market: Market | None, valued: PositionMark | None = None
) -> dict[str, Any]:
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
        "markPrice": _plain_or_none(valued.mark_price if valued else None),
        "unrealizedPnl": _plain_or_none(valued.unrealized_pnl if valued else None),
        "liquidationPrice": _plain_or_none(valued.liquidation_price if valued else None),
        "marginMode": position.margin_mode,
        "isolatedMargin": plain(position.isolated_margin),
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


class FundingPaymentOut(BaseModel):
    marketId: str
    fundingTime: str = Field(description="end of the funding interval")
    rate: str = Field(description="signed: longs pay shorts when positive")
    markPrice: str
    amount: str = Field(description="received by the account; negative when it paid")
    asset: str


def funding_payment_json(payment: FundingPaymentRow) -> dict[str, Any]:
    return {
        "marketId": payment.market_id,
        "fundingTime": iso_millis(payment.interval_end),
        "rate": plain(payment.rate),
        "markPrice": plain(payment.mark_price),
        "amount": plain(payment.amount),
        "asset": payment.asset,
    }


class FundingRateOut(BaseModel):
    marketId: str
    fundingTime: str = Field(description="end of the funding interval")
    rate: str
    markPrice: str
    premium: str | None = Field(None, description="the mean premium index of the interval")


def funding_rate_json(row: FundingRateRow) -> dict[str, Any]:
    return {
        "marketId": row.market_id,
        "fundingTime": iso_millis(row.interval_end),
        "rate": plain(row.rate),
        "markPrice": plain(row.mark_price),
        "premium": _plain_or_none(row.premium),
    }


class DrainOut(BaseModel):
    model_config = {"extra": "allow"}

    drained: bool
    mode: str


class LiquidationOut(BaseModel):
    id: str
    orderId: str = Field(description="the liquidation order (IOC reduce-only, `GET /orders/:id`)")
    marketId: str
    side: str = Field(description="the side of the liquidation order: SELL closes a long")
    quantity: str
    markPrice: str = Field(description="the mark that put the position under maintenance")
    limitPrice: str
    bankruptcyPrice: str
    equity: str = Field(description="the account's (or isolated position's) equity at the mark")
    maintenanceMargin: str
    status: str = Field(description="ACTIVE, DELEVERAGING (remainder auto-deleveraged) or DONE")
    deleveraged: str = Field(description="quantity closed by auto-deleveraging")
    createdAt: str


def liquidation_json(row: LiquidationRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "orderId": str(row.order_id),
        "marketId": row.market_id,
        "side": row.side,
        "quantity": plain(row.quantity),
        "markPrice": plain(row.mark_price),
        "limitPrice": plain(row.limit_price),
        "bankruptcyPrice": plain(row.bankruptcy_price),
        "equity": plain(row.equity),
        "maintenanceMargin": plain(row.maintenance),
        "status": row.status,
        "deleveraged": plain(row.deleveraged),
        "createdAt": iso_millis(row.created_at),
    }


class DeleveragingOut(BaseModel):
    marketId: str
    seq: int = Field(description="the engine event's sequence number in the market")
    role: str = Field(
        description="DELEVERAGED: the account's position was the bankrupt one; COUNTERPARTY: "
        "the account's position was closed against it (ranked by profit and leverage)"
    )
    side: str = Field(description="the account's side: SELL reduced a long")
    quantity: str
    price: str = Field(description="the bankruptcy price; no fee")
    realizedPnl: str
    createdAt: str


def deleveraging_json(row: DeleveragingRow) -> dict[str, Any]:
    return {
        "marketId": row.market_id,
        "seq": row.seq,
        "role": "DELEVERAGED" if row.deleveraged else "COUNTERPARTY",
        "side": row.side,
        "quantity": plain(row.quantity),
        "price": plain(row.price),
        "realizedPnl": plain(row.realized_pnl),
        "createdAt": iso_millis(row.created_at),
    }
