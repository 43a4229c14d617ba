"""Live flow executions (capandex): `GET /api/flows/{flowId}/performance` (`from`, `to`: ISO 8601)
and `GET /api/dashboard/multi-flow`; `GET /api/engine/status` is in routes/engine.py.

An execution is a trading session with a flow (`POST /api/v1/trade/start` with `flow_id`, or from
the flow: `POST /api/flows/{flowId}/executions`, whose symbol, exchange and capital default to the
flow's settings, and `POST /api/flows/{flowId}/executions/{executionId}/stop`). This
router also runs the flow worker (workers/flow_runner.py) for the app's lifetime where the exchange
workers run embedded (ORDEX_RUN_WORKERS; `ordex worker flows` otherwise). Another user's flow is
a 404 FLOW_NOT_FOUND, in the `/api` envelope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.routes.trade import Context, app_venues, parse_start, stop_trading_answer
from ordex.api.schemas_engine import ENGINE_ERRORS
from ordex.api.schemas_trade import StartBody, exact_json
from ordex.api.workspace_deps import parse_id
from ordex.crypto import SecretBox
from ordex.services import flow_performance, flows, trading_sessions
from ordex.services.errors import ServiceError
from ordex.timestamps import iso_millis
from ordex.workers.flow_runner import FlowRunner


@asynccontextmanager
async def _flow_worker(app: FastAPI) -> AsyncIterator[None]:
    if not app.state.settings.ordex_run_workers:
        yield
        return
    box: SecretBox | None = getattr(app.state, "secret_box", None)
    if box is None:
        box = app.state.secret_box = SecretBox.from_settings(app.state.settings)
    watcher = getattr(app.state, "session_watcher", None)
    runner = FlowRunner(
        app.state.pool,
        app.state.redis,
        app_venues(app, box),
        lease_ms=app.state.settings.ordex_lease_ms,
        wake_watcher=(lambda: None) if watcher is None else watcher.wake,
    )
    app.state.flow_runner = runner
    runner.start()
    try:
        yield
    finally:
        await runner.close()


router = APIRouter(tags=["flow executions"], responses=ENGINE_ERRORS, lifespan=_flow_worker)


@router.get("/api/flows/{flowId}/performance")
async def flow_performance_route(
    flowId: str,
    user: CurrentUser,
    conn: DbConn,
    start: Annotated[
        datetime | None, Query(alias="from", description="ISO 8601: trades closed from then")
    ] = None,
    end: Annotated[
        datetime | None, Query(alias="to", description="ISO 8601: trades closed until then")
    ] = None,
) -> dict[str, Any]:
    """The flow's performance from the closed positions of its executions (`from` after `to`:
    an empty range, no trades)."""
    flow_id = parse_id(flowId, lambda: flow_performance.flow_not_found(flowId))
    return await flow_performance.flow_performance(conn, user.id, flow_id, start, end)


@router.get("/api/dashboard/multi-flow")
async def multi_flow(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Every flow of the caller's with its running (else latest) execution, and the aggregate."""
    return await flow_performance.multi_flow(conn, user.id)


# Start keys a flow's settings give a default for, and the names the settings use.
_FROM_SETTINGS = {"symbol": "symbol", "exchange": "exchange", "initial_capital": "initialCapital"}


def _execution_body_schema() -> dict[str, Any]:
    """The start body of the session routes, every field optional and without `flow_id`."""
    schema = StartBody.model_json_schema()
    schema["properties"].pop("flow_id", None)
    schema.pop("required", None)
    return {"requestBody": {"required": False, "content": {"application/json": {"schema": schema}}}}


@router.post(
    "/api/flows/{flowId}/executions", status_code=201, openapi_extra=_execution_body_schema()
)
async def start_execution(flowId: str, request: Request, ctx: Context) -> dict[str, Any]:
    """Run the flow live: a trading session driven by it (the body of `POST /api/v1/trade/start`
    without `flow_id`; `symbol`, `exchange` and `initial_capital` default to the flow's
    settings, `mode` to PAPER)."""
    flow_id = parse_id(flowId, lambda: flow_performance.flow_not_found(flowId))
    flow = await flows.get_flow(ctx.conn, ctx.user_id, flow_id)
    raw = await exact_json(request, required=False)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ServiceError(400, "VALIDATION_ERROR", "The body must be a JSON object")
    if "flow_id" in raw:
        raise ServiceError(
            400, "VALIDATION_ERROR", "flow_id is the flow of the path", field="flow_id"
        )
    settings = flow["settings"]
    body: dict[str, object] = {
        # The document's numbers come back from JSONB as floats; the start body takes decimals.
        key: Decimal(str(settings[name])) if isinstance(settings[name], float) else settings[name]
        for key, name in _FROM_SETTINGS.items()
        if settings.get(name) is not None and key not in raw
    }
    body.update(raw)
    body["flow_id"] = str(flow_id)
    session = await trading_sessions.start(ctx, parse_start(body))
    return {
        "executionId": str(session.id),
        "flowId": str(flow_id),
        "status": "running",
        "symbol": session.symbol,
        "mode": session.mode,
        "venue": session.venue,
        "exchange": session.exchange,
        "startedAt": iso_millis(session.started_at),
    }


@router.post("/api/flows/{flowId}/executions/{executionId}/stop")
async def stop_execution(flowId: str, executionId: str, ctx: Context) -> dict[str, Any]:
    """Stop one of the flow's executions (the session's working orders are cancelled and its
    statistics kept, as `POST /api/v1/trade/stop`)."""
    flow_id = parse_id(flowId, lambda: flow_performance.flow_not_found(flowId))
    session_id = parse_id(executionId, lambda: trading_sessions.session_not_found(executionId))
    session = await trading_sessions.get(ctx, session_id)
    if session.flow_id != flow_id:
        raise trading_sessions.session_not_found(executionId)
    session, stats = await trading_sessions.stop(ctx, session_id, None)
    return {"executionId": str(session.id), "flowId": str(flow_id), "status": "stopped"} | (
        stop_trading_answer(session, stats, None)
    )
