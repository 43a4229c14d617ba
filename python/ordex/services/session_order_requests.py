"""An order of `/api/v1/orders` as the cryptofunk contract writes it, validated, and what placing
one needs (`SessionContext`).

Fields: `symbol`, `side` (BUY | SELL), `type` (MARKET | LIMIT | STOP_LOSS | STOP_LOSS_LIMIT |
TAKE_PROFIT | TAKE_PROFIT_LIMIT), `quantity` (> 0), `price` (the limit types, and only them),
`stop_price` (the stop and take-profit types, and only them), `time_in_force` (GTC | IOC | FOK,
GTC by default), `session_id` and `reason` (optional). Enumerations in any case. Numbers are JSON
numbers (read exactly, as decimals) or decimal strings. Every refusal is a 400 naming the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal, cast

from ordex.db.trading_sessions import SessionRow
from ordex.db.types import Connection
from ordex.engine_types import OrderType, Side
from ordex.redis_client import RedisClient
from ordex.services.errors import ServiceError
from ordex.services.markets import MarketRegistry
from ordex.services.venues import MarketSpec, Venues

SessionTimeInForce = Literal["GTC", "IOC", "FOK"]
SIDES: tuple[Side, ...] = ("BUY", "SELL")
TYPES: tuple[OrderType, ...] = (
    "MARKET", "LIMIT", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
)  # fmt: skip
TIMES_IN_FORCE: tuple[SessionTimeInForce, ...] = ("GTC", "IOC", "FOK")
LIMIT_PRICED = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
CONDITIONAL = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
MAX_DIGITS = 38
MAX_SYMBOL = 64
MAX_REASON = 2000
KNOWN_FIELDS = frozenset(
    {"symbol", "side", "type", "quantity", "price", "stop_price", "time_in_force", "session_id",
     "reason"}
)  # fmt: skip


def invalid(message: str, field: str | None = None) -> ServiceError:
    return ServiceError(400, "VALIDATION_ERROR", message, field=field)


def not_running(session: SessionRow) -> ServiceError:
    code = "SESSION_PAUSED" if session.status == "PAUSED" else "SESSION_STOPPED"
    return ServiceError(
        400, code, f"Trading session is {session.status.lower()}: it accepts no new orders",
        field="session_id",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrderInput:
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    time_in_force: SessionTimeInForce
    session_id: uuid.UUID | None
    reason: str | None

    @property
    def is_limit_priced(self) -> bool:
        return self.type in LIMIT_PRICED

    @property
    def is_conditional(self) -> bool:
        return self.type in CONDITIONAL


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What placing, cancelling and reading session orders needs; one per request (or per round
    of the session watcher)."""

    conn: Connection
    redis: RedisClient
    registry: MarketRegistry
    venues: Venues
    user_id: uuid.UUID
    wake_watcher: Callable[[], None] = field(default=lambda: None)


def _enum(
    data: Mapping[str, object], name: str, allowed: tuple[str, ...], default: str | None
) -> str:
    value = data.get(name)
    if value is None:
        if default is None:
            raise invalid(f"{name} is required", name)
        return default
    if isinstance(value, str) and value.strip().upper() in allowed:
        return value.strip().upper()
    raise invalid(f"{name} must be one of {', '.join(allowed)}", name)


def decimal_field(
    data: Mapping[str, object], name: str, *, required: bool, allow_zero: bool = False
) -> Decimal | None:
    """A number from JSON (int, Decimal) or a decimal string; floats are refused upstream by
    parsing JSON numbers as decimals."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"{name} is required", name)
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise invalid(f"{name} must be a number", name)
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise invalid(f"{name} must be a number", name) from None
    if not number.is_finite():
        raise invalid(f"{name} must be a finite number", name)
    if number < 0 or (number == 0 and not allow_zero):
        raise invalid(f"{name} must be {'zero or more' if allow_zero else 'positive'}", name)
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > MAX_DIGITS or len(digits) + exponent > MAX_DIGITS or exponent < -MAX_DIGITS:
        raise invalid(f"{name} is out of range", name)
    return number


def uuid_field(data: Mapping[str, object], name: str, *, required: bool) -> uuid.UUID | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required", name)
        return None
    if not isinstance(value, str):
        raise invalid(f"invalid {name} format", name)
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid(f"invalid {name} format", name) from None


def text_field(
    data: Mapping[str, object], name: str, *, required: bool, max_length: int
) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required", name)
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{name} must be a non-empty string", name)
    if len(value.strip()) > max_length:
        raise invalid(f"{name} is longer than {max_length} characters", name)
    return value.strip()


def parse_order_input(data: object) -> OrderInput:
    """The validated order; raises 400 VALIDATION_ERROR naming the offending field."""
    if not isinstance(data, Mapping):
        raise invalid("The body must be a JSON object")
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        raise invalid(f"unknown field {unknown[0]}", unknown[0])
    symbol = cast(str, text_field(data, "symbol", required=True, max_length=MAX_SYMBOL))
    side = cast(Side, _enum(data, "side", SIDES, None))
    order_type = cast(OrderType, _enum(data, "type", TYPES, None))
    quantity = cast(Decimal, decimal_field(data, "quantity", required=True))
    price = decimal_field(data, "price", required=order_type in LIMIT_PRICED)
    if price is not None and order_type not in LIMIT_PRICED:
        raise invalid(f"price is only for limit orders, not {order_type}", "price")
    stop_price = decimal_field(data, "stop_price", required=order_type in CONDITIONAL)
    if stop_price is not None and order_type not in CONDITIONAL:
        raise invalid("stop_price is only for stop and take-profit orders", "stop_price")
    time_in_force = cast(SessionTimeInForce, _enum(data, "time_in_force", TIMES_IN_FORCE, "GTC"))
    return OrderInput(
        symbol=symbol,
        side=side,
        type=order_type,
        quantity=quantity,
        price=price,
        stop_price=stop_price,
        time_in_force=time_in_force,
        session_id=uuid_field(data, "session_id", required=False),
        reason=text_field(data, "reason", required=False, max_length=MAX_REASON),
    )


def check_grid(order: OrderInput, spec: MarketSpec) -> None:
    """The venue's own rules: prices on its tick, quantities on its step and above its minimum."""
    for name, value, step in (
        ("quantity", order.quantity, spec.amount_step),
        ("price", order.price, spec.price_step),
        ("stop_price", order.stop_price, spec.price_step),
    ):
        if value is not None and step is not None and step > 0 and value % step != 0:
            raise invalid(f"{name} must be a multiple of {step.normalize():f}", name)
    if spec.min_amount is not None and order.quantity < spec.min_amount:
        raise invalid(
            f"quantity is below the market's minimum of {spec.min_amount.normalize():f}",
            "quantity",
        )
