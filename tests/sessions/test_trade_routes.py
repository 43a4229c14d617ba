"""`/api/v1/trade/*`: the documented examples, the session lifecycle, statistics from fills, and
bad input and other users' sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import asyncpg

from tests.sessions.helpers import SessionsApi, dec, error, live_messages


async def test_documented_start_pause_resume_stop(api: SessionsApi) -> None:
    async with live_messages(api.redis_url, api.alice.id) as inbox:
        started = await api.post(
            "/api/v1/trade/start",
            {"symbol": "BTC/USDT", "initial_capital": 10000.00, "mode": "PAPER"},
        )
        assert started.status_code == 200, started.text
        body = started.json()
        assert body["message"] == "Trading started successfully"
        assert (body["symbol"], body["mode"], body["venue"], body["exchange"]) == (
            "BTC/USDT", "PAPER", "paper", "binance",
        )  # fmt: skip
        session_id = body["session_id"]
        uuid.UUID(session_id)
        datetime.fromisoformat(body["started_at"])
        message = await inbox.wait_for("system_status")
        assert message["data"]["status"] == "trading_started"
        assert message["data"]["metadata"] == {
            "session_id": session_id, "symbol": "BTC/USDT", "mode": "PAPER", "venue": "paper",
            "exchange": "binance",
        }  # fmt: skip

        paused = await api.post("/api/v1/trade/pause", {"session_id": session_id})
        assert paused.status_code == 200, paused.text
        assert paused.json()["message"] == "Trading paused successfully"
        assert paused.json()["session_id"] == session_id
        assert paused.json()["symbol"] == "BTC/USDT" and paused.json()["note"]
        await inbox.wait_for("system_status", lambda d: d["status"] == "trading_paused")

        resumed = await api.post("/api/v1/trade/resume", {"session_id": session_id})
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["message"] == "Trading resumed successfully"
        assert resumed.json()["status"] == "RUNNING"

        stopped = await api.post(
            "/api/v1/trade/stop", {"session_id": session_id, "final_capital": 10500.00}
        )
        assert stopped.status_code == 200, stopped.text
        body = stopped.json()
        assert body["message"] == "Trading stopped successfully"
        assert body["session_id"] == session_id
        # No fills: nothing was made or lost, whatever the client reports.
        assert (body["final_capital"], body["total_pnl"], body["total_trades"]) == (10000, 0, 0)
        assert body["reported_final_capital"] == 10500
        datetime.fromisoformat(body["stopped_at"])
        await inbox.wait_for("system_status", lambda d: d["status"] == "trading_stopped")

    session = (await api.get(f"/api/v1/trade/sessions/{session_id}")).json()["session"]
    assert session["status"] == "STOPPED" and session["initial_capital"] == 10000
    listed = (await api.get("/api/v1/trade/sessions")).json()
    assert listed["count"] == 1 and listed["sessions"][0]["id"] == session_id


async def test_a_stopped_session_cannot_be_stopped_paused_or_resumed(api: SessionsApi) -> None:
    session_id = await api.start()
    resume = await api.post("/api/v1/trade/resume", {"session_id": session_id})
    error(resume, 400, "SESSION_NOT_PAUSED", "session_id")
    assert (await api.post("/api/v1/trade/stop", {"session_id": session_id})).status_code == 200
    for action in ("stop", "pause", "resume"):
        refused = await api.post(f"/api/v1/trade/{action}", {"session_id": session_id})
        error(refused, 400, "SESSION_STOPPED", "session_id")


async def test_statistics_come_from_the_sessions_fills(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    """Buy 1 at the book, the market rises 100, sell 1 at the book: one winning trade."""
    session_id = await api.start(initial_capital=100_000)
    bought = await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity="1")
    api.fake.last_price = 42250.5
    sold = await api.order(symbol="BTC/USDT", side="SELL", type="MARKET", quantity="1")
    # Bought 0.75 @ 42151.5 + 0.25 @ 42152.5; sold 0.5 @ 42249.5 + 0.5 @ 42248.5.
    cost = Decimal("0.75") * Decimal("42151.5") + Decimal("0.25") * Decimal("42152.5")
    proceeds = Decimal("0.5") * Decimal("42249.5") + Decimal("0.5") * Decimal("42248.5")
    fees = (cost + proceeds) * Decimal("0.001")
    assert dec(bought["executed_quote_quantity"]) == cost
    assert dec(sold["executed_quote_quantity"]) == proceeds

    stopped = (
        await api.post("/api/v1/trade/stop", {"session_id": session_id, "final_capital": 1})
    ).json()
    pnl = proceeds - cost - fees
    assert dec(stopped["total_pnl"]) == pnl
    assert dec(stopped["final_capital"]) == 100_000 + pnl
    assert (stopped["total_trades"], stopped["winning_trades"], stopped["losing_trades"]) == (
        1, 1, 0,
    )  # fmt: skip
    # Equity dipped by the entry's fee and spread before the exit.
    assert stopped["max_drawdown"] > 0
    kept = await db.fetchrow(
        "SELECT total_pnl, final_capital, reported_final_capital FROM trading_sessions"
        " WHERE id = $1",
        uuid.UUID(session_id),
    )
    assert kept is not None
    assert (kept["total_pnl"], kept["reported_final_capital"]) == (pnl, 1)
    balances = dict(
        await db.fetch(
            "SELECT asset, total FROM session_balances WHERE session_id = $1",
            uuid.UUID(session_id),
        )
    )
    assert balances == {"USDT": 100_000 + pnl, "BTC": 0}


async def test_another_users_session_is_not_found(api: SessionsApi) -> None:
    session_id = await api.start(user=api.bob)
    for action in ("stop", "pause", "resume"):
        refused = await api.post(f"/api/v1/trade/{action}", {"session_id": session_id})
        body = error(refused, 404, "SESSION_NOT_FOUND")
        assert body["details"] == {"session_id": session_id}
    error(await api.get(f"/api/v1/trade/sessions/{session_id}"), 404, "SESSION_NOT_FOUND")
    assert (await api.get("/api/v1/trade/sessions")).json()["count"] == 0
    order = await api.post(
        "/api/v1/orders",
        {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": 1,
         "session_id": session_id},
    )  # fmt: skip
    error(order, 404, "SESSION_NOT_FOUND")
    still = (await api.get(f"/api/v1/trade/sessions/{session_id}", api.bob)).json()
    assert still["session"]["status"] == "RUNNING"


async def test_bad_input_is_a_400_naming_the_field(api: SessionsApi) -> None:
    start = "/api/v1/trade/start"
    cases = [
        (start, {"initial_capital": 10000}, "symbol"),
        (start, {"symbol": "BTC/USDT"}, "initial_capital"),
        (start, {"symbol": "BTC/USDT", "initial_capital": 0}, "initial_capital"),
        (start, {"symbol": "BTC/USDT", "initial_capital": -5}, "initial_capital"),
        (start, {"symbol": "BTC/USDT", "initial_capital": "lots"}, "initial_capital"),
        (start, {"symbol": "BTC/USDT", "initial_capital": 1, "mode": "DEMO"}, "mode"),
        (start, {"symbol": "BTC/USDT", "initial_capital": 1, "venue": "moon"}, "venue"),
        (start, {"symbol": "BTC/USDT", "initial_capital": 1, "venue": "live"}, "venue"),
        (start, {"symbol": "BTC/USDT", "initial_capital": 1, "mode": "LIVE", "venue": "paper"},
         "venue"),
        (start, {"symbol": "DOGE/EUR", "initial_capital": 1}, "symbol"),
        (start, {"symbol": "BTC/USDT", "initial_capital": 1, "colour": "red"}, "colour"),
        (start, {"symbol": "BTC/USDT", "initial_capital": 1, "flow_id": "nope"}, "flow_id"),
        ("/api/v1/trade/stop", {}, "session_id"),
        ("/api/v1/trade/stop", {"session_id": "not-a-uuid"}, "session_id"),
        ("/api/v1/trade/stop", {"session_id": str(uuid.uuid4()), "final_capital": -1},
         "final_capital"),
        ("/api/v1/trade/pause", {"session_id": 42}, "session_id"),
        ("/api/v1/trade/resume", {}, "session_id"),
    ]  # fmt: skip
    for path, body, field in cases:
        error(await api.post(path, body), 400, field=field)
    not_json = await api.http.post(
        start,
        content=b"{not json",
        headers={**api.alice.headers, "content-type": "application/json"},
    )
    error(not_json, 400, "INVALID_JSON")
    error(await api.post(start, [1, 2]), 400)
    error(await api.get("/api/v1/trade/sessions/not-a-uuid"), 400, field="session_id")
    # Nothing was started by any of them.
    assert (await api.get("/api/v1/trade/sessions")).json()["count"] == 0


async def test_live_without_stored_keys_is_refused(api: SessionsApi) -> None:
    refused = await api.post(
        "/api/v1/trade/start", {"symbol": "BTC/USDT", "initial_capital": 1000, "mode": "live"}
    )
    error(refused, 400, "NO_API_KEYS")
    assert (await api.get("/api/v1/trade/sessions")).json()["count"] == 0


async def test_a_sessions_runner_is_an_agent_while_it_runs(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    started = await api.post(
        "/api/v1/trade/start", {"symbol": "BTC/USDT", "initial_capital": 1000, "mode": "PAPER"}
    )
    session_id = started.json()["session_id"]
    name = f"session-{session_id}"
    agent = await api.get(f"/api/v1/agents/{name}")
    assert agent.status_code == 200, agent.text
    body = agent.json()["agent"]
    assert body["name"] == name and body["status"] == "active"
    assert body["metadata"]["session_id"] == session_id

    # An hour without a heartbeat of its own: the sweep keeps a running session's runner alive.
    await db.execute(
        "UPDATE agents SET last_seen_at = now() - interval '1 hour' WHERE name = $1", name
    )
    from ordex.db import agents as agents_repo

    assert await agents_repo.refresh_runners(db) >= 1
    seen = await db.fetchval("SELECT now() - last_seen_at FROM agents WHERE name = $1", name)
    assert seen.total_seconds() < 60

    await api.post("/api/v1/trade/stop", {"session_id": session_id})
    assert (await api.get(f"/api/v1/agents/{name}")).json()["agent"]["status"] == "inactive"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM agents WHERE name = $1 AND last_seen_at > now() - interval '1 minute'"
            " AND status = 'active'",
            name,
        )
        == 0
    )
