"""`/api/providers`: the user's data providers, listed by priority (lowest number first)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import (
    WORKSPACE_ERRORS,
    Data,
    ProviderCreate,
    ProviderOut,
    ProviderUpdate,
    Success,
)
from ordex.api.workspace_deps import ActorDep, parse_id
from ordex.services import providers
from ordex.services.providers import provider_not_found

router = APIRouter(prefix="/api/providers", tags=["data providers"], responses=WORKSPACE_ERRORS)


@router.get("", response_model=Data[list[ProviderOut]])
async def list_providers(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return {"success": True, "data": await providers.list_providers(conn, user.id)}


@router.post("", status_code=201, response_model=Data[ProviderOut])
async def create_provider(body: ProviderCreate, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    return {
        "success": True,
        "data": await providers.create_provider(conn, actor, body.model_dump()),
    }


@router.put("/{id}", response_model=Data[ProviderOut])
async def update_provider(
    id: str, body: ProviderUpdate, actor: ActorDep, conn: DbConn
) -> dict[str, Any]:
    data = await providers.update_provider(
        conn, actor, parse_id(id, provider_not_found), body.changes()
    )
    return {"success": True, "data": data}


@router.delete("/{id}", response_model=Success)
async def delete_provider(id: str, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    await providers.delete_provider(conn, actor, parse_id(id, provider_not_found))
    return {"success": True}
