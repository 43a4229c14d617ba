"""Notifications written by what happens to sessions (start, fill, stop, a venue refusing an
order), listed, marked read and deleted per user, and silenced by the user's preferences."""

from __future__ import annotations

import dataclasses
import uuid

import httpx

from ordex.db import session_orders as orders_repo
from ordex.services import notifications as service
from tests.notifications.helpers import notifications, patch, store_key
from tests.sessions.helpers import SessionsApi, error, live_messages

NOTIFICATION_FIELDS = {
    "id", "type", "event", "title", "message", "data", "read_at", "action_url", "created_at",
}  # fmt: skip


async def _start_trade_stop(api: SessionsApi) -> str:
    session_id = await api.start(initial_capital=100_000)
    order = await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity="0.1")
    assert order["status"] == "FILLED"
    stopped = await api.post("/api/v1/trade/stop", {"session_id": session_id})
    assert stopped.status_code == 200, stopped.text
    return session_id


async def test_start_fill_and_stop_are_listed_newest_first(api: SessionsApi) -> None:
    session_id = await _start_trade_stop(api)
    body = await notifications(api)
    assert body["total"] == 3
    stop, trade, start = body["notifications"]
    assert all(set(n) == NOTIFICATION_FIELDS for n in body["notifications"])
    assert [(n["type"], n["event"]) for n in (stop, trade, start)] == [
        ("engine", "engine_stop"), ("trade", "trade_executed"), ("engine", "engine_start"),
    ]  # fmt: skip
    assert start["title"] == "Trading session started"
    assert start["data"]["session_id"] == session_id and start["data"]["venue"] == "paper"
    assert stop["title"] == "Trading session stopped" and "total_pnl" in stop["data"]
    # The contract's example: "BTC/USDT buy 0.1 filled at $42,150".
    assert trade["title"] == "Order Filled"
    assert trade["message"].startswith("BTC/USDT buy 0.1 filled at $42,15")
    assert trade["action_url"] == "/history"
    assert trade["data"]["quantity"] == 0.1 and trade["data"]["side"] == "BUY"
    assert trade["read_at"] is None and trade["created_at"].endswith("Z")

    trades = await notifications(api, type="trade")
    assert trades["total"] == 1 and trades["notifications"][0]["id"] == trade["id"]
    page = await notifications(api, limit=1, offset=1)
    assert page["total"] == 3 and [n["id"] for n in page["notifications"]] == [trade["id"]]
    assert (await notifications(api, type="system"))["total"] == 0
    error(await api.get("/api/notifications", limit=0), 400, field="limit")
    error(await api.get("/api/notifications", unreadOnly="yes"), 400, field="unreadOnly")


async def test_mark_one_mark_all_and_delete(api: SessionsApi) -> None:
    await _start_trade_stop(api)
    stop, trade, start = (await notifications(api))["notifications"]

    marked = await patch(api, f"/api/notifications/{trade['id']}")
    assert marked.status_code == 200 and marked.json() == {"success": True}
    unread = await notifications(api, unreadOnly="true")
    assert unread["total"] == 2 and {n["id"] for n in unread["notifications"]} == {
        stop["id"], start["id"],
    }  # fmt: skip
    [read] = [n for n in (await notifications(api))["notifications"] if n["id"] == trade["id"]]
    assert read["read_at"] is not None

    marked = await patch(api, "/api/notifications")
    assert marked.status_code == 200 and marked.json() == {"success": True}
    assert (await notifications(api, unreadOnly="true"))["total"] == 0
    assert (await notifications(api, unreadOnly="false"))["total"] == 3

    deleted = await api.delete(f"/api/notifications/{start['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"success": True}
    assert [n["id"] for n in (await notifications(api))["notifications"]] == [
        stop["id"], trade["id"],
    ]  # fmt: skip
    error(await api.delete(f"/api/notifications/{start['id']}"), 404, "NOTIFICATION_NOT_FOUND")
    error(await patch(api, f"/api/notifications/{start['id']}"), 404, "NOTIFICATION_NOT_FOUND")
    error(await api.delete("/api/notifications/not-an-id"), 404, "NOTIFICATION_NOT_FOUND")


async def test_another_users_notification_is_a_404(api: SessionsApi) -> None:
    await api.start(initial_capital=1000)
    [mine] = (await notifications(api))["notifications"]
    assert (await notifications(api, api.bob))["total"] == 0
    error(await patch(api, f"/api/notifications/{mine['id']}", api.bob), 404)
    error(await api.delete(f"/api/notifications/{mine['id']}", api.bob), 404)
    error(await patch(api, f"/api/notifications/{uuid.uuid4()}", api.bob), 404)
    # Bob marking all read touches only his own.
    assert (await patch(api, "/api/notifications", api.bob)).status_code == 200
    [still] = (await notifications(api, unreadOnly="true"))["notifications"]
    assert still["id"] == mine["id"]


async def test_preferences_default_replace_and_silence(api: SessionsApi) -> None:
    defaults = await api.get("/api/profile/preferences")
    assert defaults.status_code == 200
    assert defaults.json() == {
        "notification_preferences": {
            "engine_start": True, "engine_stop": True, "trade_executed": True,
            "engine_error": True,
        }
    }  # fmt: skip
    put = await api.http.put(
        "/api/profile/preferences",
        json={"notification_preferences": {"engine_start": False, "trade_executed": False}},
        headers=api.alice.headers,
    )
    assert put.status_code == 200 and put.json() == {"success": True}
    prefs = (await api.get("/api/profile/preferences")).json()["notification_preferences"]
    assert prefs == {
        "engine_start": False, "engine_stop": True, "trade_executed": False, "engine_error": True,
    }  # fmt: skip
    # Per user: Bob's are untouched.
    bobs = (await api.get("/api/profile/preferences", api.bob)).json()["notification_preferences"]
    assert all(bobs.values())

    await _start_trade_stop(api)
    [only] = (await notifications(api))["notifications"]
    assert only["event"] == "engine_stop"

    # Bob, with the defaults, hears about his session's start.
    await api.start(api.bob, initial_capital=1000)
    assert [n["event"] for n in (await notifications(api, api.bob))["notifications"]] == [
        "engine_start"
    ]


async def test_preferences_are_validated_whole(api: SessionsApi) -> None:
    async def put(body: object) -> httpx.Response:
        return await api.http.put("/api/profile/preferences", json=body, headers=api.alice.headers)

    error(await put({}), 400, field="notification_preferences")
    error(await put({"notification_preferences": []}), 400, field="notification_preferences")
    error(
        await put({"notification_preferences": {"engine_start": False, "nope": True}}),
        400,
        "VALIDATION_ERROR",
        "notification_preferences.nope",
    )
    error(
        await put({"notification_preferences": {"engine_stop": "no"}}),
        400,
        "VALIDATION_ERROR",
        "notification_preferences.engine_stop",
    )
    error(await put({"notification_preferences": {}, "extra": 1}), 400, field="extra")
    # Nothing of the refused bodies was kept.
    prefs = (await api.get("/api/profile/preferences")).json()["notification_preferences"]
    assert all(prefs.values())


async def test_a_venue_refusing_an_order_is_an_execution_error(api: SessionsApi) -> None:
    await store_key(api)
    await api.start(mode="LIVE", initial_capital=5000)
    async with live_messages(api.redis_url, api.alice.id) as inbox:
        refused = await api.post(
            "/api/v1/orders",
            {"symbol": "BTC/USDT", "side": "SELL", "type": "STOP_LOSS", "quantity": "0.1",
             "stop_price": "40000"},
        )  # fmt: skip
        error(refused, 400, "ORDER_REFUSED")
        pushed = await inbox.wait_for("notification", lambda d: d["event"] == "engine_error")
    errors = await notifications(api, type="engine")
    failure = next(n for n in errors["notifications"] if n["event"] == "engine_error")
    assert failure["title"] == "Order rejected"
    assert failure["message"].startswith("binance refused sell 0.1 BTC/USDT")
    assert failure["data"]["side"] == "SELL" and failure["data"]["venue"] == "live"
    assert pushed["data"] == failure


async def test_each_notification_is_published_to_the_users_live_channel(
    api: SessionsApi,
) -> None:
    async with live_messages(api.redis_url, api.alice.id) as inbox:
        await api.start(initial_capital=1000)
        message = await inbox.wait_for("notification")
    [listed] = (await notifications(api))["notifications"]
    assert message["data"] == listed and message["timestamp"].endswith("Z")


async def test_an_order_the_venue_rejects_later_is_an_execution_error(
    api: SessionsApi,
) -> None:
    """A paper stop the session can no longer afford, a live order the exchange never took:
    `session_messages.execution` reports the order REJECTED without fills."""
    await api.start(initial_capital=100_000)
    order = await api.order(
        symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="0.5", price="30000"
    )
    app = api.http._transport.app  # type: ignore[attr-defined]
    async with app.state.pool.acquire() as conn:
        row = await orders_repo.get_order(conn, None, uuid.UUID(order["id"]))
        assert row is not None
        rejected = dataclasses.replace(
            row, status="REJECTED", error_message="insufficient balance when triggered"
        )
        await service.order_changed(conn, app.state.redis, row, [])  # NEW, no fills: nothing
        await service.order_changed(conn, app.state.redis, rejected, [])
    [failure, _start] = (await notifications(api))["notifications"]
    assert (failure["type"], failure["event"], failure["title"]) == (
        "engine", "engine_error", "Order rejected",
    )  # fmt: skip
    assert failure["message"] == (
        "binance rejected buy 0.5 BTC/USDT: insufficient balance when triggered"
    )
    assert failure["data"]["order_id"] == order["id"] and failure["data"]["venue"] == "paper"
