"""`POST /orders`: the documented example, holds, the outbox command the engine accepts."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import asyncpg
import httpx
from redis.asyncio import Redis

from tests.exchange.engine_check import engine_for, outbox_payloads, run
from tests.exchange.helpers import (
    Trader,
    balance,
    deposit,
    limit_order,
    post_order,
    set_top_of_book,
)

DOCUMENTED_ORDER = {
    "marketId": "BTC-PERP",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "1.25",
    "price": "65000",
    "timeInForce": "GTC",
    "reduceOnly": False,
    "postOnly": True,
    "clientOrderId": "client-123",
    "leverage": 10,
}


async def test_documented_order_is_held_queued_and_accepted_by_the_engine(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "10000")
    notified: asyncio.Queue[str] = asyncio.Queue()
    await db.add_listener("outbox", lambda *args: notified.put_nowait(args[3]))

    response = await post_order(client, trader, DOCUMENTED_ORDER)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body == {"orderId": body["orderId"], "status": "PENDING"}
    order_id = int(body["orderId"])
    assert await asyncio.wait_for(notified.get(), 5) == "BTC-PERP"

    # Initial margin at 10x (81250 / 10) plus the taker fee (81250 * 0.0005) is held.
    assert await balance(db, trader.user_id, "USDC") == (Decimal("10000"), Decimal("8165.625"))
    row = await db.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
    assert row is not None
    assert row["status"] == "PENDING"
    assert (row["hold_asset"], row["hold_amount"]) == ("USDC", Decimal("8165.625"))
    assert (row["leverage"], row["post_only"], row["client_order_id"]) == (10, True, "client-123")

    [(outbox_id, market_id, kind, payload)] = await outbox_payloads(db)
    assert (market_id, kind) == ("BTC-PERP", "order.created")
    account_id = await db.fetchval("SELECT account_id FROM orders WHERE id = $1", order_id)
    assert json.loads(payload) == {
        "type": "place",
        "cmd_id": outbox_id,
        "order_id": order_id,
        "account": account_id,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GTC",
        "price": "65000",
        "qty": "1.25",
        "post_only": True,
        "reduce_only": False,
        "stp": "NONE",
        "client_order_id": "client-123",
    }
    engine = await engine_for(db, "BTC-PERP")
    accepted = run(engine, payload)[0]
    assert accepted["type"] == "accepted"
    assert (accepted["cmd_id"], accepted["order_id"], accepted["account"]) == (
        outbox_id, order_id, account_id,
    )  # fmt: skip
    assert (accepted["price"], accepted["qty"]) == ("65000", "1.25")

    shown = await client.get(f"/orders/{order_id}", headers=trader.headers)
    assert shown.status_code == 200
    order = shown.json()
    assert order["orderId"] == str(order_id)
    assert order["marketId"] == "BTC-PERP"
    assert (order["price"], order["quantity"], order["filledQuantity"]) == ("65000", "1.25", "0")
    assert (order["status"], order["clientOrderId"], order["leverage"]) == (
        "PENDING", "client-123", 10,
    )  # fmt: skip
    listed = await client.get("/orders", headers=trader.headers)
    assert [o["orderId"] for o in listed.json()] == [str(order_id)]
    by_market = await client.get("/orders?marketId=BTC_PERP&status=PENDING", headers=trader.headers)
    assert len(by_market.json()) == 1
    other = await client.get("/orders?marketId=ETH-PERP", headers=trader.headers)
    assert other.json() == []
    balances = (await client.get("/balances", headers=trader.headers)).json()
    assert balances == [
        {"asset": "USDC", "total": "10000", "held": "8165.625", "available": "1834.375"}
    ]


async def test_spot_holds_aliases_conditional_and_gtd_orders(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "1000")
    await deposit(client, trader, "ETH", "2")

    # Spot buy holds notional plus taker fee in quote; spot sell holds the base quantity.
    buy = await post_order(client, trader, limit_order("ETH_USDC", "BUY", "0.5", "1000"))
    assert buy.status_code == 202, buy.text
    assert await balance(db, trader.user_id, "USDC") == (Decimal("1000"), Decimal("500.25"))
    sell = await post_order(client, trader, limit_order("ETH/USDC", "SELL", "1.5", "1200.01"))
    assert sell.status_code == 202, sell.text
    assert await balance(db, trader.user_id, "ETH") == (Decimal("2"), Decimal("1.5"))

    stop = await post_order(
        client,
        trader,
        {**limit_order("ETH-USDC", "BUY", "0.1", "1100"), "type": "STOP_LOSS_LIMIT",
         "triggerPrice": "1090"},
    )  # fmt: skip
    assert stop.status_code == 202, stop.text
    gtd = await post_order(
        client,
        trader,
        limit_order("ETH-USDC", "SELL", "0.1", "1300", timeInForce="GTD", expireAt=4102444800000),
    )
    assert gtd.status_code == 202, gtd.text
    # JSON numbers are read exactly, never through a float.
    numbers = await client.post(
        "/orders",
        content=b'{"marketId":"ETH-USDC","side":"BUY","quantity":0.0001,"price":999.99}',
        headers={**trader.headers, "content-type": "application/json"},
    )
    assert numbers.status_code == 202, numbers.text

    rows = await db.fetch("SELECT market_id, hold_asset, hold_amount FROM orders ORDER BY id")
    assert [(r["market_id"], r["hold_asset"], r["hold_amount"]) for r in rows] == [
        ("ETH-USDC", "USDC", Decimal("500.25")),
        ("ETH-USDC", "ETH", Decimal("1.5")),
        ("ETH-USDC", "USDC", Decimal("110.055")),
        ("ETH-USDC", "ETH", Decimal("0.1")),
        ("ETH-USDC", "USDC", Decimal("0.100049")),  # 0.099999 + fee 0.0000499995 rounded up
    ]
    engine = await engine_for(db, "ETH-USDC")
    payloads = [p for *_, p in await outbox_payloads(db)]
    events = run(engine, *payloads)
    assert [e["type"] for e in events if e["type"] not in ("book_delta",)] == ["accepted"] * 5
    assert json.loads(payloads[2])["trigger_price"] == "1090"
    assert json.loads(payloads[3])["expire_at"] == 4102444800000


async def test_market_orders_carry_a_protection_price(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection, redis: Redis
) -> None:
    await deposit(client, trader, "USDC", "100000")
    market_buy = {"marketId": "BTC-PERP", "side": "BUY", "type": "MARKET", "quantity": "0.5"}

    no_reference = await post_order(client, trader, market_buy)
    assert no_reference.status_code == 400
    assert no_reference.json()["error"]["code"] == "INVALID_ORDER"

    await set_top_of_book(redis, "BTC-PERP", bid="64999.9", ask="65000.1", last="65000")
    accepted = await post_order(client, trader, market_buy)
    assert accepted.status_code == 202, accepted.text
    sell = await post_order(client, trader, {**market_buy, "side": "SELL", "quantity": "0.1"})
    assert sell.status_code == 202, sell.text
    payloads = [json.loads(p) for *_, p in await outbox_payloads(db)]
    # Buy: floor(ask * 1.05) = 68250.105 -> 68250.1; sell: ceil(bid * 0.95) = 61749.905 -> 61750.
    assert [(p["order_type"], p["time_in_force"], p["price"]) for p in payloads] == [
        ("MARKET", "IOC", "68250.1"),
        ("MARKET", "IOC", "61750"),
    ]
    hold = await db.fetchval("SELECT hold_amount FROM orders WHERE side = 'BUY'")
    # 1x: margin at the mark (last trade 65000: 32500) plus the taker fee at the protection price
    # (34125.05 * 0.0005 = 17.062525).
    assert hold == Decimal("32517.062525")
    engine = await engine_for(db, "BTC-PERP")
    events = run(engine, *(json.dumps(p) for p in payloads))
    assert [e["type"] for e in events][:2] == ["accepted", "cancelled"]  # empty book
