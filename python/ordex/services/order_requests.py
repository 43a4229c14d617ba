"""An order request as clients send it (camelCase fields of the exchange contract), validated.

The HTTP route and the `orders.intake` stream both hand a decoded mapping to
`parse_order_request`; values may be JSON types or the strings a Redis stream carries. Checks
that need the market (grid, minimum, leverage cap) happen in `services.order_checks.check_order`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar, cast

from ordex.engine_types import OrderType, Side, StpMode, TimeInForce, TriggerBy
from ordex.services.exchange_errors import invalid_order
from ordex.services.markets import decimal_from_text

SIDES: tuple[Side, ...] = ("BUY", "SELL")
ORDER_TYPES: tuple[OrderType, ...] = (
    "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
)  # fmt: skip
TIMES_IN_FORCE: tuple[TimeInForce, ...] = ("GTC", "IOC", "FOK", "GTD")
TRIGGER_BY: tuple[TriggerBy, ...] = ("LAST_PRICE", "MARK_PRICE")
STP_MODES: tuple[StpMode, ...] = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")
LIMIT_PRICED: frozenset[str] = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
CONDITIONAL: frozenset[str] = frozenset(
    {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}
)
CLIENT_ORDER_ID_MAX = 36
MAX_DIGITS = 38  # beyond any price or quantity; keeps absurd inputs away from the engine

_E = TypeVar("_E", bound=str)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    market_id: str
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_by: TriggerBy = "LAST_PRICE"
    time_in_force: TimeInForce | None = None
    expire_at: int | None = None
    reduce_only: bool = False
    post_only: bool = False
    client_order_id: str | None = None
    leverage: int | None = None
    stp: StpMode = "NONE"

    @property
    def is_limit_priced(self) -> bool:
        return self.order_type in LIMIT_PRICED

    @property
    def is_conditional(self) -> bool:
        return self.order_type in CONDITIONAL

    @property
    def effective_time_in_force(self) -> TimeInForce:
        if self.time_in_force is not None:
            return self.time_in_force
        return "GTC" if self.is_limit_priced else "IOC"


def _enum(
    data: Mapping[str, object], field: str, allowed: tuple[_E, ...], default: _E | None
) -> _E:
    value = data.get(field)
    if value is None:
        if default is None:
            raise invalid_order(f"{field} is required", field=field)
        return default
    if isinstance(value, str) and value.strip().upper() in allowed:
        return cast(_E, value.strip().upper())
    raise invalid_order(f"{field} must be one of {', '.join(allowed)}", field=field)


def _decimal(data: Mapping[str, object], field: str, *, required: bool) -> Decimal | None:
    value = data.get(field)
    if value is None or value == "":
        if required:
            raise invalid_order(f"{field} is required", field=field)
        return None
    # Floats are refused: they may already have lost the exact value the client meant.
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise invalid_order(f"{field} must be a decimal string", field=field)
    number = decimal_from_text(value) if isinstance(value, str) else Decimal(value)
    if number is None or not number.is_finite():
        raise invalid_order(f"{field} must be a decimal string", field=field)
    if number <= 0:
        raise invalid_order(f"{field} must be positive", field=field)
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) > MAX_DIGITS or len(digits) + exponent > MAX_DIGITS or exponent < -MAX_DIGITS:
        raise invalid_order(f"{field} is out of range", field=field)
    return number


def _bool(data: Mapping[str, object], field: str) -> bool:
    value = data.get(field)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise invalid_order(f"{field} must be a boolean", field=field)


def _int(data: Mapping[str, object], field: str, *, minimum: int) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool):
        raise invalid_order(f"{field} must be an integer", field=field)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if not isinstance(value, int) or not minimum <= value < 2**63:
        raise invalid_order(f"{field} must be an integer of at least {minimum}", field=field)
    return value


def _client_order_id(data: Mapping[str, object]) -> str | None:
    value = data.get("clientOrderId")
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= CLIENT_ORDER_ID_MAX
        or not all("!" <= ch <= "~" for ch in value)
    ):
        raise invalid_order(
            f"clientOrderId must be 1 to {CLIENT_ORDER_ID_MAX} printable ASCII characters",
            field="clientOrderId",
        )
    return value


def parse_order_request(data: object) -> OrderRequest:
    """Validate the shape of an order; raises INVALID_ORDER naming the offending field."""
    if not isinstance(data, Mapping):
        raise invalid_order("The order must be a JSON object")
    market_id = data.get("marketId")
    if not isinstance(market_id, str) or not market_id.strip():
        raise invalid_order("marketId is required", field="marketId")
    order_type = _enum(data, "type", ORDER_TYPES, "LIMIT")
    request = OrderRequest(
        market_id=market_id.strip(),
        side=_enum(data, "side", SIDES, None),
        order_type=order_type,
        quantity=cast(Decimal, _decimal(data, "quantity", required=True)),
        price=_decimal(data, "price", required=order_type in LIMIT_PRICED),
        trigger_price=_decimal(data, "triggerPrice", required=order_type in CONDITIONAL),
        trigger_by=_enum(data, "triggerBy", TRIGGER_BY, "LAST_PRICE"),
        time_in_force=(
            None
            if data.get("timeInForce") is None
            else _enum(data, "timeInForce", TIMES_IN_FORCE, None)
        ),
        expire_at=_int(data, "expireAt", minimum=1),
        reduce_only=_bool(data, "reduceOnly"),
        post_only=_bool(data, "postOnly"),
        client_order_id=_client_order_id(data),
        leverage=_int(data, "leverage", minimum=1),
        stp=_enum(data, "stp", STP_MODES, "NONE"),
    )
    _check_combinations(request)
    return request


def _check_combinations(request: OrderRequest) -> None:
    tif = request.effective_time_in_force
    if request.trigger_price is not None and not request.is_conditional:
        raise invalid_order("triggerPrice is only for conditional orders", field="triggerPrice")
    if not request.is_limit_priced and tif not in ("IOC", "FOK"):
        raise invalid_order(f"{request.order_type} orders are IOC or FOK", field="timeInForce")
    if (tif == "GTD") != (request.expire_at is not None):
        raise invalid_order(
            "expireAt goes with timeInForce GTD, and only with it", field="expireAt"
        )
    if request.post_only and (not request.is_limit_priced or tif not in ("GTC", "GTD")):
        raise invalid_order("postOnly needs a resting limit order (GTC or GTD)", field="postOnly")
