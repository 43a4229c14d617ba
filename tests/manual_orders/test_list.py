"""`GET /api/orders`: the caller's orders, newest first, with filters and paging; the one orders
table, whichever route placed the order."""

from __future__ import annotations

import httpx

from tests.exchange.helpers import Trader, deposit, limit_order, post_order, sign_up
from tests.manual_orders.helpers import drain, exact, manual_order, place


async def _ids(client: httpx.AsyncClient, trader: Trader, query: str = "") -> list[str]:
    response = await client.get(f"/api/orders{query}", headers=trader.headers)
    assert response.status_code == 200, response.text
    return [o["orderId"] for o in exact(response)["orders"]]


async def test_filters_and_paging(client: httpx.AsyncClient, admin: Trader, trader: Trader) -> None:
    await deposit(client, trader, "USDC", "100000")
    await deposit(client, trader, "BTC", "1")
    first = await place(client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000))
    second = await place(client, trader, manual_order("BTC_USDC", "SELL", "LIMIT", 0.5, 70000))
    third = await place(client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 2, 2900))
    cancelled = await client.delete(f"/api/orders/{third['orderId']}", headers=trader.headers)
    assert cancelled.status_code == 200
    # An order of the root route is a row of the same table.
    root = await post_order(client, trader, limit_order("ETH-USDC", "BUY", "0.5", "2800"))
    assert root.status_code == 202
    await drain(client, admin)
    fourth = root.json()["orderId"]

    assert await _ids(client, trader) == [fourth, third["orderId"], second["orderId"],
                                          first["orderId"]]  # fmt: skip
    assert await _ids(client, trader, "?limit=2") == [fourth, third["orderId"]]
    assert await _ids(client, trader, "?limit=2&offset=2") == [second["orderId"], first["orderId"]]
    assert await _ids(client, trader, "?offset=4") == []
    assert await _ids(client, trader, "?market=BTC_USDC") == [second["orderId"]]
    assert await _ids(client, trader, "?market=ETH/USDC&status=OPEN") == [
        fourth, first["orderId"],
    ]  # fmt: skip
    assert await _ids(client, trader, "?status=CANCELLED") == [third["orderId"]]
    assert await _ids(client, trader, "?side=SELL") == [second["orderId"]]
    assert await _ids(client, trader, "?side=BUY&status=OPEN&limit=1") == [fourth]

    listed = exact(await client.get("/api/orders?side=SELL", headers=trader.headers))
    assert listed["orders"][0]["market"] == "BTC_USDC"
    root_order = exact(await client.get(f"/api/orders/{fourth}", headers=trader.headers))
    assert (root_order["order"]["market"], root_order["order"]["quantity"]) == ("ETH_USDC", 0.5)

    # Another user sees none of them.
    other = await sign_up(client)
    assert await _ids(client, other) == []
