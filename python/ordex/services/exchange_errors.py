"""Errors of the exchange with the contract's stable codes.

`ExchangeError` is a `ServiceError`, so the API renders it in the root envelope
`{"error": {"code", "message"}}`; the intake worker replies with the same `code` and `message`.

Status codes: 400 INVALID_ORDER (and VALIDATION_ERROR for other bodies), 404 MARKET_NOT_FOUND and
ORDER_NOT_FOUND, 409 DUPLICATE_CLIENT_ORDER_ID and ORDER_NOT_OPEN, 422 INSUFFICIENT_MARGIN.
"""

from __future__ import annotations

from ordex.services.errors import ServiceError


class ExchangeError(ServiceError):
    pass


def market_not_found(market_id: str) -> ExchangeError:
    return ExchangeError(404, "MARKET_NOT_FOUND", f"Market {market_id!r} not found")


def invalid_order(message: str, *, field: str | None = None) -> ExchangeError:
    return ExchangeError(400, "INVALID_ORDER", message, field=field)


def invalid_request(message: str, *, field: str | None = None) -> ExchangeError:
    return ExchangeError(400, "VALIDATION_ERROR", message, field=field)


def insufficient_margin() -> ExchangeError:
    return ExchangeError(422, "INSUFFICIENT_MARGIN", "Available margin is below required margin")


def duplicate_client_order_id(client_order_id: str) -> ExchangeError:
    return ExchangeError(
        409,
        "DUPLICATE_CLIENT_ORDER_ID",
        f"A live order already uses clientOrderId {client_order_id!r}",
        field="clientOrderId",
    )


def order_not_found() -> ExchangeError:
    return ExchangeError(404, "ORDER_NOT_FOUND", "Order not found")


def order_not_open(status: str) -> ExchangeError:
    return ExchangeError(409, "ORDER_NOT_OPEN", f"Order is already {status}")
