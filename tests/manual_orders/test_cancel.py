"""`DELETE /api/orders/{orderId}`: CANCELLED once the engine has cancelled; ownership; final
orders."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import httpx

from tests.exchange.helpers import Trader, balance, deposit, sign_up, snapshot
from tests.manual_orders.helpers import drain, exact, fetch, manual_order, place


async def test_cancel_answers_cancelled(
    client: httpx.AsyncClient, admin: Trader, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "10000")
    order = await place(client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000))
    assert await balance(db, trader.user_id, "USDC") == (Decimal(10000), Decimal("3001.5"))

    response = await client.delete(f"/api/orders/{order['orderId']}", headers=trader.headers)
    assert response.status_code == 200, response.text
    cancelled = exact(response)["order"]
    assert (cancelled["status"], cancelled["reason"]) == ("CANCELLED", "USER")
    assert {k: v for k, v in cancelled.items() if k not in ("status", "reason", "updatedAt")} == {
        k: v for k, v in order.items() if k not in ("status", "reason", "updatedAt")
    }
    # Stored as answered, and the hold is back.
    assert await fetch(client, trader, order["orderId"]) == cancelled
    assert await balance(db, trader.user_id, "USDC") == (Decimal(10000), Decimal(0))

    # Cancelling is idempotent: the order is answered as it is, nothing is queued.
    before = await snapshot(db)
    again = await client.delete(f"/api/orders/{order['orderId']}", headers=trader.headers)
    assert again.status_code == 200, again.text
    assert exact(again)["order"] == cancelled
    assert await snapshot(db) == before


async def test_cancel_of_a_final_order(
    client: httpx.AsyncClient, admin: Trader, trader: Trader, db: asyncpg.Connection
) -> None:
    maker = await sign_up(client)
    await deposit(client, maker, "ETH", "1")
    await deposit(client, trader, "USDC", "10000")
    await place(client, maker, manual_order("ETH_USDC", "SELL", "LIMIT", 1, 3200))
    filled = await place(client, trader, manual_order("ETH_USDC", "BUY", "MARKET", 1))
    assert filled["status"] == "FILLED"
    before = await snapshot(db)
    response = await client.delete(f"/api/orders/{filled['orderId']}", headers=trader.headers)
    assert response.status_code == 400
    assert response.json() == {"error": "Order is already FILLED", "code": "ORDER_NOT_OPEN"}
    assert await snapshot(db) == before


async def test_another_users_order_is_not_found(
    client: httpx.AsyncClient, admin: Trader, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "10000")
    order = await place(client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000))
    intruder = await sign_up(client)
    await deposit(client, intruder, "USDC", "10")  # a trading account of its own
    stranger = await sign_up(client)  # no trading account at all
    before = await snapshot(db)
    not_found = {"error": "Order not found", "code": "ORDER_NOT_FOUND"}
    for path, who in [
        (f"/api/orders/{order['orderId']}", intruder),
        (f"/api/orders/{order['orderId']}", stranger),
        ("/api/orders/999999", trader),
        ("/api/orders/0", trader),
        ("/api/orders/not-an-id", trader),
        ("/api/orders/99999999999999999999999", trader),
    ]:
        for method in ("GET", "DELETE"):
            response = await client.request(method, path, headers=who.headers)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json() == not_found
    assert await snapshot(db) == before
    listed = await client.get("/api/orders", headers=intruder.headers)
    assert listed.json() == {"orders": []}
    # The order is untouched.
    await drain(client, admin)
    assert (await fetch(client, trader, order["orderId"]))["status"] == "OPEN"
