"""`/api/v1/orders` and `/api/v1/positions`: the documented examples, filters that combine with
AND, every order type, the internal venue through the exchange pipeline, bad input and other
users' orders."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.sessions.helpers import SessionsApi, error, until

ORDER_FIELDS = {
    "id", "session_id", "position_id", "exchange_order_id", "symbol", "exchange", "side", "type",
    "status", "price", "stop_price", "quantity", "executed_quantity", "executed_quote_quantity",
    "time_in_force", "placed_at", "filled_at", "canceled_at", "expired_at", "error_message",
    "created_at", "updated_at",
}  # fmt: skip
POSITION_FIELDS = {
    "id", "session_id", "symbol", "exchange", "side", "entry_price", "exit_price", "quantity",
    "entry_time", "exit_time", "stop_loss", "take_profit", "realized_pnl", "unrealized_pnl",
    "fees", "entry_reason", "exit_reason", "created_at", "updated_at",
}  # fmt: skip


async def test_documented_order_examples(api: SessionsApi) -> None:
    """Start a paper session, then place the contract's two orders by symbol alone."""
    session_id = await api.start(initial_capital=10000.00)
    market = await api.post(
        "/api/v1/orders",
        {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": 0.1, "price": None},
    )
    assert market.status_code == 201, market.text
    body = market.json()
    assert body["message"] == "Order created successfully"
    assert set(body["order"]) >= ORDER_FIELDS
    assert {k: body["order"][k] for k in ("symbol", "side", "type", "quantity", "session_id")} == {
        "symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": 0.1,
        "session_id": session_id,
    }  # fmt: skip
    limit = await api.post(
        "/api/v1/orders",
        {"symbol": "BTC/USDT", "side": "BUY", "type": "LIMIT", "quantity": 0.1, "price": 41500.00},
    )
    assert limit.status_code == 201, limit.text
    assert limit.json()["order"]["status"] == "NEW" and limit.json()["order"]["price"] == 41500

    listed = (await api.get("/api/v1/orders")).json()
    assert listed["count"] == 2
    assert [o["type"] for o in listed["orders"]] == ["LIMIT", "MARKET"]  # newest first
    filled = listed["orders"][1]
    assert filled["position_id"] is not None and filled["executed_quantity"] == 0.1
    detail = (await api.get(f"/api/v1/orders/{filled['id']}")).json()["order"]
    assert detail == filled

    positions = (await api.get("/api/v1/positions", session_id=session_id)).json()
    assert positions["count"] == 1
    [position] = positions["positions"]
    assert set(position) >= POSITION_FIELDS
    assert (position["id"], position["side"], position["quantity"]) == (
        filled["position_id"], "LONG", 0.1,
    )  # fmt: skip
    # Marked at the venue's last price (the local ticker's 42150.5): bought at 42151.5.
    assert position["unrealized_pnl"] == -0.1
    latest = (await api.get("/api/v1/positions/BTC/USDT")).json()["position"]
    assert latest == position
    cancelled = await api.delete(f"/api/v1/orders/{limit.json()['order']['id']}")
    assert cancelled.json()["message"] == "Order cancelled successfully"


async def test_filters_combine_with_and(api: SessionsApi) -> None:
    first = await api.start(initial_capital=1_000_000)
    second = await api.start(symbol="ETH/USDT", initial_capital=1_000_000)
    a = await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity="0.1")
    b = await api.order(symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="0.1", price="40000")
    c = await api.order(
        symbol="ETH/USDT", side="BUY", type="LIMIT", quantity="0.1", price="40000",
        session_id=second,
    )  # fmt: skip
    d = await api.order(
        symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="0.1", price="40000",
        session_id=second,
    )  # fmt: skip

    async def ids(**filters: Any) -> set[str]:
        response = await api.get("/api/v1/orders", **filters)
        assert response.status_code == 200, response.text
        return {o["id"] for o in response.json()["orders"]}

    assert await ids() == {a["id"], b["id"], c["id"], d["id"]}
    assert await ids(session_id=first) == {a["id"], b["id"]}
    assert await ids(symbol="BTC/USDT") == {a["id"], b["id"], d["id"]}
    assert await ids(status="NEW") == {b["id"], c["id"], d["id"]}
    assert await ids(session_id=second, symbol="BTC/USDT", status="NEW") == {d["id"]}
    assert await ids(session_id=first, status="FILLED") == {a["id"]}
    assert await ids(session_id=first, symbol="ETH/USDT") == set()
    assert await ids(limit=1) == {d["id"]}
    error(await api.get("/api/v1/orders", session_id="nope"), 400, field="session_id")
    error(await api.get("/api/v1/orders", status="DONE"), 400, field="status")
    assert await ids(session_id=first, user=None) == {a["id"], b["id"]}
    assert (await api.get("/api/v1/orders", api.bob)).json() == {"orders": [], "count": 0}


async def test_every_order_type_on_the_paper_venue(api: SessionsApi) -> None:
    await api.start(initial_capital=1_000_000)
    await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity="1")
    placed = {
        "MARKET": await api.order(symbol="BTC/USDT", side="SELL", type="MARKET", quantity="0.1"),
        "LIMIT": await api.order(
            symbol="BTC/USDT", side="SELL", type="LIMIT", quantity="0.1", price="45000",
            time_in_force="GTC",
        ),
        "STOP_LOSS": await api.order(
            symbol="BTC/USDT", side="SELL", type="STOP_LOSS", quantity="0.1", stop_price="40000"
        ),
        "STOP_LOSS_LIMIT": await api.order(
            symbol="BTC/USDT", side="SELL", type="STOP_LOSS_LIMIT", quantity="0.1",
            stop_price="40000", price="39900",
        ),
        "TAKE_PROFIT": await api.order(
            symbol="BTC/USDT", side="SELL", type="TAKE_PROFIT", quantity="0.1", stop_price="45000"
        ),
        "TAKE_PROFIT_LIMIT": await api.order(
            symbol="BTC/USDT", side="SELL", type="TAKE_PROFIT_LIMIT", quantity="0.1",
            stop_price="45000", price="45100",
        ),
        "IOC": await api.order(
            symbol="BTC/USDT", side="SELL", type="LIMIT", quantity="0.1", price="45000",
            time_in_force="ioc",
        ),
    }  # fmt: skip
    assert {kind: o["status"] for kind, o in placed.items()} == {
        "MARKET": "FILLED", "LIMIT": "NEW", "STOP_LOSS": "NEW", "STOP_LOSS_LIMIT": "NEW",
        "TAKE_PROFIT": "NEW", "TAKE_PROFIT_LIMIT": "NEW", "IOC": "EXPIRED",
    }  # fmt: skip
    assert placed["STOP_LOSS_LIMIT"]["stop_price"] == 40000
    assert placed["IOC"]["expired_at"] is not None
    [position] = (await api.get("/api/v1/positions")).json()["positions"]
    assert (position["stop_loss"], position["take_profit"]) == (40000, 45000)


async def test_bad_orders_are_400s_naming_the_field(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    await api.start()
    base = {"symbol": "BTC/USDT", "side": "BUY", "type": "LIMIT", "quantity": 1, "price": 40000}
    cases: list[tuple[dict[str, Any], str]] = [
        ({k: v for k, v in base.items() if k != "symbol"}, "symbol"),
        ({**base, "symbol": ""}, "symbol"),
        ({**base, "side": "HOLD"}, "side"),
        ({**base, "type": "ICEBERG"}, "type"),
        ({k: v for k, v in base.items() if k != "type"}, "type"),
        ({**base, "quantity": 0}, "quantity"),
        ({**base, "quantity": -1}, "quantity"),
        ({**base, "quantity": "1e999999"}, "quantity"),
        ({**base, "quantity": True}, "quantity"),
        ({k: v for k, v in base.items() if k != "price"}, "price"),
        ({**base, "type": "MARKET"}, "price"),
        ({**base, "type": "STOP_LOSS", "price": None}, "stop_price"),
        ({**base, "stop_price": 39000}, "stop_price"),
        ({**base, "time_in_force": "GTD"}, "time_in_force"),
        ({**base, "session_id": "not-a-uuid"}, "session_id"),
        ({**base, "leverage": 5}, "leverage"),
        ({**base, "price": "4e4.5"}, "price"),
    ]
    for body, field in cases:
        error(await api.post("/api/v1/orders", body), 400, field=field)
    error(await api.post("/api/v1/orders", [base]), 400)
    error(await api.get("/api/v1/orders/not-a-uuid"), 400, field="id")
    error(await api.delete("/api/v1/orders/not-a-uuid"), 400, field="id")
    error(await api.get("/api/v1/positions", session_id="x"), 400, field="session_id")
    assert await db.fetchval("SELECT count(*) FROM session_orders") == 0


async def test_another_users_order_and_positions_are_not_found(api: SessionsApi) -> None:
    bobs_session = await api.start(user=api.bob)
    order = await api.order(
        api.bob, symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="0.1", price="40000"
    )
    await api.order(api.bob, symbol="BTC/USDT", side="BUY", type="MARKET", quantity="0.1")
    for response in (
        await api.get(f"/api/v1/orders/{order['id']}"),
        await api.delete(f"/api/v1/orders/{order['id']}"),
    ):
        body = error(response, 404, "ORDER_NOT_FOUND")
        assert body["details"] == {"order_id": order["id"]}
    error(await api.get(f"/api/v1/orders/{uuid.uuid4()}"), 404, "ORDER_NOT_FOUND")
    assert (await api.get("/api/v1/positions")).json()["count"] == 0
    error(await api.get("/api/v1/positions", session_id=bobs_session), 404, "SESSION_NOT_FOUND")
    body = error(await api.get("/api/v1/positions/BTC/USDT"), 404, "POSITION_NOT_FOUND")
    assert body["details"] == {"symbol": "BTC/USDT"}
    still = (await api.get(f"/api/v1/orders/{order['id']}", api.bob)).json()["order"]
    assert still["status"] == "NEW"


async def test_pause_refuses_new_orders_and_keeps_resting_ones(api: SessionsApi) -> None:
    session_id = await api.start(initial_capital=10_000)
    resting = await api.order(
        symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="0.01", price="42000"
    )
    assert (await api.post("/api/v1/trade/pause", {"session_id": session_id})).status_code == 200
    for body in (
        {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": "0.01",
         "session_id": session_id},
    ):  # fmt: skip
        error(await api.post("/api/v1/orders", body), 400, "SESSION_PAUSED", "session_id")
    assert (await api.get("/api/v1/orders")).json()["count"] == 1
    # The resting order still works: a print through it fills it while paused.
    seen = api.fake.requests.count("/api/v3/aggTrades")
    await until(lambda: _more(api, seen + 1))
    api.fake.last_price = 41999.5
    api.fake.trade_id += 100
    filled = await api.wait_order(resting["id"], lambda o: o["status"] == "FILLED")
    assert filled["executed_quantity"] == 0.01
    assert (await api.post("/api/v1/trade/resume", {"session_id": session_id})).status_code == 200
    await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity="0.01")


async def _more(api: SessionsApi, count: int) -> bool:
    return api.fake.requests.count("/api/v3/aggTrades") > count


async def test_several_sessions_on_a_symbol_need_a_session_id(api: SessionsApi) -> None:
    await api.start()
    await api.start()
    body = {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    error(await api.post("/api/v1/orders", body), 400, "VALIDATION_ERROR", "session_id")


async def test_internal_orders_go_through_the_exchange_pipeline(
    api: SessionsApi, db: asyncpg.Connection, exchange_runtime: object
) -> None:
    """A LIVE session on `ordex` trades on ordex's own markets: its orders are exchange orders,
    their status and fills the exchange's."""
    for user, asset, amount in ((api.alice, "USDC", "100000"), (api.bob, "BTC", "2")):
        deposit = await api.http.post(
            "/deposits", json={"asset": asset, "amount": amount}, headers=user.headers
        )
        assert deposit.status_code == 200, deposit.text
    maker = await api.http.post(
        "/orders",
        json={"marketId": "BTC-USDC", "side": "SELL", "type": "LIMIT", "quantity": "1",
              "price": "65000"},
        headers=api.bob.headers,
    )  # fmt: skip
    assert maker.status_code == 202, maker.text
    await _drain(api)

    session_id = await api.start(
        exchange="ordex", symbol="BTC/USDC", mode="LIVE", initial_capital=100000
    )
    session = (await api.get(f"/api/v1/trade/sessions/{session_id}")).json()["session"]
    assert session["venue"] == "internal"
    taken = await api.order(
        symbol="BTC/USDC", side="BUY", type="LIMIT", quantity="0.4", price="65000"
    )
    assert (taken["status"], taken["venue"], taken["exchange"]) == ("NEW", "internal", "ordex")
    resting = await api.order(
        symbol="BTC/USDC", side="BUY", type="LIMIT", quantity="0.1", price="60000"
    )
    await _drain(api)
    done = await api.order_by_id(taken["id"])
    assert (done["status"], done["executed_quantity"], done["executed_quote_quantity"]) == (
        "FILLED", 0.4, 26000,
    )  # fmt: skip
    assert done["fees"] == 13  # the exchange's taker fee: 26000 * 0.0005
    exchange_order = await db.fetchrow(
        "SELECT venue, status FROM orders WHERE id = $1", int(done["exchange_order_id"])
    )
    assert exchange_order is not None and tuple(exchange_order) == ("SESSION", "FILLED")
    [position] = (await api.get("/api/v1/positions", session_id=session_id)).json()["positions"]
    assert (position["side"], position["quantity"], position["entry_price"]) == (
        "LONG", 0.4, 65000,
    )  # fmt: skip

    cancelled = await api.delete(f"/api/v1/orders/{resting['id']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order"]["status"] == "CANCELED"
    error(await api.delete(f"/api/v1/orders/{taken['id']}"), 400, "ORDER_NOT_CANCELLABLE")

    # Without a session on the symbol, an order goes to ordex's market as a manual order.
    stopped = await api.post("/api/v1/trade/stop", {"session_id": session_id})
    assert stopped.status_code == 200 and stopped.json()["total_trades"] == 0
    manual = await api.order(
        symbol="BTC_USDC", side="BUY", type="LIMIT", quantity="0.1", price="60000"
    )
    assert manual["session_id"] is None and manual["venue"] == "internal"
    unknown = await api.post(
        "/api/v1/orders", {"symbol": "DOGE/EUR", "side": "BUY", "type": "MARKET", "quantity": 1}
    )
    error(unknown, 400, "BAD_SYMBOL", "symbol")
    poor = await api.post(
        "/api/v1/orders",
        {"symbol": "BTC/USDC", "side": "BUY", "type": "LIMIT", "quantity": 10, "price": 65000},
    )
    error(poor, 400, "INSUFFICIENT_MARGIN")


async def _drain(api: SessionsApi) -> None:
    response = await api.http.post("/admin/drain", headers=api.alice.headers)
    assert response.status_code == 200 and response.json()["drained"], response.text
