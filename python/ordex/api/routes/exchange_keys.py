"""`/api/exchange-keys`: the exchange-key view of the exchange accounts table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.routes.market_data import MarketData
from ordex.api.schemas_notifications import EXCHANGE_ERRORS, ExchangeKeyValidate, KeyValidation
from ordex.api.schemas_workspace import (
    WORKSPACE_ERRORS,
    ExchangeKeyCreate,
    ExchangeKeyCreated,
    ExchangeKeyDelete,
    ExchangeKeyDeleted,
    ExchangeKeyList,
)
from ordex.api.workspace_deps import ActorDep, SecretBoxDep, parse_id
from ordex.services import exchange_accounts, exchange_balances
from ordex.services.errors import ServiceError
from ordex.services.exchange_accounts import Credentials
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


@router.post("/validate", response_model=KeyValidation, responses=EXCHANGE_ERRORS)
async def validate_key(
    body: ExchangeKeyValidate, user: CurrentUser, market_data: MarketData
) -> dict[str, Any]:
    """Tries the credentials on the exchange (balance, and the key's permissions where the
    exchange reports them) without saving them. A refused key is `valid: false` (200); an
    exchange that cannot be reached is a 503."""
    credentials = Credentials(api_key=body.apiKey, secret=body.secret, passphrase=body.passphrase)
    return await exchange_balances.validate_key(market_data.exchanges, body.exchange, credentials)
