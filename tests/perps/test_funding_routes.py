"""The routes over the real app and workers: the market's mark and funding outlook, positions at
the mark (unrealized PnL, cross liquidation price), the caller's funding history and the market's
settled rates. The mark worker is stepped with an explicit clock (8-hour intervals)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services import funding
from ordex.workers.mark_funding import MarkFundingWorker
from ordex.workers.runtime import ExchangeRuntime, load_markets
from tests.exchange.helpers import Trader, deposit, limit_order, post_order, sign_up

T0 = 1_800_000_000_000  # ms, on an 8-hour boundary
EIGHT_HOURS = 28_800_000


@pytest.fixture
async def app_and_worker(
    settings: Settings,
) -> AsyncIterator[tuple[httpx.AsyncClient, MarkFundingWorker]]:
    app = create_app(settings.model_copy(update={"registration_mode": "open"}))
    async with LifespanManager(app) as manager:
        async with app.state.pool.acquire() as conn:
            markets = await load_markets(conn)
        runtime = ExchangeRuntime(
            app.state.pool, app.state.redis, markets, roles=("outbox", "matcher", "persister")
        )
        await runtime.start()
        app.state.exchange_runtime = runtime
        worker = MarkFundingWorker(app.state.pool, app.state.redis, markets.values())
        try:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c, worker
        finally:
            await runtime.stop()


async def test_market_positions_and_funding_routes(
    app_and_worker: tuple[httpx.AsyncClient, MarkFundingWorker],
) -> None:
    client, worker = app_and_worker
    admin = await sign_up(client, "admin@example.com")
    long, short, maker = await sign_up(client), await sign_up(client), await sign_up(client)
    for trader, amount in ((long, "1000"), (short, "1000"), (maker, "300000")):
        await deposit(client, trader, "USDC", amount)

    async def drain() -> None:
        response = await client.post("/admin/drain", headers=admin.headers)
        assert response.json()["drained"] is True, response.json()

    async def order(trader: Trader, side: str, qty: str, price: str) -> None:
        body = limit_order("BTC-PERP", side, qty, price, leverage=10)
        response = await post_order(client, trader, body)
        assert response.status_code == 202, response.text
        await drain()

    await order(short, "SELL", "0.1", "65000")  # maker fee 1.3
    await order(long, "BUY", "0.1", "65000")  # taker fee 3.25
    await order(maker, "BUY", "1", "65200")
    await order(maker, "SELL", "1", "65300")

    # Mark 65125 (impact mid 65250, last 65000); one interval settled at 0.00115163: the long
    # pays 7.499991, the short gets 7.49999 (tests/perps/test_funding.py works them out).
    market = worker.markets["BTC-PERP"]
    await worker.step(market, T0 + 500)
    await worker.step(market, T0 + EIGHT_HOURS + 500)
    await drain()
    await worker.step(market)  # now: a sample of the current interval for the prediction

    btc = (await client.get("/markets/BTC-PERP", headers=long.headers)).json()
    assert (btc["markPrice"], btc["indexPrice"], btc["predictedFundingRate"]) == (
        "65125",
        None,
        "0.00115163",
    )
    next_funding = datetime.fromisoformat(btc["nextFundingTime"].replace("Z", "+00:00"))
    next_ms = funding.datetime_to_ms(next_funding)
    assert next_ms % EIGHT_HOURS == 0 and 0 < next_ms - time.time() * 1000 <= EIGHT_HOURS
    assert btc["fundingRateCap"] == "0.00375"  # the documented fields as they were
    listed = {m["id"]: m for m in (await client.get("/markets", headers=long.headers)).json()}
    assert listed["BTC-PERP"]["markPrice"] == "65125"
    spot = listed["BTC-USDC"]
    assert [spot[k] for k in ("markPrice", "predictedFundingRate", "nextFundingTime")] == [None] * 3

    # Positions at the mark. Long: 0.1 * 65125 - 6500 = 12.5; collateral 1000 - 3.25 - 7.499991
    # = 989.250009, liquidated at (6500 - 989.250009) / (0.1 * 0.995) = 55384.422..., up to the
    # tick. Short: -12.5; collateral 1000 - 1.3 + 7.49999 = 1006.19999, liquidated at
    # (6500 + 1006.19999) / (0.1 * 1.005) = 74688.557..., down to the tick.
    expected = {
        long: ("LONG", "12.5", "55384.5"),
        short: ("SHORT", "-12.5", "74688.5"),
    }
    for trader, (side, pnl, liquidation) in expected.items():
        (position,) = (await client.get("/positions", headers=trader.headers)).json()
        assert (position["side"], position["markPrice"]) == (side, "65125")
        assert (position["unrealizedPnl"], position["liquidationPrice"]) == (pnl, liquidation)
        assert Decimal(position["cost"]) == Decimal("6500")

    paid = (await client.get("/funding", headers=long.headers)).json()
    assert paid == [
        {
            "marketId": "BTC-PERP",
            "fundingTime": "2027-01-15T16:00:00.000Z",
            "rate": "0.00115163",
            "markPrice": "65125",
            "amount": "-7.499991",
            "asset": "USDC",
        }
    ]
    received = await client.get("/funding?marketId=BTC_PERP&limit=5", headers=short.headers)
    assert [p["amount"] for p in received.json()] == ["7.49999"]
    assert (await client.get("/funding?marketId=ETH-PERP", headers=long.headers)).json() == []
    assert (await client.get("/funding", headers=maker.headers)).json() == []
    assert (await client.get("/funding")).status_code == 401
    unknown = await client.get("/funding?marketId=NOPE", headers=long.headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "MARKET_NOT_FOUND"

    rates = (await client.get("/funding-rates?marketId=BTC-PERP", headers=maker.headers)).json()
    assert rates == [
        {
            "marketId": "BTC-PERP",
            "fundingTime": "2027-01-15T16:00:00.000Z",
            "rate": "0.00115163",
            "markPrice": "65125",
            "premium": "0.001151631478",
        }
    ]
    assert (
        await client.get("/funding-rates?marketId=ETH-PERP", headers=maker.headers)
    ).json() == []
    assert (await client.get("/funding-rates", headers=maker.headers)).status_code == 400
    assert (await client.get("/funding-rates?marketId=BTC-PERP")).status_code == 401
