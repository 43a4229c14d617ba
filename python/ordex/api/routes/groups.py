"""`/api/groups`: instrument-linking groups (a color shared by widgets that follow one pair)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import (
    WORKSPACE_ERRORS,
    Data,
    GroupCreate,
    GroupOut,
    GroupUpdate,
    Success,
)
from ordex.api.workspace_deps import ActorDep, parse_id
from ordex.services import workspace
from ordex.services.errors import ServiceError

router = APIRouter(prefix="/api/groups", tags=["groups"], responses=WORKSPACE_ERRORS)


def _not_found() -> ServiceError:
    return ServiceError(404, "GROUP_NOT_FOUND", "Group not found")


@router.get("", response_model=Data[list[GroupOut]])
async def list_groups(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return {"success": True, "data": await workspace.list_groups(conn, user.id)}


@router.get("/{id}", response_model=Data[GroupOut])
async def get_group(id: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return {
        "success": True,
        "data": await workspace.get_group(conn, user.id, parse_id(id, _not_found)),
    }


@router.post("", status_code=201, response_model=Data[GroupOut])
async def create_group(body: GroupCreate, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    return {"success": True, "data": await workspace.create_group(conn, actor, body.model_dump())}


@router.put("/{id}", response_model=Data[GroupOut])
async def update_group(id: str, body: GroupUpdate, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    data = await workspace.update_group(conn, actor, parse_id(id, _not_found), body.changes())
    return {"success": True, "data": data}


@router.delete("/{id}", response_model=Success)
async def delete_group(id: str, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    await workspace.delete_group(conn, actor, parse_id(id, _not_found))
    return {"success": True}
