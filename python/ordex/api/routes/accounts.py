"""`/api/accounts`: exchange accounts. Credentials go in sealed and never come back out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import (
    WORKSPACE_ERRORS,
    AccountCreate,
    AccountOut,
    AccountUpdate,
    Data,
    Success,
)
from ordex.api.workspace_deps import ActorDep, SecretBoxDep, parse_id
from ordex.services import exchange_accounts
from ordex.services.exchange_accounts import account_not_found
from ordex.services.workspace_views import account_json

router = APIRouter(prefix="/api/accounts", tags=["exchange accounts"], responses=WORKSPACE_ERRORS)


@router.get("", response_model=Data[list[AccountOut]])
async def list_accounts(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    rows = await exchange_accounts.list_accounts(conn, user.id)
    return {"success": True, "data": [account_json(r) for r in rows]}


@router.post("", status_code=201, response_model=Data[AccountOut])
async def create_account(
    body: AccountCreate, actor: ActorDep, box: SecretBoxDep, conn: DbConn
) -> dict[str, Any]:
    row = await exchange_accounts.create_account(
        conn,
        actor,
        box,
        exchange=body.exchange,
        api_key=body.apiKey,
        secret=body.secret,
        passphrase=body.password,
        label=body.label,
        uid=body.uid,
    )
    return {"success": True, "data": account_json(row)}


@router.put("/{id}", response_model=Data[AccountOut])
async def update_account(
    id: str, body: AccountUpdate, actor: ActorDep, box: SecretBoxDep, conn: DbConn
) -> dict[str, Any]:
    changes = body.changes()
    changes.pop("isEncrypted", None)
    if "password" in changes:
        changes["passphrase"] = changes.pop("password")
    row = await exchange_accounts.update_account(
        conn, actor, box, parse_id(id, account_not_found), changes
    )
    return {"success": True, "data": account_json(row)}


@router.delete("/{id}", response_model=Success)
async def delete_account(id: str, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    await exchange_accounts.delete_account(conn, actor, parse_id(id, account_not_found))
    return {"success": True}
