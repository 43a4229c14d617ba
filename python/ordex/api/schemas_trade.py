"""Request bodies, response models and documented errors of the cryptofunk session routes:
`/api/v1/trade/*`, `/api/v1/orders*`, `/api/v1/positions*`.

Bodies are read as JSON with numbers kept exact (`Decimal`) and validated by the services, which
name the offending field in every 400; the models below document them. Numbers come out as JSON
numbers, times as ISO 8601 in UTC with milliseconds.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any, Literal, NoReturn

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ordex.api.schemas import API_ERRORS
from ordex.api.schemas_engine import EngineErrorOut
from ordex.services.errors import ServiceError

SessionMode = Literal["PAPER", "LIVE"]
SessionVenue = Literal["internal", "paper", "live"]
SessionStatus = Literal["RUNNING", "PAUSED", "STOPPED"]
OrderSide = Literal["BUY", "SELL"]
OrderType = Literal[
    "MARKET", "LIMIT", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"
]
OrderStatus = Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"]
Number = Decimal | str
# Ids the handlers parse themselves (400 "invalid <name> format"); the document states the format.
UuidText = Annotated[str, WithJsonSchema({"type": "string", "format": "uuid"})]

TRADE_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    400: {
        "model": EngineErrorOut,
        "description": "Invalid request, naming the field: VALIDATION_ERROR, BAD_SYMBOL, "
        "NO_API_KEYS, SESSION_PAUSED, SESSION_STOPPED, SESSION_NOT_RUNNING, SESSION_NOT_PAUSED, "
        "INSUFFICIENT_BALANCE, ORDER_REFUSED (the exchange refused it), ORDER_NOT_CANCELLABLE",
    },
    404: {
        "model": EngineErrorOut,
        "description": "SESSION_NOT_FOUND, ORDER_NOT_FOUND, POSITION_NOT_FOUND, FLOW_NOT_FOUND "
        "(also for another user's)",
    },
    408: {"model": EngineErrorOut, "description": "REQUEST_TIMEOUT: the exchange timed out"},
    502: {"model": EngineErrorOut, "description": "EXCHANGE_ERROR: the exchange failed"},
    503: {"model": EngineErrorOut, "description": "EXCHANGE_UNAVAILABLE: unreachable"},
}


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


async def exact_json(request: Request, *, required: bool = True) -> Any:
    """The body as JSON with numbers kept exact, or 400 INVALID_JSON."""
    raw = await request.body()
    if not raw.strip():
        if not required:
            return {}
        raise ServiceError(400, "VALIDATION_ERROR", "A JSON body is required")
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ServiceError(400, "INVALID_JSON", "invalid JSON body") from None


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


# --- request bodies (documentation; the services validate) ------------------------------------


class StartBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(description="Unified trading pair of the exchange, e.g. BTC/USDT")
    initial_capital: Number = Field(description="> 0, in the quote asset")
    mode: SessionMode = Field(default="PAPER", description="any case")
    exchange: str | None = Field(
        default=None, description="ccxt exchange id, or `ordex`; the configured default if absent"
    )
    venue: SessionVenue | None = Field(
        default=None,
        description="PAPER: paper; LIVE: live, or internal when the exchange is ordex",
    )
    market_type: Literal["spot", "margin", "swap", "future"] = "spot"
    account_id: str | None = Field(
        default=None, description="live: the stored exchange keys (newest of the exchange)"
    )
    flow_id: str | None = Field(default=None, description="the strategy flow driving it")
    agent: str | None = Field(default=None, description="the agent trading it")


class StopBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: UuidText
    final_capital: Number | None = Field(
        default=None,
        description=">= 0, optional: kept as reported_final_capital; the statistics come from "
        "the session's fills",
    )


class SessionIdBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: UuidText


class OrderBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbol: str
    side: OrderSide
    type: OrderType
    quantity: Number = Field(description="> 0")
    price: Number | None = Field(default=None, description="required for the *LIMIT types only")
    stop_price: Number | None = Field(
        default=None, description="required for STOP_LOSS*, TAKE_PROFIT* only"
    )
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    session_id: UuidText | None = Field(
        default=None,
        description="the session; without it the caller's one session on the symbol, or ordex's "
        "own market",
    )
    reason: str | None = Field(default=None, description="why: shown as the position's reason")


# --- responses ---------------------------------------------------------------------------------


class Started(BaseModel):
    message: str
    session_id: str
    symbol: str
    mode: SessionMode
    venue: SessionVenue
    exchange: str
    started_at: str


class Stopped(BaseModel):
    message: str
    session_id: str
    final_capital: float
    reported_final_capital: float | None
    total_pnl: float
    total_trades: int
    winning_trades: int
    losing_trades: int
    max_drawdown: float
    sharpe_ratio: float | None
    stopped_at: str


class Paused(BaseModel):
    message: str
    session_id: str
    symbol: str
    status: SessionStatus
    note: str


class SessionOut(BaseModel):
    id: str
    mode: SessionMode
    venue: SessionVenue
    status: SessionStatus
    symbol: str
    exchange: str
    market_type: str
    flow_id: str | None
    agent: str | None
    started_at: str
    paused_at: str | None
    stopped_at: str | None
    initial_capital: float
    final_capital: float
    reported_final_capital: float | None
    total_pnl: float
    total_trades: int
    winning_trades: int
    losing_trades: int
    max_drawdown: float
    max_drawdown_percent: float
    sharpe_ratio: float | None
    created_at: str
    updated_at: str


class SessionList(BaseModel):
    sessions: list[SessionOut]
    count: int


class SessionEnvelope(BaseModel):
    session: SessionOut


class OrderOut(BaseModel):
    id: str
    session_id: str | None
    position_id: str | None
    exchange_order_id: str | None
    symbol: str
    exchange: str
    venue: SessionVenue
    side: OrderSide
    type: OrderType
    status: OrderStatus
    price: float | None
    stop_price: float | None
    quantity: float
    executed_quantity: float
    executed_quote_quantity: float
    fees: float
    time_in_force: Literal["GTC", "IOC", "FOK"]
    reason: str | None
    placed_at: str
    filled_at: str | None
    canceled_at: str | None
    expired_at: str | None
    error_message: str | None
    created_at: str
    updated_at: str


class OrderList(BaseModel):
    orders: list[OrderOut]
    count: int


class OrderEnvelope(BaseModel):
    order: OrderOut


class OrderWithMessage(BaseModel):
    order: OrderOut
    message: str


class PositionOut(BaseModel):
    id: str
    session_id: str | None
    symbol: str
    exchange: str
    venue: SessionVenue
    side: Literal["LONG", "SHORT"]
    entry_price: float
    exit_price: float | None
    quantity: float
    entry_time: str
    exit_time: str | None
    stop_loss: float | None
    take_profit: float | None
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    entry_reason: str | None
    exit_reason: str | None
    created_at: str
    updated_at: str


class PositionList(BaseModel):
    positions: list[PositionOut]
    count: int


class PositionEnvelope(BaseModel):
    position: PositionOut
