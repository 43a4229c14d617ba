"""`/api/engine/*`: backtests of the user's flows, and the status of a live execution.

`POST /api/engine/backtest` runs a flow over closed candles (downloaded through ccxt and cached, or
ordex's own trades) and answers with the contract's metrics and daily equity curve; the backtest is
stored with its trades. `GET /api/engine/backtests[/{id}]` reads them back; another user's
backtest is not found. Exchange errors map as the market-data routes map them.

`GET /api/engine/status?executionId=` reads a live flow execution (a trading session with a flow):
the contract's `executionId, status, startedAt, currentTick, pnl, pnlPercent, openPositions,
totalTrades`, plus its flow, market, last candle and errors. Another user's is 404
EXECUTION_NOT_FOUND.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.routes.exchange import Registry
from ordex.api.routes.market_data import MarketData
from ordex.api.schemas_engine import (
    ENGINE_ERRORS,
    RUN_ERRORS,
    BacktestDetailOut,
    BacktestListOut,
    BacktestRequest,
    BacktestRunOut,
)
from ordex.api.workspace_deps import parse_id
from ordex.services import backtests, flow_performance
from ordex.services.backtests import BacktestSpec, backtest_not_found, flow_not_found

router = APIRouter(prefix="/api/engine", tags=["engine"], responses=ENGINE_ERRORS)


@router.post("/backtest", response_model=BacktestRunOut, responses=RUN_ERRORS)
async def run_backtest(
    body: BacktestRequest,
    user: CurrentUser,
    conn: DbConn,
    registry: Registry,
    market_data: MarketData,
) -> dict[str, Any]:
    """Run a flow over historical candles; the result is stored and returned."""
    spec = BacktestSpec(
        exchange=body.exchange,
        symbol=body.symbol,
        timeframe=body.timeframe,
        start=body.startDate,
        end=body.endDate,
        initial_capital=body.initialCapital,
        fee_bps=body.feeBps,
        slippage_bps=body.slippageBps,
    )
    flow_id = parse_id(body.flowId, flow_not_found)
    return await backtests.run_backtest(
        conn, market_data.exchanges, registry, user.id, flow_id, spec
    )


@router.get("/backtests", response_model=BacktestListOut)
async def list_backtests(
    user: CurrentUser,
    conn: DbConn,
    flowId: Annotated[
        str | None, Query(max_length=100, description="Only this flow's backtests")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many")] = 0,
) -> dict[str, Any]:
    """The caller's backtests, newest first, without their trades and equity curves."""
    flow_id: uuid.UUID | None = None
    if flowId is not None:
        try:
            flow_id = uuid.UUID(flowId)
        except ValueError:
            return {"backtests": [], "total": 0}  # an id that is not a UUID names no flow
    return await backtests.list_backtests(conn, user.id, flow_id, limit, offset)


@router.get("/backtests/{id}", response_model=BacktestDetailOut)
async def get_backtest(id: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """One of the caller's backtests with its equity curve, flow document and trades."""
    return await backtests.get_backtest(conn, user.id, parse_id(id, backtest_not_found))


@router.get("/status")
async def execution_status(
    user: CurrentUser,
    conn: DbConn,
    executionId: Annotated[str, Query(max_length=100, description="The execution's id")],
) -> dict[str, Any]:
    """The status and performance of a live flow execution."""
    execution_id = parse_id(executionId, lambda: flow_performance.execution_not_found(executionId))
    return await flow_performance.execution_status(conn, user.id, execution_id)
