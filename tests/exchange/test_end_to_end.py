"""Through the real workers: orders from the API are published, matched and settled, and the
query routes show the outcome."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.workers.runtime import ExchangeRuntime, load_markets
from tests.exchange.helpers import deposit, limit_order, post_order, sign_up


@pytest.fixture
async def embedded_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"registration_mode": "open"}))
    async with LifespanManager(app) as manager:
        async with app.state.pool.acquire() as conn:
            markets = await load_markets(conn)
        runtime = ExchangeRuntime(app.state.pool, app.state.redis, markets)
        await runtime.start()
        app.state.exchange_runtime = runtime
        try:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c
        finally:
            await runtime.stop()


async def test_orders_match_and_settle(embedded_client: httpx.AsyncClient) -> None:
    client = embedded_client
    admin = await sign_up(client, "admin@example.com")
    maker, taker = await sign_up(client), await sign_up(client)
    await deposit(client, maker, "USDC", "100000")
    await deposit(client, taker, "USDC", "100000")

    async def drain() -> None:
        response = await client.post("/admin/drain", headers=admin.headers)
        assert response.status_code == 200
        assert response.json()["drained"] is True, response.json()

    rest = await post_order(client, maker, limit_order("BTC-PERP", "SELL", "1", "65000"))
    await drain()
    resting = await client.get(f"/orders/{rest.json()['orderId']}", headers=maker.headers)
    assert resting.json()["status"] == "OPEN"

    # The matcher has published the book: a market buy takes its protection price from it.
    take = await post_order(
        client, taker, {"marketId": "BTC-PERP", "side": "BUY", "type": "MARKET", "quantity": "0.4"}
    )
    assert take.status_code == 202, take.text
    await drain()

    taken = (await client.get(f"/orders/{take.json()['orderId']}", headers=taker.headers)).json()
    assert (taken["status"], taken["filledQuantity"], taken["averagePrice"]) == (
        "FILLED", "0.4", "65000",
    )  # fmt: skip
    rested = (await client.get(f"/orders/{rest.json()['orderId']}", headers=maker.headers)).json()
    assert (rested["status"], rested["filledQuantity"]) == ("PARTIALLY_FILLED", "0.4")
    fills = (await client.get("/fills", headers=taker.headers)).json()
    assert [(f["side"], f["liquidity"], f["price"], f["quantity"], f["fee"]) for f in fills] == [
        ("BUY", "TAKER", "65000", "0.4", "13")
    ]
    positions = (await client.get("/positions", headers=taker.headers)).json()
    assert [(p["marketId"], p["side"], p["size"], p["entryPrice"]) for p in positions] == [
        ("BTC-PERP", "LONG", "0.4", "65000")
    ]
    # The taker paid the fee; the rest of its hold went back when the order was final.
    [usdc] = (await client.get("/balances", headers=taker.headers)).json()
    assert (usdc["total"], usdc["held"]) == ("99987", "0")

    cancel = await client.delete(f"/orders/{rest.json()['orderId']}", headers=maker.headers)
    assert cancel.status_code == 202
    await drain()
    cancelled = (
        await client.get(f"/orders/{rest.json()['orderId']}", headers=maker.headers)
    ).json()
    assert cancelled["status"] == "CANCELLED"
    again = await client.delete(f"/orders/{rest.json()['orderId']}", headers=maker.headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ORDER_NOT_OPEN"
