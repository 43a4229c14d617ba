"""`/api/exchange-keys`: the exchange-key view of the exchange accounts table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import (
    WORKSPACE_ERRORS,
    ExchangeKeyCreate,
    ExchangeKeyCreated,
    ExchangeKeyDelete,
    ExchangeKeyDeleted,
    ExchangeKeyList,
)
from ordex.api.workspace_deps import ActorDep, SecretBoxDep, parse_id
from ordex.services import exchange_accounts
from ordex.services.errors import ServiceError
from ordex.services.workspace_views import exchange_key_json

router = APIRouter(prefix="/api/exchange-keys", tags=["exchange keys"], responses=WORKSPACE_ERRORS)


def _not_found() -> ServiceError:
    return ServiceError(404, "KEY_NOT_FOUND", "Exchange key not found", field="id")


@router.get("", response_model=ExchangeKeyList)
async def list_keys(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    rows = await exchange_accounts.list_accounts(conn, user.id)
    return {"keys": [exchange_key_json(r) for r in rows]}


@router.post("", status_code=201, response_model=ExchangeKeyCreated)
async def create_key(
    body: ExchangeKeyCreate, actor: ActorDep, box: SecretBoxDep, conn: DbConn
) -> dict[str, Any]:
    row = await exchange_accounts.create_account(
        conn,
        actor,
        box,
        exchange=body.exchange,
        api_key=body.apiKey,
        secret=body.secret,
        passphrase=body.passphrase,
        label=body.label,
    )
    created = exchange_key_json(row)
    return {name: created[name] for name in ("id", "exchange", "label", "createdAt")}


@router.delete("", response_model=ExchangeKeyDeleted)
async def delete_key(body: ExchangeKeyDelete, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    try:
        await exchange_accounts.delete_account(conn, actor, parse_id(body.id, _not_found))
    except ServiceError as exc:
        if exc.code == "ACCOUNT_NOT_FOUND":
            raise _not_found() from None
        raise
    return {"deleted": True}
