"""Every refusal of `POST /orders` has its contract code and writes nothing: no order row, no
outbox row, `held` unchanged."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from tests.exchange.helpers import (
    Trader,
    balance,
    deposit,
    limit_order,
    post_order,
    snapshot,
)

VALID = limit_order("BTC-PERP", "BUY", "0.01", "65000")


def _without(field: str) -> dict[str, Any]:
    return {k: v for k, v in VALID.items() if k != field}


INVALID_BODIES: list[tuple[str, Any]] = [
    ("off-tick price", {**VALID, "price": "65000.05"}),
    ("off-lot quantity", {**VALID, "quantity": "0.00015"}),
    ("halted market", limit_order("ETH-PERP", "BUY", "0.001", "3000")),
    ("bad side", {**VALID, "side": "LONG"}),
    ("bad type", {**VALID, "type": "ICEBERG"}),
    ("bad time in force", {**VALID, "timeInForce": "DAY"}),
    ("missing marketId", _without("marketId")),
    ("missing side", _without("side")),
    ("missing quantity", _without("quantity")),
    ("missing price", _without("price")),
    ("negative quantity", {**VALID, "quantity": "-1"}),
    ("zero price", {**VALID, "price": "0"}),
    ("exponent", {**VALID, "price": "6.5e4"}),
    ("not a number", {**VALID, "quantity": "lots"}),
    ("boolean quantity", {**VALID, "quantity": True}),
    ("leverage above the market's", {**VALID, "leverage": 21}),
    ("leverage zero", {**VALID, "leverage": 0}),
    ("leverage on spot", limit_order("BTC-USDC", "BUY", "0.01", "65000", leverage=2)),
    ("reduce-only on spot", limit_order("BTC-USDC", "SELL", "0.01", "65000", reduceOnly=True)),
    ("market order GTC", {**_without("price"), "type": "MARKET", "timeInForce": "GTC"}),
    ("post-only IOC", {**VALID, "postOnly": True, "timeInForce": "IOC"}),
    ("GTD without expireAt", {**VALID, "timeInForce": "GTD"}),
    ("expireAt in the past", {**VALID, "timeInForce": "GTD", "expireAt": 1000}),
    ("trigger on a limit order", {**VALID, "triggerPrice": "64000"}),
    ("stop without trigger", {**VALID, "type": "STOP_LOSS_LIMIT"}),
    ("client order id too long", {**VALID, "clientOrderId": "x" * 37}),
    ("client order id not ASCII", {**VALID, "clientOrderId": "ordré"}),
    ("market order without any price", {**_without("price"), "type": "MARKET"}),
    ("not an object", ["BTC-PERP", "BUY"]),
    ("reduceOnly not a boolean", {**VALID, "reduceOnly": "maybe"}),
]
RAW_BODIES = [b"{", b"", b"not json", b'{"marketId": "BTC-PERP", "quantity": Infinity}']


async def test_invalid_orders_are_invalid_order_and_write_nothing(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE markets SET status = 'HALTED' WHERE id = 'ETH-PERP'")
    await deposit(client, trader, "USDC", "100000")
    await deposit(client, trader, "BTC", "1")
    before = await snapshot(db)
    for name, body in INVALID_BODIES:
        response = await post_order(client, trader, body)
        assert response.status_code == 400, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_ORDER", name
        assert error["message"], name
    for raw in RAW_BODIES:
        response = await client.post(
            "/orders", content=raw, headers={**trader.headers, "content-type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["error"]["code"] == "INVALID_ORDER", raw
    off_tick = await post_order(client, trader, {**VALID, "price": "65000.05"})
    assert off_tick.json()["error"] == {
        "code": "INVALID_ORDER",
        "message": "price 65000.05 is not a multiple of the tick size 0.1",
        "field": "price",
    }
    unknown = await post_order(client, trader, {**VALID, "marketId": "DOGE-PERP"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "MARKET_NOT_FOUND"
    assert await snapshot(db) == before


async def test_insufficient_margin_for_perpetual_and_spot_orders(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "1000")
    await deposit(client, trader, "ETH", "1")
    before = await snapshot(db)
    refused = [
        limit_order("BTC-PERP", "BUY", "1", "65000", leverage=20),  # needs 3250 + fee
        limit_order("BTC-PERP", "SELL", "0.1", "65000"),  # 1x: 6500 + fee
        limit_order("BTC-USDC", "BUY", "0.1", "65000"),  # 6500 + fee of quote
        limit_order("ETH-USDC", "SELL", "1.0001", "3000"),  # more ETH than deposited
        limit_order("BTC-USDC", "SELL", "0.0001", "65000"),  # no BTC at all
    ]
    for body in refused:
        response = await post_order(client, trader, body)
        assert response.status_code == 422, (body, response.text)
        assert response.json() == {
            "error": {
                "code": "INSUFFICIENT_MARGIN",
                "message": "Available margin is below required margin",
            }
        }
    assert await snapshot(db) == before  # not even an empty balance row for BTC

    # 0.3 BTC at 20x: margin 975 + fee 9.75 = 984.75 fits in 1000; then nothing more does.
    fits = await post_order(
        client, trader, limit_order("BTC-PERP", "BUY", "0.3", "65000", leverage=20)
    )
    assert fits.status_code == 202, fits.text
    assert await balance(db, trader.user_id, "USDC") == (Decimal("1000"), Decimal("984.75"))
    more = await post_order(
        client, trader, limit_order("ETH-PERP", "BUY", "0.2", "3000", leverage=20)
    )
    assert more.status_code == 422


async def test_duplicate_live_client_order_id(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "100000")
    await deposit(client, trader, "BTC", "1")
    first = await post_order(client, trader, {**VALID, "clientOrderId": "client-123"})
    assert first.status_code == 202
    before = await snapshot(db)
    again = await post_order(client, trader, {**VALID, "clientOrderId": "client-123"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "DUPLICATE_CLIENT_ORDER_ID"
    assert await snapshot(db) == before

    # Once the first order is final its client order id is free again.
    await db.execute(
        "UPDATE orders SET status = 'CANCELLED' WHERE id = $1", int(first.json()["orderId"])
    )
    reused = await post_order(client, trader, {**VALID, "clientOrderId": "client-123"})
    assert reused.status_code == 202

    # Orders holding different assets (quote for the buy, base for the sell) do not share a lock;
    # the unique index still lets only one of them in.
    race = [
        limit_order("BTC-USDC", "BUY", "0.01", "60000", clientOrderId="race"),
        limit_order("BTC-USDC", "SELL", "0.01", "70000", clientOrderId="race"),
    ]
    for _ in range(3):
        await db.execute("UPDATE orders SET status = 'CANCELLED' WHERE client_order_id = 'race'")
        responses = await asyncio.gather(*(post_order(client, trader, b) for b in race))
        assert sorted(r.status_code for r in responses) == [202, 409]
        loser = next(r for r in responses if r.status_code == 409)
        assert loser.json()["error"]["code"] == "DUPLICATE_CLIENT_ORDER_ID"
    live = await db.fetchval(
        "SELECT count(*) FROM orders WHERE client_order_id = 'race' AND status = 'PENDING'"
    )
    assert live == 1
