"""The droid's delta hedge on ordex's own ETH-PERP market: configured through PATCH .../config,
sent after a controller cycle through the exchange's order path (its workers running), sent
again after a price move, not sent without one, and never twice for one (session, cycle)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from web3 import Web3

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.db import droid_runs
from ordex.devchain import DevChain
from ordex.devchain.deploy import contract_at
from ordex.services import droid_math
from ordex.services.droid_hedge import DroidHedger, client_order_id
from ordex.workers.runtime import ExchangeRuntime, load_markets
from tests.droids.controller_support import (
    WALLET_INDEX,
    controller,
    eth_price,
    fund_wallet,
    owned_positions,
    pool_tick,
    seed_droid,
    swap_to_price,
    usdc_is_token0,
)
from tests.droids.routes_helpers import api_settings
from tests.sessions.helpers import until
from tests.workspace.helpers import User, sign_up

THRESHOLD = Decimal("0.05")
LIVE = ("PENDING", "OPEN", "PARTIALLY_FILLED", "UNTRIGGERED")


@dataclass
class Exchange:
    app: FastAPI
    http: httpx.AsyncClient
    chain: DevChain
    alice: User  # owns the droid
    bob: User  # rests the bid the hedge sells into

    @property
    def pool(self) -> asyncpg.Pool:
        pool: asyncpg.Pool = self.app.state.pool
        return pool


@pytest.fixture
async def exchange(
    settings: Settings, make_devchain: Callable[[], DevChain]
) -> AsyncIterator[Exchange]:
    chain = make_devchain()
    app = create_app(api_settings(settings, None).model_copy(update={"db_pool_max": 8}))
    async with LifespanManager(app):
        async with app.state.pool.acquire() as conn:
            markets = await load_markets(conn)
        runtime = ExchangeRuntime(app.state.pool, app.state.redis, markets)
        await runtime.start()
        app.state.exchange_runtime = runtime
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                alice = await sign_up(http, "alice@example.com")
                bob = await sign_up(http, "bob@example.com")
                yield Exchange(app, http, chain, alice, bob)
        finally:
            await runtime.stop()
            app.state.exchange_runtime = None


async def _post(ex: Exchange, path: str, user: User, body: dict[str, Any]) -> httpx.Response:
    return await ex.http.post(path, json=body, headers=user.headers)


async def _fund_and_rest_a_bid(ex: Exchange, price: Decimal) -> None:
    for user in (ex.alice, ex.bob):
        deposit = await _post(ex, "/deposits", user, {"asset": "USDC", "amount": "200000"})
        assert deposit.status_code == 200, deposit.text
    bid = (price * Decimal("0.99")).quantize(Decimal("0.01"))
    maker = await _post(
        ex, "/orders", ex.bob,
        {"marketId": "ETH-PERP", "side": "BUY", "type": "LIMIT", "quantity": "40",
         "price": str(bid)},
    )  # fmt: skip
    assert maker.status_code == 202, maker.text

    async def resting() -> bool:
        async with ex.pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    "SELECT status = 'OPEN' FROM orders WHERE id = $1", int(maker.json()["orderId"])
                )
            )

    await until(resting)


def _weth_exposure(chain: DevChain) -> Decimal:
    """WETH the droid's wallet holds: its balance, in its positions and as uncollected fees,
    read from the chain here (positions from the pool math, fees by a static `collect`)."""
    w3 = chain.web3()
    wallet = Web3.to_checksum_address(chain.accounts[WALLET_INDEX])
    weth = contract_at(w3, "sushi/WETH9Mock", chain.contracts["weth"])
    npm = contract_at(
        w3, "uniswap_v3/NonfungiblePositionManager", chain.contracts["nonfungible_position_manager"]
    )
    raw = int(weth.functions.balanceOf(wallet).call())
    sqrt_p, _ = pool_tick(chain)
    weth_index = 1 if usdc_is_token0(chain) else 0
    for token_id, lower, upper, liquidity in owned_positions(chain):
        amounts = droid_math.amounts_for_liquidity(
            sqrt_p,
            droid_math.sqrt_price_at_tick(lower),
            droid_math.sqrt_price_at_tick(upper),
            liquidity,
        )
        fees = npm.functions.collect((token_id, wallet, 2**128 - 1, 2**128 - 1)).call(
            {"from": wallet}
        )
        raw += amounts[weth_index] + int(fees[weth_index])
    return Decimal(raw).scaleb(-18)


async def _hedges(ex: Exchange, droid_id: int) -> list[asyncpg.Record]:
    async with ex.pool.acquire() as conn:
        return await conn.fetch(
            "SELECT h.*, o.status, o.filled_quantity, o.client_order_id AS sent_id "
            "FROM droid_hedge_orders h LEFT JOIN orders o ON o.id = h.order_id "
            "WHERE h.droid_id = $1 ORDER BY h.created_at",
            droid_id,
        )


async def _settled(ex: Exchange, droid_id: int) -> None:
    async def done() -> bool:
        return all(r["status"] not in LIVE for r in await _hedges(ex, droid_id))

    await until(done)


async def _position(ex: Exchange) -> Decimal:
    async with ex.pool.acquire() as conn:
        size = await conn.fetchval(
            "SELECT p.size FROM positions p JOIN trading_accounts a ON a.id = p.account_id "
            "WHERE a.user_id = $1 AND p.market_id = 'ETH-PERP'",
            ex.alice.id,
        )
    return Decimal(0) if size is None else Decimal(size)


async def _patch(
    ex: Exchange, droid_id: int, body: dict[str, Any], user: User | None = None
) -> httpx.Response:
    return await ex.http.patch(
        f"/api/droids/{droid_id}/config", json=body, headers=(user or ex.alice).headers
    )


async def test_hedge_config_is_validated(exchange: Exchange) -> None:
    ex = exchange
    async with ex.pool.acquire() as conn:
        droid_id = await seed_droid(conn, ex.chain)
        await conn.execute("UPDATE droids SET user_id = $2 WHERE id = $1", droid_id, ex.alice.id)
    refused: list[tuple[dict[str, Any], str]] = [
        ({"hedgeEnabled": True}, "hedgeEnabled"),  # no market yet
        ({"hedgeMarket": "BTC-PERP"}, "hedgeMarket"),  # not the pool's volatile token
        ({"hedgeMarket": "ETH-USDC"}, "hedgeMarket"),  # spot
        ({"hedgeMarket": "DOGE-PERP"}, "hedgeMarket"),  # unknown
        ({"hedgeThreshold": -1}, "hedgeThreshold"),
        ({"hedgeThreshold": None}, "hedgeThreshold"),
        ({"hedgeEnabled": "yes"}, "hedgeEnabled"),
    ]
    for body, field in refused:
        response = await _patch(ex, droid_id, body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.text, response.text
    assert (await _patch(ex, droid_id, {"hedgeMarket": "ETH-PERP"}, ex.bob)).status_code == 404
    answer = await _patch(
        ex,
        droid_id,
        {"hedgeEnabled": True, "hedgeMarket": "eth/usdc:usdc", "hedgeThreshold": "0.05"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["hedgeEnabled"], body["hedgeMarket"], body["hedgeThreshold"]) == (
        True, "ETH-PERP", 0.05,
    )  # fmt: skip
    # Alice deposited nothing: the exchange refuses the hedge order; it is recorded (not sent
    # again for that cycle) and she is notified.
    hedger = DroidHedger(ex.pool, ex.app.state.redis)
    async with ex.pool.acquire() as conn:
        session = await droid_runs.start_session(conn, droid_id)
        droid = await droid_runs.get_droid(conn, droid_id)
    assert droid is not None
    ten_weth = (10**19, 10**19)
    price = eth_price(ex.chain)
    refused_hedge = await hedger.after_cycle(droid, session.id, 1, ten_weth, price)
    assert refused_hedge.startswith("hedge SELL 10 ETH-PERP refused"), refused_hedge
    assert await hedger.after_cycle(droid, session.id, 1, ten_weth, price) == "hedge already sent"
    async with ex.pool.acquire() as conn:
        [row] = await conn.fetch("SELECT * FROM droid_hedge_orders WHERE droid_id = $1", droid_id)
        assert row["order_id"] is None and row["error"].startswith("INSUFFICIENT_MARGIN")
        events = await conn.fetch(
            "SELECT event, data FROM notifications WHERE user_id = $1", ex.alice.id
        )
    assert [e["event"] for e in events] == ["engine_error"]

    # A config change leaves the hedge alone; the market cannot go while the hedge is on.
    kept = await _patch(ex, droid_id, {"maxBots": 4})
    assert kept.status_code == 200 and kept.json()["hedgeMarket"] == "ETH-PERP", kept.text
    assert (await _patch(ex, droid_id, {"hedgeMarket": None})).status_code == 400
    off = await _patch(ex, droid_id, {"hedgeEnabled": False, "hedgeMarket": None})
    assert off.status_code == 200 and off.json()["hedgeMarket"] is None, off.text
    # POST does not take hedge fields (they are set here).
    created = await ex.http.post(
        "/api/droids",
        json={"poolId": 1, "fundingUSD": 1000, "minPrice": 1, "maxPrice": 2, "hedgeEnabled": True},
        headers=ex.alice.headers,
    )
    assert created.status_code == 400 and "hedgeEnabled" in created.text, created.text


async def test_the_hedge_offsets_the_weth_and_is_sent_once_per_move(exchange: Exchange) -> None:
    ex = exchange
    chain = ex.chain
    price = eth_price(chain)
    fund_wallet(chain)
    await _fund_and_rest_a_bid(ex, price)
    async with ex.pool.acquire() as conn:
        droid_id = await seed_droid(conn, chain)
        await conn.execute("UPDATE droids SET user_id = $2 WHERE id = $1", droid_id, ex.alice.id)
    enabled = await _patch(
        ex, droid_id, {"hedgeEnabled": True, "hedgeMarket": "ETH-PERP", "hedgeThreshold": "0.05"}
    )
    assert enabled.status_code == 200, enabled.text
    hedger = DroidHedger(ex.pool, ex.app.state.redis)

    # First cycle: the ladder is minted, then the WETH held is sold short on ETH-PERP.
    ctl = controller(ex.pool, chain, droid_id)
    ctl.hedger = hedger
    assert (await ctl.step()).startswith("rebalanced initial")
    await _settled(ex, droid_id)
    [first] = await _hedges(ex, droid_id)
    assert first["side"] == "SELL" and first["status"] == "FILLED", dict(first)
    assert first["sent_id"] == client_order_id(first["session_id"], first["cycle"])
    exposure = _weth_exposure(chain)
    assert exposure > 9  # the wallet's 10 WETH, in positions or not
    position = await _position(ex)
    assert position < 0 and abs(exposure + position) <= THRESHOLD, (exposure, position)
    async with ex.pool.acquire() as conn:
        last_action = await conn.fetchval(
            "SELECT last_action FROM droid_sessions WHERE id = $1", first["session_id"]
        )
    assert last_action == f"hedge SELL {first['quantity']} ETH-PERP"

    # A cycle without a move sends nothing.
    await ctl.step()
    assert len(await _hedges(ex, droid_id)) == 1
    await ctl.close()

    # A restart running the first cycle again (its hedge sent, whatever it now reads) sends
    # nothing: the (session, cycle) already has its order.
    restarted = DroidHedger(ex.pool, ex.app.state.redis)
    async with ex.pool.acquire() as conn:
        droid = await droid_runs.get_droid(conn, droid_id)
        orders_before = await conn.fetchval("SELECT count(*) FROM orders")
    assert droid is not None
    more_weth = (10**21, 10**21)  # as if it held 1000 more of either token
    assert (
        await restarted.after_cycle(droid, first["session_id"], first["cycle"], more_weth, price)
        == "hedge already sent"
    )
    async with ex.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM orders") == orders_before

    # The price falls: the ladder buys WETH, the hedge sells more.
    swap_to_price(chain, price * Decimal("0.97"))
    ctl = controller(ex.pool, chain, droid_id)
    ctl.hedger = hedger
    await ctl.step()
    await ctl.close()
    await _settled(ex, droid_id)
    rows = await _hedges(ex, droid_id)
    assert len(rows) == 2
    second = rows[1]
    assert second["side"] == "SELL" and second["status"] == "FILLED", dict(second)
    assert second["cycle"] > first["cycle"]
    exposure_now = _weth_exposure(chain)
    assert exposure_now > exposure + THRESHOLD
    position = await _position(ex)
    assert abs(exposure_now + position) <= THRESHOLD, (exposure_now, position)
