"""`/api/dashboards`: list, read with widgets, create, update, delete (widgets go with it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import (
    WORKSPACE_ERRORS,
    DashboardCreate,
    DashboardOut,
    DashboardUpdate,
    DashboardWithWidgetsOut,
    Data,
    Success,
)
from ordex.api.workspace_deps import ActorDep, parse_id
from ordex.services import workspace
from ordex.services.workspace import dashboard_not_found

router = APIRouter(prefix="/api/dashboards", tags=["dashboards"], responses=WORKSPACE_ERRORS)


@router.get("", response_model=Data[list[DashboardOut]])
async def list_dashboards(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return {"success": True, "data": await workspace.list_dashboards(conn, user.id)}


@router.get("/{id}", response_model=Data[DashboardWithWidgetsOut])
async def get_dashboard(id: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    dashboard_id = parse_id(id, dashboard_not_found)
    return {"success": True, "data": await workspace.get_dashboard(conn, user.id, dashboard_id)}


@router.post("", status_code=201, response_model=Data[DashboardOut])
async def create_dashboard(body: DashboardCreate, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    data = await workspace.create_dashboard(conn, actor, body.model_dump())
    return {"success": True, "data": data}


@router.put("/{id}", response_model=Data[DashboardOut])
async def update_dashboard(
    id: str, body: DashboardUpdate, actor: ActorDep, conn: DbConn
) -> dict[str, Any]:
    dashboard_id = parse_id(id, dashboard_not_found)
    data = await workspace.update_dashboard(conn, actor, dashboard_id, body.changes())
    return {"success": True, "data": data}


@router.delete("/{id}", response_model=Success)
async def delete_dashboard(id: str, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    await workspace.delete_dashboard(conn, actor, parse_id(id, dashboard_not_found))
    return {"success": True}
