"""Session orders filled on ordex's own markets (the internal venue) are settled by the persister;
the trade notifier writes their `trade_executed` notifications from its committed progress,
exactly once, and pushes them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI

from ordex.db import trade_notifications as cursors_repo
from ordex.services import live_messages
from ordex.services import notifications as service
from ordex.workers.runtime import ExchangeRuntime, load_markets
from ordex.workers.trade_notifier import TradeNotifier
from tests.notifications.helpers import notifications
from tests.sessions.helpers import SessionsApi, until
from tests.workspace.helpers import channel_messages


async def _drain(api: SessionsApi) -> None:
    response = await api.http.post("/admin/drain", headers=api.alice.headers)
    assert response.status_code == 200 and response.json()["drained"], response.text


async def _fund_and_rest_a_sell(api: SessionsApi) -> None:
    for user, asset, amount in ((api.alice, "USDC", "100000"), (api.bob, "BTC", "2")):
        deposit = await api.http.post(
            "/deposits", json={"asset": asset, "amount": amount}, headers=user.headers
        )
        assert deposit.status_code == 200, deposit.text
    maker = await api.http.post(
        "/orders",
        json={"marketId": "BTC-USDC", "side": "SELL", "type": "LIMIT", "quantity": "0.5",
              "price": "65000"},
        headers=api.bob.headers,
    )  # fmt: skip
    assert maker.status_code == 202, maker.text
    await _drain(api)


async def _trades(api: SessionsApi) -> list[dict[str, Any]]:
    listed = await notifications(api, type="trade")
    return list(listed["notifications"])


async def test_internal_fills_are_notified_once_and_pushed(
    api: SessionsApi, exchange_runtime: ExchangeRuntime, app: FastAPI
) -> None:
    await _fund_and_rest_a_sell(api)
    await api.start(exchange="ordex", symbol="BTC/USDC", mode="LIVE", initial_capital=100000)
    pushed: list[dict[str, Any]] = []
    channel = f"{live_messages.USER_CHANNEL_PREFIX}{api.alice.id}"
    async with channel_messages(api.redis_url, channel, pushed.append):
        partial = await api.order(
            symbol="BTC/USDC", side="BUY", type="LIMIT", quantity="0.8", price="65000"
        )
        await _drain(api)
        await until(lambda: _count(api, 1))
        [first] = await _trades(api)
        assert first["event"] == "trade_executed"
        assert first["title"] == "Order Partially Filled"
        assert first["message"] == "BTC/USDC buy 0.5 partially filled at $65,000.00"
        assert first["data"]["order_id"] == partial["id"]
        assert (first["data"]["quantity"], first["data"]["price"]) == (0.5, 65000)
        assert (first["data"]["venue"], first["data"]["exchange"]) == ("internal", "ordex")

        # Bob sells into the rest: the order is now filled.
        rest = await api.http.post(
            "/orders",
            json={"marketId": "BTC-USDC", "side": "SELL", "type": "LIMIT", "quantity": "0.3",
                  "price": "64000"},
            headers=api.bob.headers,
        )  # fmt: skip
        assert rest.status_code == 202, rest.text
        await _drain(api)
        await until(lambda: _count(api, 2))
        latest = (await _trades(api))[0]
        assert latest["title"] == "Order Filled"
        assert latest["message"] == "BTC/USDC buy 0.3 filled at $65,000.00"  # the maker's price
        await until(lambda: _true(len(pushed) >= 2))
    assert [m["data"]["id"] for m in pushed if m["type"] == "notification"] == [
        first["id"], latest["id"]
    ]  # fmt: skip

    # Bob's plain exchange orders are no session orders: nothing for him; rounds after the last
    # fill find nothing more to write.
    assert (await notifications(api, api.bob, type="trade"))["total"] == 0
    notifier = TradeNotifier(app.state.pool, app.state.redis)
    assert await notifier.round() == 0
    assert len(await _trades(api)) == 2


async def _true(value: bool) -> bool:
    return value


async def _count(api: SessionsApi, expected: int) -> bool:
    return len(await _trades(api)) >= expected


async def test_a_round_rolled_back_is_written_again_and_two_notifiers_write_once(
    api: SessionsApi, app: FastAPI, db: asyncpg.Connection
) -> None:
    """Rounds without the exchange's notifier: one that fails before its commit leaves no row and
    no cursor moved; two at once write each notification once (the cursors' row locks)."""
    async with app.state.pool.acquire() as conn:
        markets = await load_markets(conn)
    runtime = ExchangeRuntime(
        app.state.pool, app.state.redis, markets, roles=("intake", "outbox", "matcher", "persister")
    )
    await runtime.start()
    app.state.exchange_runtime = runtime
    try:
        await _fund_and_rest_a_sell(api)
        await api.start(exchange="ordex", symbol="BTC/USDC", mode="LIVE", initial_capital=100000)
        await api.order(symbol="BTC/USDC", side="BUY", type="LIMIT", quantity="0.5", price="65000")
        await _drain(api)
    finally:
        await runtime.stop()
        app.state.exchange_runtime = None

    class Crash(Exception):
        pass

    cursor = "SELECT last_seq FROM trade_notification_cursors WHERE market_id = 'BTC-USDC'"
    before = await db.fetchval(cursor)
    try:
        async with app.state.pool.acquire() as conn, conn.transaction():
            assert len(await service.internal_fills(conn)) == 1
            raise Crash  # dies before the commit
    except Crash:
        pass
    assert len(await _trades(api)) == 0
    assert await db.fetchval(cursor) == before

    first, second = (
        TradeNotifier(app.state.pool, app.state.redis),
        TradeNotifier(app.state.pool, app.state.redis),
    )
    written = await asyncio.gather(first.round(), second.round())
    assert sorted(written) == [0, 1]
    [only] = await _trades(api)
    assert only["title"] == "Order Filled"
    async with app.state.pool.acquire() as conn:
        assert not await cursors_repo.has_backlog(conn)


async def test_a_silenced_trade_is_not_written_but_the_cursor_moves(
    api: SessionsApi, exchange_runtime: ExchangeRuntime, app: FastAPI
) -> None:
    silenced = await api.http.put(
        "/api/profile/preferences",
        json={"notification_preferences": {"trade_executed": False}},
        headers=api.alice.headers,
    )
    assert silenced.status_code == 200, silenced.text
    await _fund_and_rest_a_sell(api)
    await api.start(exchange="ordex", symbol="BTC/USDC", mode="LIVE", initial_capital=100000)
    await api.order(symbol="BTC/USDC", side="BUY", type="LIMIT", quantity="0.5", price="65000")
    await _drain(api)

    async def caught_up() -> bool:
        async with app.state.pool.acquire() as conn:
            return not await cursors_repo.has_backlog(conn)

    await until(caught_up)
    assert await _trades(api) == []
    assert orjson.dumps(await notifications(api))  # the list still answers
