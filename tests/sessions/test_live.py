"""The live venue: orders reach the local exchange-speaking server's private endpoints signed as
ccxt signs them (HMAC-SHA256 with the user's stored secret, checked by the server as Binance
does), and their fills come back: at once from the order's answer, later through the session
watcher's order and trade queries."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from decimal import Decimal

import asyncpg

from tests.marketdata.fake_binance import API_KEY, SECRET, SignedRequest
from tests.sessions.helpers import SessionsApi, dec, error, live_messages

RATE = Decimal("0.001")


async def _with_keys(api: SessionsApi) -> str:
    created = await api.post(
        "/api/accounts", {"exchange": "binance", "apiKey": API_KEY, "secret": SECRET}
    )
    assert created.status_code == 201, created.text
    return await api.start(mode="LIVE", initial_capital=5000)


def _signed(request: SignedRequest) -> bool:
    expected = hmac.new(SECRET.encode(), request.payload.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.signature)


def _sent(api: SessionsApi, method: str, path: str) -> list[SignedRequest]:
    return [r for r in api.fake.signed_requests if (r.method, r.path) == (method, path)]


async def test_a_market_order_is_signed_sent_and_filled(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    session_id = await _with_keys(api)
    session = (await api.get(f"/api/v1/trade/sessions/{session_id}")).json()["session"]
    assert (session["mode"], session["venue"], session["exchange"]) == ("LIVE", "live", "binance")

    order = await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity="1.6")
    [sent] = _sent(api, "POST", "/api/v3/order")
    assert _signed(sent)
    assert {k: sent.params[k] for k in ("symbol", "side", "type", "quantity")} == {
        "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1.6",
    }  # fmt: skip
    assert sent.params["newClientOrderId"] == order["id"]
    assert "timestamp" in sent.params

    levels = [(Decimal("42151.5"), Decimal("0.75")), (Decimal("42152.5"), Decimal("0.75")),
              (Decimal("42153.5"), Decimal("0.1"))]  # fmt: skip
    notional = sum((p * q for p, q in levels), Decimal(0))
    assert (order["status"], order["venue"]) == ("FILLED", "live")
    assert order["exchange_order_id"] == str(api.fake.next_order_id)
    assert dec(order["executed_quantity"]) == Decimal("1.6")
    assert dec(order["executed_quote_quantity"]) == notional
    assert dec(order["fees"]) == notional * RATE
    fills = await db.fetch(
        "SELECT exchange_trade_id, price, quantity, fee FROM session_fills"
        " WHERE session_order_id = $1 ORDER BY id",
        uuid.UUID(order["id"]),
    )
    assert [(f["exchange_trade_id"], f["price"], f["quantity"], f["fee"]) for f in fills] == [
        (str(t["id"]), dec(t["price"]), dec(t["qty"]), dec(t["commission"]))
        for t in api.fake.my_trades
    ]
    position = (await api.get("/api/v1/positions/BTC/USDT")).json()["position"]
    assert position["side"] == "LONG" and dec(position["quantity"]) == Decimal("1.6")
    assert dec(position["entry_price"]) == notional / Decimal("1.6")


async def test_a_resting_order_fills_later_and_is_cancelled_on_the_exchange(
    api: SessionsApi,
) -> None:
    await _with_keys(api)
    order = await api.order(
        symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="0.1", price="42000"
    )
    assert order["status"] == "NEW" and order["executed_quantity"] == 0
    [sent] = _sent(api, "POST", "/api/v3/order")
    assert (sent.params["type"], sent.params["price"], sent.params["timeInForce"]) == (
        "LIMIT", "42000", "GTC",
    )  # fmt: skip

    async with live_messages(api.redis_url, api.alice.id) as inbox:
        api.fake.fill_order(int(order["exchange_order_id"]), Decimal("0.04"), Decimal("42000"))
        partial = await api.wait_order(order["id"], lambda o: o["status"] == "PARTIALLY_FILLED")
        trade = await inbox.wait_for("trade")
        await inbox.wait_for("position_update")
    assert dec(partial["executed_quantity"]) == Decimal("0.04")
    assert trade["data"]["price"] == 42000 and trade["data"]["commission"] == 1.68
    assert all(_signed(r) for r in _sent(api, "GET", "/api/v3/order"))
    assert _sent(api, "GET", "/api/v3/myTrades")

    cancelled = await api.delete(f"/api/v1/orders/{order['id']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["order"]["status"] == "CANCELED"
    [cancel] = _sent(api, "DELETE", "/api/v3/order")
    assert _signed(cancel) and cancel.params["orderId"] == order["exchange_order_id"]
    assert api.fake.orders[int(order["exchange_order_id"])].status == "CANCELED"
    error(await api.delete(f"/api/v1/orders/{order['id']}"), 400, "ORDER_NOT_CANCELLABLE")


async def test_an_order_the_exchange_refuses_leaves_nothing(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    """The market (like Binance's BTCUSDT) has no STOP_LOSS market orders: ccxt refuses it from
    the market's order types before sending it."""
    await _with_keys(api)
    async with live_messages(api.redis_url, api.alice.id) as inbox:
        refused = await api.post(
            "/api/v1/orders",
            {"symbol": "BTC/USDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.1",
             "stop_price": "40000"},
        )  # fmt: skip
        error(refused, 400, "ORDER_REFUSED")
        message = await inbox.wait_for("error")
    assert message["data"]["severity"] == "high"
    assert await db.fetchval("SELECT count(*) FROM session_orders") == 0
    # A stop-limit is a type it has: it rests there until triggered.
    stop = await api.order(
        symbol="BTC/USDT", side="SELL", type="STOP_LOSS_LIMIT", quantity="0.1",
        stop_price="40000", price="39900",
    )  # fmt: skip
    assert stop["status"] == "NEW"
    [sent] = [r for r in _sent(api, "POST", "/api/v3/order") if r.params["type"] != "STOP_LOSS"]
    assert (sent.params["type"], sent.params["stopPrice"]) == ("STOP_LOSS_LIMIT", "40000")


async def test_an_order_whose_answer_is_lost_is_found_by_its_client_order_id(
    api: SessionsApi,
) -> None:
    """The exchange takes the order but its answer comes after ccxt gave up (2 s here): the
    order stays NEW with an error message, and the session watcher finds it by its client order
    id and records its fills."""
    await _with_keys(api)
    api.fake.new_order_answer_delay = 2.5
    lost = await api.post(
        "/api/v1/orders", {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": "1"}
    )
    error(lost, 408, "REQUEST_TIMEOUT")
    [order] = (await api.get("/api/v1/orders")).json()["orders"]
    assert (order["status"], order["exchange_order_id"]) == ("NEW", None)
    assert "did not confirm" in order["error_message"]
    found = await api.wait_order(order["id"], lambda o: o["status"] == "FILLED")
    assert found["exchange_order_id"] == str(api.fake.next_order_id)
    assert dec(found["executed_quantity"]) == 1
    assert len(api.fake.my_trades) == 2 and dec(found["fees"]) > 0
    [sent] = _sent(api, "POST", "/api/v3/order")
    assert sent.params["newClientOrderId"] == found["id"]
    asked = [r.params.get("origClientOrderId") for r in _sent(api, "GET", "/api/v3/order")]
    assert found["id"] in asked


async def test_an_order_the_exchange_never_got_is_rejected(api: SessionsApi) -> None:
    """No answer at all (the request never reached the exchange's matching): once the exchange
    says it has no such client order id, the order is REJECTED."""
    await _with_keys(api)
    api.fake.delay_seconds = 2.5
    lost = await api.post(
        "/api/v1/orders", {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": "1"}
    )
    error(lost, 408, "REQUEST_TIMEOUT")
    api.fake.delay_seconds = 0
    [order] = (await api.get("/api/v1/orders")).json()["orders"]
    rejected = await api.wait_order(order["id"], lambda o: o["status"] == "REJECTED")
    assert rejected["error_message"] == "binance never received the order"
    assert api.fake.orders == {}
