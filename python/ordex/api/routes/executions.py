"""Live flow executions (capandex): `GET /api/flows/{flowId}/performance` (`from`, `to`: ISO 8601)
and `GET /api/dashboard/multi-flow`; `GET /api/engine/status` is in routes/engine.py.

An execution is a trading session with a flow (`POST /api/v1/trade/start` with `flow_id`). This
router also runs the flow worker (workers/flow_runner.py) for the app's lifetime where the exchange
workers run embedded (ORDEX_RUN_WORKERS; `ordex worker flows` otherwise). Another user's flow is
a 404 FLOW_NOT_FOUND, in the `/api` envelope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.routes.trade import app_venues
from ordex.api.schemas_engine import ENGINE_ERRORS
from ordex.api.workspace_deps import parse_id
from ordex.crypto import SecretBox
from ordex.services import flow_performance
from ordex.services.errors import ServiceError
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


def _range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and start > end:
        raise ServiceError(400, "INVALID_DATE_RANGE", "from must not be after to", field="from")


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
    """The flow's performance from the closed positions of its executions."""
    _range(start, end)
    flow_id = parse_id(flowId, lambda: flow_performance.flow_not_found(flowId))
    return await flow_performance.flow_performance(conn, user.id, flow_id, start, end)


@router.get("/api/dashboard/multi-flow")
async def multi_flow(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Every flow of the caller's with its running (else latest) execution, and the aggregate."""
    return await flow_performance.multi_flow(conn, user.id)
