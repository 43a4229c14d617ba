"""`DELETE /orders/{orderId}`: ownership, the engine `cancel` command, ORDER_NOT_OPEN."""

from __future__ import annotations

import json

import asyncpg
import httpx

from tests.exchange.engine_check import engine_for, outbox_payloads, run
from tests.exchange.helpers import Trader, deposit, limit_order, post_order, sign_up, snapshot


async def test_cancel_queues_the_engine_cancel(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "10000")
    placed = await post_order(client, trader, limit_order("BTC-PERP", "BUY", "0.1", "65000"))
    order_id = placed.json()["orderId"]

    response = await client.delete(f"/orders/{order_id}", headers=trader.headers)
    assert response.status_code == 202, response.text
    assert response.json() == {"orderId": order_id, "status": "PENDING", "cancelRequested": True}

    (place_id, _, _, place), (cancel_id, market_id, kind, cancel) = await outbox_payloads(db)
    assert (market_id, kind) == ("BTC-PERP", "order.cancelled")
    account_id = await db.fetchval("SELECT account_id FROM orders WHERE id = $1", int(order_id))
    assert json.loads(cancel) == {
        "type": "cancel",
        "cmd_id": cancel_id,
        "order_id": int(order_id),
        "account": account_id,
    }
    events = run(await engine_for(db, "BTC-PERP"), place, cancel)
    cancelled = next(e for e in events if e["type"] == "cancelled")
    assert (cancelled["cmd_id"], cancelled["order_id"], cancelled["reason"]) == (
        cancel_id, int(order_id), "USER",
    )  # fmt: skip
    assert place_id < cancel_id
    # The order changes only when the engine's `cancelled` event is persisted.
    status = await db.fetchval("SELECT status FROM orders WHERE id = $1", int(order_id))
    assert status == "PENDING"


async def test_cancel_errors(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "10000")
    placed = await post_order(client, trader, limit_order("BTC-PERP", "BUY", "0.1", "65000"))
    order_id = placed.json()["orderId"]
    intruder = await sign_up(client)
    before = await snapshot(db)

    for path, who in [
        (f"/orders/{order_id}", intruder),  # another account's order
        ("/orders/999999", trader),
        ("/orders/not-a-number", trader),
        ("/orders/0", trader),
        ("/orders/99999999999999999999999", trader),
    ]:
        for method in ("DELETE", "GET"):
            response = await client.request(method, path, headers=who.headers)
            assert response.status_code == 404, (method, path)
            assert response.json() == {
                "error": {"code": "ORDER_NOT_FOUND", "message": "Order not found"}
            }
    assert await snapshot(db) == before

    # Fills are the persister's; an order it has marked FILLED is final.
    await db.execute("UPDATE orders SET status = 'FILLED' WHERE id = $1", int(order_id))
    final = await client.delete(f"/orders/{order_id}", headers=trader.headers)
    assert final.status_code == 409
    assert final.json() == {
        "error": {"code": "ORDER_NOT_OPEN", "message": "Order is already FILLED"}
    }
    assert await snapshot(db) == before
