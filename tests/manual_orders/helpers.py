"""Helpers of the manual-order tests: the contract's bodies, exact JSON numbers, the drain."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from tests.exchange.helpers import Trader

ORDER_FIELDS = {
    "orderId", "userId", "market", "side", "orderType", "quantity", "price", "stopPrice",
    "timeInForce", "status", "expiresAt", "createdAt",
}  # fmt: skip
EXTRA_FIELDS = {"filledQuantity", "averagePrice", "reason", "updatedAt"}


def exact(response: httpx.Response) -> Any:
    """The JSON body with fractions as Decimal: the numbers exactly as written."""
    return json.loads(response.content, parse_float=Decimal)


def manual_order(
    market: str, side: str, order_type: str, quantity: Any, price: Any = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "market": market,
        "side": side,
        "orderType": order_type,
        "quantity": quantity,
        **extra,
    }
    if price is not None:
        body["price"] = price
    return body


async def place(
    client: httpx.AsyncClient, trader: Trader, body: Any, *, expect: int = 201
) -> dict[str, Any]:
    """POSTs to /api/orders and returns the answered order (numbers exact)."""
    response = await client.post("/api/orders", json=body, headers=trader.headers)
    assert response.status_code == expect, response.text
    order: dict[str, Any] = exact(response)["order"]
    assert set(order) == ORDER_FIELDS | EXTRA_FIELDS
    return order


async def fetch(client: httpx.AsyncClient, trader: Trader, order_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/orders/{order_id}", headers=trader.headers)
    assert response.status_code == 200, response.text
    order: dict[str, Any] = exact(response)["order"]
    return order


async def drain(client: httpx.AsyncClient, admin: Trader) -> None:
    """Until every worker has caught up (the persister has applied every event)."""
    response = await client.post("/admin/drain", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["drained"] is True, response.json()
