"""`/api/widgets`: widgets of a dashboard, create, update, batch positions, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import (
    WORKSPACE_ERRORS,
    Data,
    Success,
    WidgetBatch,
    WidgetCreate,
    WidgetOut,
    WidgetUpdate,
)
from ordex.api.workspace_deps import ActorDep, parse_id
from ordex.services import workspace
from ordex.services.workspace import dashboard_not_found, widget_not_found

router = APIRouter(prefix="/api/widgets", tags=["widgets"], responses=WORKSPACE_ERRORS)


@router.get("/dashboard/{dashboardId}", response_model=Data[list[WidgetOut]])
async def list_widgets(dashboardId: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    dashboard_id = parse_id(dashboardId, dashboard_not_found)
    return {"success": True, "data": await workspace.list_widgets(conn, user.id, dashboard_id)}


@router.post("", status_code=201, response_model=Data[WidgetOut])
async def create_widget(body: WidgetCreate, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    fields["position"] = body.position.model_dump()
    return {"success": True, "data": await workspace.create_widget(conn, actor, fields)}


# Declared before /{id} so that "batch" is never taken for a widget id.
@router.put("/batch", response_model=Data[list[WidgetOut]])
async def update_positions(body: WidgetBatch, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    positions = [(item.id, item.position.changes()) for item in body.widgets]
    return {
        "success": True,
        "data": await workspace.update_widget_positions(conn, actor, positions),
    }


@router.put("/{id}", response_model=Data[WidgetOut])
async def update_widget(
    id: str, body: WidgetUpdate, actor: ActorDep, conn: DbConn
) -> dict[str, Any]:
    changes = body.changes()
    if body.position is not None:
        changes["position"] = body.position.changes()
    data = await workspace.update_widget(conn, actor, parse_id(id, widget_not_found), changes)
    return {"success": True, "data": data}


@router.delete("/{id}", response_model=Success)
async def delete_widget(id: str, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    await workspace.delete_widget(conn, actor, parse_id(id, widget_not_found))
    return {"success": True}
