"""Bad input is a 400 in the `/api` envelope naming the field, an unaffordable order the
contract's 400, and neither writes anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from tests.exchange.helpers import Trader, deposit, snapshot
from tests.manual_orders.helpers import manual_order

GOOD = manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000)
PAST = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
FUTURE = (datetime.now(UTC) + timedelta(days=1)).isoformat()


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


BAD_FIELDS = [
    ("no market", without("market"), "market"),
    ("unknown market", {**GOOD, "market": "DOGE_USDC"}, "market"),
    ("market not a string", {**GOOD, "market": 5}, "market"),
    ("no side", without("side"), "side"),
    ("bad side", {**GOOD, "side": "HOLD"}, "side"),
    ("no orderType", without("orderType"), "orderType"),
    ("bad orderType", {**GOOD, "orderType": "ICEBERG"}, "orderType"),
    ("no quantity", without("quantity"), "quantity"),
    ("quantity text", {**GOOD, "quantity": "abc"}, "quantity"),
    ("quantity negative", {**GOOD, "quantity": -1}, "quantity"),
    ("quantity zero", {**GOOD, "quantity": 0}, "quantity"),
    ("quantity boolean", {**GOOD, "quantity": True}, "quantity"),
    ("quantity a list", {**GOOD, "quantity": [1]}, "quantity"),
    ("quantity off the lot grid", {**GOOD, "quantity": 0.00001}, "quantity"),
    ("quantity with an exponent", {**GOOD, "quantity": "1e3"}, "quantity"),
    ("limit without price", without("price"), "price"),
    ("price off the tick grid", {**GOOD, "price": 3000.001}, "price"),
    ("stopPrice on a limit order", {**GOOD, "stopPrice": 3100}, "stopPrice"),
    ("stop without stopPrice", {**GOOD, "orderType": "STOP_LOSS_LIMIT"}, "stopPrice"),
    (
        "stopPrice off the tick grid",
        {**GOOD, "orderType": "STOP_LIMIT", "stopPrice": "3100.005"},
        "stopPrice",
    ),
    ("bad timeInForce", {**GOOD, "timeInForce": "DAY"}, "timeInForce"),
    (
        "market order GTC",
        {**without("price"), "orderType": "MARKET", "timeInForce": "GTC"},
        "timeInForce",
    ),
    ("GTD without expiresAt", {**GOOD, "timeInForce": "GTD"}, "expiresAt"),
    ("expiresAt with GTC", {**GOOD, "timeInForce": "GTC", "expiresAt": FUTURE}, "expiresAt"),
    ("expiresAt in the past", {**GOOD, "expiresAt": PAST}, "expiresAt"),
    ("expiresAt not a time", {**GOOD, "expiresAt": "tomorrow"}, "expiresAt"),
    ("expiresAt a boolean", {**GOOD, "expiresAt": True}, "expiresAt"),
    (
        "expiresAt on a market order",
        {**without("price"), "orderType": "MARKET", "expiresAt": FUTURE},
        "expiresAt",
    ),
    ("leverage on spot", {**GOOD, "leverage": 5}, "leverage"),
    ("postOnly not a boolean", {**GOOD, "postOnly": "yes"}, "postOnly"),
    ("unknown field", {**GOOD, "foo": 1}, "foo"),
]


@pytest.mark.parametrize(
    ("body", "field"), [pytest.param(b, f, id=label) for label, b, f in BAD_FIELDS]
)
async def test_bad_field_is_400_naming_it(
    client: httpx.AsyncClient,
    trader: Trader,
    db: asyncpg.Connection,
    body: dict[str, Any],
    field: str,
) -> None:
    await deposit(client, trader, "USDC", "10000")
    before = await snapshot(db)
    response = await client.post("/api/orders", json=body, headers=trader.headers)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "VALIDATION_ERROR", error
    assert error["field"] == field, error
    assert isinstance(error["error"], str) and error["error"]
    # The message speaks the contract's names, not the exchange's.
    assert not any(name in error["error"] for name in ("marketId", "triggerPrice", "expireAt"))
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", "INVALID_JSON"),
        (b'{"quantity": NaN}', "INVALID_JSON"),
        (b"", "VALIDATION_ERROR"),
        (b"[1, 2]", "VALIDATION_ERROR"),
        (b'"order"', "VALIDATION_ERROR"),
    ],
)
async def test_bad_body_is_400(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection, content: bytes, code: str
) -> None:
    before = await snapshot(db)
    response = await client.post(
        "/api/orders",
        content=content,
        headers={**trader.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert await snapshot(db) == before


async def test_unaffordable_order_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "1000")
    before = await snapshot(db)
    for body in (
        manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000),  # quote
        manual_order("ETH_USDC", "SELL", "LIMIT", 1, 3000),  # base: no ETH at all
        manual_order("BTC_PERP", "BUY", "LIMIT", 1, 65000),  # margin
    ):
        response = await client.post("/api/orders", json=body, headers=trader.headers)
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": "Insufficient funds: the available balance or margin does not cover the order",
            "code": "INSUFFICIENT_FUNDS",
        }
    assert await snapshot(db) == before


async def test_market_order_without_a_price_anywhere(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "1000")
    before = await snapshot(db)
    response = await client.post(
        "/api/orders",
        json=manual_order("ETH_USDC", "BUY", "MARKET", 0.1),
        headers=trader.headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "INVALID_ORDER"
    assert await snapshot(db) == before


async def test_duplicate_client_order_id_is_409(client: httpx.AsyncClient, trader: Trader) -> None:
    await deposit(client, trader, "USDC", "10000")
    body = {**GOOD, "clientOrderId": "manual-1"}
    first = await client.post("/api/orders", json=body, headers=trader.headers)
    assert first.status_code == 201, first.text
    again = await client.post("/api/orders", json=body, headers=trader.headers)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "DUPLICATE_CLIENT_ORDER_ID"
    assert again.json()["field"] == "clientOrderId"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=NOPE", "status"),
        ("side=HOLD", "side"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("offset=-1", "offset"),
        ("market=DOGE_USDC", "market"),
    ],
)
async def test_bad_list_query_is_400(
    client: httpx.AsyncClient, trader: Trader, query: str, field: str
) -> None:
    response = await client.get(f"/api/orders?{query}", headers=trader.headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert response.json()["field"] == field


async def test_credential_required(client: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/api/orders"),
        ("POST", "/api/orders"),
        ("GET", "/api/orders/1"),
        ("DELETE", "/api/orders/1"),
    ):
        response = await client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == "UNAUTHENTICATED"
