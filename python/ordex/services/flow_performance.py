"""What the API shows of live flow executions: `GET /api/engine/status?executionId=`,
`GET /api/flows/{flowId}/performance` and `GET /api/dashboard/multi-flow`.

Metrics follow docs/flows.md (one definition everywhere): `pnl` and `pnlPercent` of the initial
capital; `winRate` the fraction of closed trades with net PnL > 0; `maxDrawdown` and
`maxDrawdownPercent` on the equity curve (percent of the running peak); `sharpeRatio` from daily
(UTC) equity returns, mean / std (ddof 1) x sqrt(365), null with fewer than two returns or no
variation; `profitFactor` gross profit / gross loss, null without a loss. A flow's performance is
computed from the closed positions of its executions (the evaluator's trades, as a backtest's),
its equity curve stepping at each exit from the executions' summed initial capital.
"""

from __future__ import annotations

import itertools
import math
import statistics
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ordex.db import flow_executions as repo
from ordex.db import flows as flows_repo
from ordex.db.flow_executions import ExecutionRow, TradeRow
from ordex.db.types import Connection
from ordex.services.errors import ServiceError
from ordex.timestamps import iso_millis

DAY_MS = 86_400_000


def execution_not_found(execution_id: object) -> ServiceError:
    return ServiceError(
        404,
        "EXECUTION_NOT_FOUND",
        "execution not found",
        details={"executionId": str(execution_id)},
        field="executionId",
    )


def flow_not_found(flow_id: object) -> ServiceError:
    return ServiceError(404, "FLOW_NOT_FOUND", "flow not found", details={"flowId": str(flow_id)})


def _number(value: Decimal) -> float:
    return float(round(value, 8))


def _pnl(execution: ExecutionRow) -> Decimal:
    equity = execution.equity if execution.equity is not None else execution.initial_capital
    return equity - execution.initial_capital


def _percent(part: Decimal, whole: Decimal) -> float:
    return 0.0 if whole <= 0 else _number(part / whole * 100)


async def execution_status(
    conn: Connection, user_id: uuid.UUID, execution_id: uuid.UUID
) -> dict[str, Any]:
    execution = await repo.get_user_execution(conn, user_id, execution_id)
    if execution is None:
        raise execution_not_found(execution_id)
    pnl = _pnl(execution)
    return {
        "executionId": str(execution.session_id),
        "status": execution.status.lower(),
        "startedAt": iso_millis(execution.started_at),
        "currentTick": execution.bars,
        "pnl": _number(pnl),
        "pnlPercent": _percent(pnl, execution.initial_capital),
        "openPositions": execution.open_positions,
        "totalTrades": await repo.trade_count(conn, execution.session_id),
        "flowId": None if execution.flow_id is None else str(execution.flow_id),
        "exchange": execution.exchange,
        "symbol": execution.symbol,
        "venue": execution.venue,
        "timeframe": execution.timeframe,
        "lastCandleAt": execution.last_bar_ms,
        "errorCount": execution.error_count,
        "lastError": execution.last_error,
    }


def _sharpe(curve: list[tuple[int, Decimal]]) -> float | None:
    daily: dict[int, Decimal] = {}
    for ts, equity in curve:
        daily[ts // DAY_MS] = equity
    values = [float(v) for _, v in sorted(daily.items())]
    returns = [b / a - 1 for a, b in itertools.pairwise(values) if a > 0]
    if len(returns) < 2:
        return None
    std = statistics.stdev(returns)
    if std == 0:
        return None
    return statistics.fmean(returns) / std * math.sqrt(365)


def metrics(trades: list[TradeRow], capital: Decimal, start_ms: int | None) -> dict[str, Any]:
    """The contract's performance metrics of closed trades (by exit time) from `capital`."""
    pnl = sum((t.pnl for t in trades), Decimal(0))
    wins = [t for t in trades if t.pnl > 0]
    gross_profit = sum((t.pnl for t in wins), Decimal(0))
    gross_loss = -sum((t.pnl for t in trades if t.pnl < 0), Decimal(0))
    curve: list[tuple[int, Decimal]] = []
    if start_ms is not None:
        curve.append((start_ms, capital))
    equity = peak = capital
    max_dd = Decimal(0)
    max_dd_pct = 0.0
    for t in trades:
        equity += t.pnl
        curve.append((t.exit_ms, equity))
        peak = max(peak, equity)
        if peak - equity > max_dd:
            max_dd = peak - equity
        if peak > 0:
            max_dd_pct = max(max_dd_pct, float((peak - equity) / peak * 100))
    return {
        "totalTrades": len(trades),
        "winningTrades": len(wins),
        "losingTrades": sum(1 for t in trades if t.pnl <= 0),
        "winRate": (len(wins) / len(trades)) if trades else 0.0,
        "pnl": _number(pnl),
        "pnlPercent": _percent(pnl, capital),
        "maxDrawdown": _number(max_dd),
        "maxDrawdownPercent": round(max_dd_pct, 8),
        "sharpeRatio": _sharpe(curve),
        "profitFactor": None if gross_loss == 0 else float(gross_profit / gross_loss),
        "equityCurve": [{"timestamp": ts, "equity": _number(e)} for ts, e in curve],
    }


def _ms(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


async def flow_performance(
    conn: Connection,
    user_id: uuid.UUID,
    flow_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
) -> dict[str, Any]:
    flow = await flows_repo.get_flow(conn, user_id, flow_id)
    if flow is None:
        raise flow_not_found(flow_id)
    executions = await repo.flow_executions(conn, user_id, [flow_id])
    capital = sum((e.initial_capital for e in executions), Decimal(0))
    if capital == 0:
        capital = Decimal(str(flow.document.settings.get("initialCapital") or 0))
    from_ms, to_ms = _ms(start), _ms(end)
    trades = await repo.trades_of(conn, [e.session_id for e in executions], from_ms, to_ms)
    first = from_ms if from_ms is not None else (trades[0].entry_ms if trades else None)
    return {"flowId": str(flow_id), **metrics(trades, capital, first)}


async def multi_flow(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    flows = await flows_repo.list_flows(conn, user_id)
    executions = await repo.flow_executions(conn, user_id, [f.id for f in flows])
    current: dict[uuid.UUID, ExecutionRow] = {}
    for e in executions:  # newest first: a running one wins, else the newest
        assert e.flow_id is not None
        held = current.get(e.flow_id)
        if held is None or (held.status == "STOPPED" and e.status != "STOPPED"):
            current[e.flow_id] = e
    chosen = list(current.values())
    trades = await repo.trades_of(conn, [e.session_id for e in chosen], None, None)
    by_execution: dict[uuid.UUID, list[TradeRow]] = {}
    for t in trades:
        by_execution.setdefault(t.session_id, []).append(t)
    rows: list[dict[str, Any]] = []
    total_pnl = total_capital = Decimal(0)
    for flow in flows:
        found = current.get(flow.id)
        settings = flow.document.settings
        if found is None:
            rows.append({
                "id": str(flow.id), "name": flow.name, "status": flow.status,
                "symbol": settings.get("symbol"), "exchange": settings.get("exchange"),
                "pnl": 0.0, "pnlPct": 0.0, "tradeCount": 0, "winRate": 0.0, "errorCount": 0,
                "openPositions": 0, "executionId": None,
            })  # fmt: skip
            continue
        e = found
        closed = by_execution.get(e.session_id, [])
        pnl = _pnl(e)
        total_pnl += pnl
        total_capital += e.initial_capital
        rows.append({
            "id": str(flow.id), "name": flow.name,
            "status": "running" if e.status == "RUNNING" else e.status.lower(),
            "symbol": e.symbol, "exchange": e.exchange, "pnl": _number(pnl),
            "pnlPct": _percent(pnl, e.initial_capital), "tradeCount": len(closed),
            "winRate": (sum(1 for t in closed if t.pnl > 0) / len(closed)) if closed else 0.0,
            "errorCount": e.error_count, "openPositions": e.open_positions,
            "executionId": str(e.session_id),
        })  # fmt: skip
    running = [r for r in rows if r["status"] == "running"]
    return {
        "flows": rows,
        "aggregate": {
            "totalPnl": _number(total_pnl),
            "totalPnlPct": _percent(total_pnl, total_capital),
            "totalTrades": sum(r["tradeCount"] for r in rows),
            "runningFlows": len(running),
            "errorFlows": sum(1 for r in running if r["errorCount"] > 0),
            "totalOpenPositions": sum(r["openPositions"] for r in rows),
        },
    }
