"""The execution routes' documented examples: engine status, flow performance, the multi-flow
dashboard; another user's execution or flow is a 404."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg

from ordex.workers.flow_runner import FlowRunner
from tests.executions.helpers import create_flow, start_execution, wait_caught_up
from tests.sessions.helpers import SessionsApi, error


async def test_status_performance_and_dashboard_of_a_running_execution(
    api: SessionsApi, db: asyncpg.Connection, runner: FlowRunner
) -> None:
    flow_id = await create_flow(api)
    idle_flow = await create_flow(api, name="Idle")
    session_id = await start_execution(api, flow_id)
    bars = await wait_caught_up(db, session_id)
    await runner.close()
    sid = uuid.UUID(session_id)
    trades = await db.fetch("SELECT pnl FROM flow_execution_trades WHERE session_id = $1", sid)
    assert len(trades) >= 2
    equity = await db.fetchval("SELECT equity FROM flow_executions WHERE session_id = $1", sid)

    response = await api.get("/api/engine/status", executionId=session_id)
    assert response.status_code == 200, response.text
    status = response.json()
    assert set(status) >= {
        "executionId", "status", "startedAt", "currentTick", "pnl", "pnlPercent",
        "openPositions", "totalTrades",
    }  # fmt: skip
    assert status["executionId"] == session_id and status["status"] == "running"
    assert status["startedAt"].endswith("Z") and status["currentTick"] == bars
    assert status["totalTrades"] == len(trades) and status["openPositions"] in (0, 1)
    assert Decimal(str(status["pnl"])) == round(equity - 100_000, 8)
    assert status["pnlPercent"] == round(status["pnl"] / 100_000 * 100, 8)
    assert status["flowId"] == flow_id and status["errorCount"] == 0

    error(await api.get("/api/engine/status", api.bob, executionId=session_id), 404,
          "EXECUTION_NOT_FOUND")  # fmt: skip
    error(
        await api.get("/api/engine/status", executionId="exec_abc123"), 404, "EXECUTION_NOT_FOUND"
    )
    error(await api.get("/api/engine/status"), 400)

    response = await api.get(f"/api/flows/{flow_id}/performance")
    assert response.status_code == 200, response.text
    perf = response.json()
    assert set(perf) >= {
        "totalTrades", "winRate", "pnl", "pnlPercent", "maxDrawdown", "maxDrawdownPercent",
        "sharpeRatio", "profitFactor", "equityCurve",
    }  # fmt: skip
    total = sum((t["pnl"] for t in trades), Decimal(0))
    assert perf["totalTrades"] == len(trades)
    assert Decimal(str(perf["pnl"])) == round(total, 8)
    assert perf["winRate"] == sum(1 for t in trades if t["pnl"] > 0) / len(trades)
    curve = perf["equityCurve"]
    assert curve[0]["equity"] == 100_000 and len(curve) == len(trades) + 1
    assert all(isinstance(p["timestamp"], int) for p in curve)
    assert Decimal(str(curve[-1]["equity"])) == round(100_000 + total, 8)
    assert perf["maxDrawdown"] >= 0 and 0 <= perf["maxDrawdownPercent"] <= 100

    # `to` before the first exit: nothing closed yet.
    early = await api.get(f"/api/flows/{flow_id}/performance", to="2000-01-01T00:00:00Z")
    assert early.status_code == 200 and early.json()["totalTrades"] == 0
    backwards = {"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}
    response = await api.http.get(
        f"/api/flows/{flow_id}/performance", params=backwards, headers=api.alice.headers
    )
    assert response.status_code == 200 and response.json()["totalTrades"] == 0
    error(await api.get(f"/api/flows/{flow_id}/performance", api.bob), 404, "FLOW_NOT_FOUND")
    error(await api.get("/api/flows/flow_abc/performance"), 404, "FLOW_NOT_FOUND")

    response = await api.get("/api/dashboard/multi-flow")
    assert response.status_code == 200, response.text
    board = response.json()
    rows = {r["id"]: r for r in board["flows"]}
    assert set(rows) == {flow_id, idle_flow}
    row = rows[flow_id]
    assert set(row) == {
        "id", "name", "status", "symbol", "exchange", "pnl", "pnlPct", "tradeCount", "winRate",
        "errorCount", "openPositions", "executionId",
    }  # fmt: skip
    assert (row["status"], row["executionId"], row["symbol"], row["exchange"]) == (
        "running", session_id, "BTC/USDT", "binance",
    )  # fmt: skip
    assert row["tradeCount"] == len(trades) and row["pnl"] == status["pnl"]
    assert rows[idle_flow]["executionId"] is None and rows[idle_flow]["tradeCount"] == 0
    assert board["aggregate"] == {
        "totalPnl": status["pnl"], "totalPnlPct": status["pnlPercent"],
        "totalTrades": len(trades), "runningFlows": 1, "errorFlows": 0,
        "totalOpenPositions": status["openPositions"],
    }  # fmt: skip

    bob_board = (await api.get("/api/dashboard/multi-flow", api.bob)).json()
    assert bob_board["flows"] == [] and bob_board["aggregate"]["runningFlows"] == 0

    # The session's runner agent carries the execution's heartbeat.
    agent = await api.get(f"/api/v1/agents/session-{session_id}")
    assert agent.status_code == 200, agent.text
    assert "5m" in agent.text and flow_id in agent.text

    # Stopped: the status says so.
    stopped = await api.post("/api/v1/trade/stop", {"session_id": session_id})
    assert stopped.status_code == 200, stopped.text
    after = (await api.get("/api/engine/status", executionId=session_id)).json()
    assert after["status"] == "stopped"


async def test_start_and_stop_from_the_flow(api: SessionsApi, db: asyncpg.Connection) -> None:
    """`POST /api/flows/{flowId}/executions` with no body runs the flow on its own settings
    (binance BTC/USDT, 100,000 of capital, PAPER); stop goes through the flow too."""
    flow_id = await create_flow(api)
    started = await api.post(f"/api/flows/{flow_id}/executions", {})
    assert started.status_code == 201, started.text
    body = started.json()
    assert (body["flowId"], body["status"], body["mode"], body["venue"]) == (
        flow_id, "running", "PAPER", "paper",
    )  # fmt: skip
    assert (body["symbol"], body["exchange"]) == ("BTC/USDT", "binance")
    execution_id = body["executionId"]
    row = await db.fetchrow(
        "SELECT flow_id, initial_capital, status FROM trading_sessions WHERE id = $1",
        uuid.UUID(execution_id),
    )
    assert row is not None and str(row["flow_id"]) == flow_id
    assert (row["initial_capital"], row["status"]) == (100_000, "RUNNING")

    # The body overrides the flow's settings; flow_id is the path's.
    other = await api.post(f"/api/flows/{flow_id}/executions", {"initial_capital": 500})
    assert other.status_code == 201, other.text
    error(await api.post(f"/api/flows/{flow_id}/executions", {"flow_id": flow_id}), 400,
          "VALIDATION_ERROR")  # fmt: skip
    error(await api.post(f"/api/flows/{flow_id}/executions", {}, api.bob), 404)
    error(await api.post(f"/api/flows/{uuid.uuid4()}/executions", {}), 404)

    idle = await create_flow(api, name="Idle")
    error(await api.post(f"/api/flows/{idle}/executions/{execution_id}/stop", {}), 404)
    error(await api.post(f"/api/flows/{flow_id}/executions/{execution_id}/stop", {}, api.bob),
          404)  # fmt: skip
    stopped = await api.post(f"/api/flows/{flow_id}/executions/{execution_id}/stop", {})
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["status"], stopped.json()["executionId"]) == ("stopped", execution_id)
    assert stopped.json()["message"] == "Trading stopped successfully"
    assert (
        await db.fetchval(
            "SELECT status FROM trading_sessions WHERE id = $1", uuid.UUID(execution_id)
        )
        == "STOPPED"
    )
