"""`POST /margin-mode`, `POST /positions/margin` and the isolated fields of `GET /positions`, over
the real app and workers (outbox, matcher, persister).

The long trades BTC-PERP ISOLATED on 10,000 USDC: 1 BTC at 60,000 at 20x earmarks 3,000 of
isolated margin (30 of taker fee paid): liquidation price (60000 - 3000) / 0.995 = 57286.5 on the
grid. With 4,000: (60000 - 4000) / 0.995 = 56281.41, 56281.5.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.mark_prices import MarkPrice, write_mark
from ordex.workers.runtime import ExchangeRuntime, load_markets
from tests.exchange.helpers import Trader, deposit, limit_order, post_order, sign_up

D = Decimal


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(settings.model_copy(update={"registration_mode": "open"}))
    async with LifespanManager(app) as manager:
        async with app.state.pool.acquire() as conn:
            markets = await load_markets(conn)
        runtime = ExchangeRuntime(
            app.state.pool, app.state.redis, markets, roles=("outbox", "matcher", "persister")
        )
        await runtime.start()
        app.state.exchange_runtime = runtime
        try:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, app
        finally:
            await runtime.stop()


async def test_margin_mode_and_isolated_margin_routes(
    app_client: tuple[httpx.AsyncClient, Any],
) -> None:
    client, app = app_client
    admin = await sign_up(client, "admin@example.com")
    long, maker = await sign_up(client), await sign_up(client)
    await deposit(client, long, "USDC", "10000")
    await deposit(client, maker, "USDC", "1000000")

    async def drain() -> None:
        response = await client.post("/admin/drain", headers=admin.headers)
        assert response.json()["drained"] is True, response.json()

    async def mode(trader: Trader, body: Any) -> httpx.Response:
        return await client.post("/margin-mode", json=body, headers=trader.headers)

    async def move(amount: Any, market_id: str = "BTC-PERP") -> httpx.Response:
        body = {"marketId": market_id, "amount": amount}
        return await client.post("/positions/margin", json=body, headers=long.headers)

    async def btc_position() -> dict[str, Any]:
        response = await client.get("/positions", headers=long.headers)
        assert response.status_code == 200, response.text
        [found] = [p for p in response.json() if p["marketId"] == "BTC-PERP"]
        return dict(found)

    def refused(response: httpx.Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code

    # The mode: refusals first, then ISOLATED before any position.
    refused(await mode(long, {"marketId": "NOPE-PERP", "marginMode": "ISOLATED"}), 404,
            "MARKET_NOT_FOUND")  # fmt: skip
    refused(await mode(long, {"marketId": "BTC-USDC", "marginMode": "ISOLATED"}), 400,
            "VALIDATION_ERROR")  # fmt: skip
    refused(await mode(long, {"marketId": "BTC-PERP", "marginMode": "HEDGE"}), 400,
            "VALIDATION_ERROR")  # fmt: skip
    refused(await mode(long, []), 400, "VALIDATION_ERROR")
    no_auth = await client.post("/margin-mode", json={"marketId": "BTC-PERP"})
    assert no_auth.status_code == 401
    response = await mode(long, {"marketId": "BTC-PERP", "marginMode": "ISOLATED"})
    assert response.status_code == 200, response.text
    assert response.json() == {"marketId": "BTC-PERP", "marginMode": "ISOLATED"}
    flat = await btc_position()
    assert (flat["side"], flat["marginMode"], flat["isolatedMargin"]) == ("FLAT", "ISOLATED", "0")

    # An open order locks the mode of its market.
    resting = await post_order(client, long, limit_order("ETH-PERP", "BUY", "1", "1000",
                                                          leverage=20))  # fmt: skip
    assert resting.status_code == 202, resting.text
    await drain()
    refused(await mode(long, {"marketId": "ETH-PERP", "marginMode": "ISOLATED"}), 409,
            "MARGIN_MODE_LOCKED")  # fmt: skip
    cancelled = await client.delete(f"/orders/{resting.json()['orderId']}", headers=long.headers)
    assert cancelled.status_code == 202, cancelled.text
    await drain()

    # The isolated long: its initial margin earmarked, the balance total only less the fee.
    sell = limit_order("BTC-PERP", "SELL", "1", "60000", leverage=20)
    assert (await post_order(client, maker, sell)).status_code == 202
    await drain()
    buy = limit_order("BTC-PERP", "BUY", "1", "60000", leverage=20)
    assert (await post_order(client, long, buy)).status_code == 202
    await drain()
    mark = MarkPrice(D(60000), None, None, None, int(time.time() * 1000))
    await write_mark(app.state.redis, "BTC-PERP", mark)
    opened = await btc_position()
    assert (opened["side"], opened["size"], opened["marginMode"]) == ("LONG", "1", "ISOLATED")
    assert opened["isolatedMargin"] == "3000"
    assert opened["liquidationPrice"] == "57286.5"
    balances = (await client.get("/balances", headers=long.headers)).json()
    [usdc] = [b for b in balances if b["asset"] == "USDC"]
    assert D(usdc["total"]) == D("9970")
    refused(await mode(long, {"marketId": "BTC-PERP", "marginMode": "CROSS"}), 409,
            "MARGIN_MODE_LOCKED")  # fmt: skip

    # Adding and removing margin moves the liquidation price; no ledger entry is written.
    ledger = await app.state.pool.fetchval("SELECT count(*) FROM ledger_entries")
    added = await move("1000")
    assert added.status_code == 200, added.text
    assert (added.json()["isolatedMargin"], added.json()["liquidationPrice"]) == (
        "4000",
        "56281.5",
    )
    assert (await btc_position())["liquidationPrice"] == "56281.5"
    removed = await move("-1000")
    assert removed.status_code == 200, removed.text
    assert (removed.json()["isolatedMargin"], removed.json()["liquidationPrice"]) == (
        "3000",
        "57286.5",
    )
    assert await app.state.pool.fetchval("SELECT count(*) FROM ledger_entries") == ledger

    # Below the initial margin (3,000 at the mark), more than the free cross collateral
    # (9970 - 3000 = 6970), bad amounts, a market without an isolated position.
    refused(await move("-0.000001"), 422, "INSUFFICIENT_MARGIN")
    refused(await move("6970.000001"), 422, "INSUFFICIENT_MARGIN")
    refused(await move("abc"), 400, "VALIDATION_ERROR")
    refused(await move("0"), 400, "VALIDATION_ERROR")
    refused(await move(5), 400, "VALIDATION_ERROR")
    refused(await move("0.0000001"), 400, "VALIDATION_ERROR")
    refused(await move("10", "ETH-PERP"), 409, "NOT_ISOLATED")
    everything = await move("6970")
    assert everything.status_code == 200, everything.text
    assert everything.json()["isolatedMargin"] == "9970"
    refused(await move("0.000001"), 422, "INSUFFICIENT_MARGIN")
    # Nothing left for a cross order, nor for an isolated one: its initial margin comes out of
    # the free cross collateral.
    eth = await post_order(client, long, limit_order("ETH-PERP", "BUY", "1", "1000", leverage=20))
    refused(eth, 422, "INSUFFICIENT_MARGIN")
    more = await post_order(client, long, limit_order("BTC-PERP", "BUY", "0.1", "59000",
                                                       leverage=20))  # fmt: skip
    refused(more, 422, "INSUFFICIENT_MARGIN")
    # Closing the isolated position needs nothing of the cross collateral (its fee comes out
    # of the position's margin).
    close = await post_order(client, long, limit_order("BTC-PERP", "SELL", "1", "70000",
                                                        leverage=20))  # fmt: skip
    assert close.status_code == 202, close.text
    await drain()
    [usdc] = [b for b in (await client.get("/balances", headers=long.headers)).json()
              if b["asset"] == "USDC"]  # fmt: skip
    assert D(usdc["held"]) == 0
    # More than the position (with the resting sell) is no longer only a close.
    flip = await post_order(client, long, limit_order("BTC-PERP", "SELL", "0.1", "70000",
                                                       leverage=20))  # fmt: skip
    refused(flip, 422, "INSUFFICIENT_MARGIN")
    cancelled = await client.delete(f"/orders/{close.json()['orderId']}", headers=long.headers)
    assert cancelled.status_code == 202, cancelled.text
    await drain()
    # Given back, the same isolated order passes: its initial margin at the mark (the last
    # trade, 60,000: 6000 * 5%) and its taker fee at its price (2.95) held.
    assert (await move("-6000")).status_code == 200
    more = await post_order(client, long, limit_order("BTC-PERP", "BUY", "0.1", "59000",
                                                       leverage=20))  # fmt: skip
    assert more.status_code == 202, more.text
    await drain()
    [usdc] = [b for b in (await client.get("/balances", headers=long.headers)).json()
              if b["asset"] == "USDC"]  # fmt: skip
    assert D(usdc["held"]) == D("302.95")
