"""`/api/user/token`: the caller's personal API token (hc_live_...), shown once, revocable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas import API_ERRORS, ApiErrorOut, ApiToken, ApiTokenStatus, Message
from ordex.services import tokens as tokens_service
from ordex.timestamps import iso_millis

router = APIRouter(prefix="/api/user", tags=["api tokens"], responses=API_ERRORS)


@router.get("/token", response_model=ApiTokenStatus, response_model_exclude_none=True)
async def token_status(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    created_at = await tokens_service.token_created_at(conn, user.id)
    if created_at is None:
        return {"exists": False}
    return {"exists": True, "createdAt": iso_millis(created_at)}


@router.post("/token", status_code=201, response_model=ApiToken)
async def create_token(user: CurrentUser, conn: DbConn) -> dict[str, str]:
    return {"token": await tokens_service.issue_token(conn, user.id)}


@router.delete(
    "/token",
    response_model=Message,
    responses={404: {"model": ApiErrorOut, "description": "TOKEN_NOT_FOUND: none to revoke"}},
)
async def revoke_token(user: CurrentUser, conn: DbConn) -> dict[str, str]:
    await tokens_service.revoke_token(conn, user.id)
    return {"message": "Token revoked"}
