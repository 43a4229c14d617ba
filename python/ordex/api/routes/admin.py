"""`/api/admin/users`: list users and approve, promote, demote or disable them (ADMIN only)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from ordex.api.deps import AdminPrincipal, DbConn
from ordex.api.schemas import (
    API_ERRORS,
    AdminUserPatch,
    ApiErrorOut,
    UserEnvelope,
    UserList,
    user_json,
)
from ordex.services import users as users_service
from ordex.services.errors import ServiceError

router = APIRouter(prefix="/api/admin", tags=["admin"], responses=API_ERRORS)


@router.get("/users", response_model=UserList)
async def list_users(_: AdminPrincipal, conn: DbConn) -> dict[str, Any]:
    users = await users_service.list_users(conn)
    return {"users": [user_json(u) for u in users]}


@router.patch(
    "/users/{userId}",
    response_model=UserEnvelope,
    responses={409: {"model": ApiErrorOut, "description": "LAST_ADMIN: the last admin stays one"}},
)
async def update_user(
    userId: str,  # the contract's path parameter name
    body: AdminUserPatch,
    _: AdminPrincipal,
    conn: DbConn,
) -> dict[str, Any]:
    try:
        user_id = uuid.UUID(userId)
    except ValueError:
        raise ServiceError(404, "USER_NOT_FOUND", "User not found") from None
    user = await users_service.update_user(
        conn, user_id, role=body.role, status=body.status, name=body.name
    )
    return {"user": user_json(user)}
