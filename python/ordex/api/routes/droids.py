"""`/api/droids`: Uniswap v3 liquidity droids (trading-app contract, "Droids"; design/defi.md).

- `GET /api/droids` -> `{droids: [...]}` (the caller's); `POST /api/droids` -> 201 `{id}`. Only
  `poolId`, `fundingUSD`, `minPrice` and `maxPrice` are required; the other fields default to the
  contract's example values (EMA, 10 tick spacings, offset 0, LINEAR, 5 bots, triggers 0.03 / 0.05,
  50 gwei, priority 1, slope 0.01, margin 0.02, no gas budget). `accountId` defaults to the
  caller's first wallet on the pool's chain, then a shared one; `active` may be 0 (default) or 1.
- `GET /api/droids/{id}` -> `{droid, sessions (newest first), bots (active by rung, then closed)}`.
- `PATCH /api/droids/{id}/active` `{active}` -> `{id, active}`: 0 and 1 for an OPERATOR, 2 (reset)
  and 3 (close all and stop) for an ADMIN only (403 otherwise).
- `PATCH /api/droids/{id}/config` -> `{id, ...every configuration field}` after the change; the
  fields given are checked together with the ones kept (`minPrice` below `maxPrice`, triggers in
  (0, 1), `maxBots` >= 1, `tickBuckets` >= 1, `bucketOffset` >= 0, enums): a 400 names the field.
- `GET /api/droids/{id}/history?limit=100&before=` -> `{history, nextBefore}`, newest first;
  `nextBefore` is the `before` of the next, older page (null on the last one).
- `GET/POST /api/droids/accounts`, `DELETE /api/droids/accounts/{id}`: wallets (a private key,
  sealed at rest, or a dev chain account by index); shared ones are listed for everyone.
- `GET/POST /api/droids/pools`, `DELETE /api/droids/pools/{id}` (ADMIN): pools read from the chain.

Another user's droid or wallet is a 404. Pools and accounts need the node at `ETH_RPC_URL` (503
without one). On the embedded dev chain, its pools and a funded wallet are registered at start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import Response

from ordex.api.deps import CurrentPrincipal, DbConn
from ordex.api.schemas_droids import (
    DROID_ERRORS,
    INT64_MAX,
    AccountBody,
    AccountList,
    AccountOut,
    ActiveBody,
    ActiveOut,
    CreatedId,
    DroidConfigOut,
    DroidConfigPatch,
    DroidCreateBody,
    DroidDetail,
    DroidList,
    HistoryPage,
    PoolBody,
    PoolList,
    PoolOut,
    bot_json,
    config_json,
    droid_json,
    hedge_json,
    history_json,
    json_response,
    pool_json,
    session_json,
)
from ordex.api.schemas_notifications import Success
from ordex.api.workspace_deps import SecretBoxDep
from ordex.crypto import SecretBox
from ordex.logging import get_logger
from ordex.services import droid_accounts, droids
from ordex.services.droids import HISTORY_MAX_LIMIT, columns_of

log = get_logger(__name__)

DEVCHAIN_REGISTRATION_SECONDS = 30.0


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    url = app.state.settings.eth_rpc_url
    if url:
        # The dev chain's pools and funded wallet, so a fresh install can run a droid at once.
        # Another node is left alone; a failure here must not keep the API from starting.
        try:
            await asyncio.wait_for(
                droids.register_devchain(app.state.pool, _box(app), url),
                DEVCHAIN_REGISTRATION_SECONDS,
            )
        except Exception as exc:  # logged: the routes work without it
            log.warning("dev chain droid registration failed", error=str(exc))
    yield


def _box(app: FastAPI) -> SecretBox:
    """The app's box, as `get_secret_box` builds it for requests."""
    box: SecretBox | None = getattr(app.state, "secret_box", None)
    if box is None:
        box = app.state.secret_box = SecretBox.from_settings(app.state.settings)
    return box


router = APIRouter(
    prefix="/api/droids", tags=["droids"], responses=DROID_ERRORS, lifespan=_lifespan
)

DroidId = Annotated[int, Path(ge=1, le=INT64_MAX, description="droid id")]
ItemId = Annotated[int, Path(ge=1, le=INT64_MAX)]


def _rpc_url(request: Request) -> str | None:
    url: str | None = request.app.state.settings.eth_rpc_url
    return url or None


# --- accounts and pools (before /{id}, which would match their paths) -----------------------


@router.get("/accounts", response_model=AccountList, summary="Wallet accounts droids trade from")
async def list_accounts(principal: CurrentPrincipal, conn: DbConn) -> dict[str, Any]:
    return await droid_accounts.list_wallets(conn, principal.user.id)


@router.post(
    "/accounts", status_code=201, response_model=AccountOut, summary="Add a wallet account"
)
async def create_account(
    body: AccountBody,
    request: Request,
    principal: CurrentPrincipal,
    conn: DbConn,
    box: SecretBoxDep,
) -> dict[str, Any]:
    return await droid_accounts.create_wallet(
        conn,
        box,
        principal.user.id,
        _rpc_url(request),
        label=body.label,
        private_key=body.privateKey,
        devchain_index=body.devchainIndex,
    )


@router.delete("/accounts/{id}", response_model=Success, summary="Remove a wallet account")
async def delete_account(id: ItemId, principal: CurrentPrincipal, conn: DbConn) -> dict[str, Any]:
    await droid_accounts.delete_wallet(conn, principal.user.id, principal.user.role, id)
    return {"success": True}


@router.get("/pools", response_model=PoolList, summary="Uniswap v3 pools droids can trade in")
async def list_pools(conn: DbConn) -> Response:
    return json_response({"pools": [pool_json(p) for p in await droids.list_pools(conn)]})


@router.post(
    "/pools", status_code=201, response_model=PoolOut, summary="Add a pool (read from the chain)"
)
async def create_pool(
    body: PoolBody, request: Request, principal: CurrentPrincipal, conn: DbConn
) -> Response:
    row = await droids.create_pool(
        conn,
        principal.user.id,
        _rpc_url(request),
        pool_address=body.poolAddress,
        quote_token=body.quoteToken,
    )
    return json_response(pool_json(row), 201)


@router.delete("/pools/{id}", response_model=Success, summary="Remove a pool (ADMIN)")
async def delete_pool(id: ItemId, principal: CurrentPrincipal, conn: DbConn) -> dict[str, Any]:
    await droids.delete_pool(conn, principal.user.role, id)
    return {"success": True}


# --- droids ----------------------------------------------------------------------------------


@router.get("", response_model=DroidList, summary="The caller's droids")
async def list_droids(principal: CurrentPrincipal, conn: DbConn) -> Response:
    rows = await droids.list_droids(conn, principal.user.id)
    return json_response({"droids": [droid_json(r) for r in rows]})


@router.post("", status_code=201, response_model=CreatedId, summary="Create a droid")
async def create_droid(
    body: DroidCreateBody, principal: CurrentPrincipal, conn: DbConn
) -> dict[str, Any]:
    row = await droids.create_droid(
        conn,
        principal.user.id,
        pool_id=body.poolId,
        account_id=body.accountId,
        blockchain=body.blockChain,
        active=body.active,
        config=columns_of(body.config()),
    )
    return {"id": row.id}


@router.get("/{id}", response_model=DroidDetail, summary="A droid, its sessions and bots")
async def get_droid(id: DroidId, principal: CurrentPrincipal, conn: DbConn) -> Response:
    droid, sessions, bots = await droids.droid_detail(conn, principal.user.id, id)
    return json_response(
        {
            "droid": droid_json(droid),
            "sessions": [session_json(s) for s in sessions],
            "bots": [bot_json(b) for b in bots],
        }
    )


@router.patch("/{id}/active", response_model=ActiveOut, summary="Run, pause, reset or close all")
async def set_active(
    id: DroidId, body: ActiveBody, principal: CurrentPrincipal, conn: DbConn
) -> dict[str, Any]:
    row = await droids.set_active(conn, principal.user.id, principal.user.role, id, body.active)
    return {"id": row.id, "active": row.active}


@router.patch("/{id}/config", response_model=DroidConfigOut, summary="Change the configuration")
async def update_config(
    id: DroidId, body: DroidConfigPatch, principal: CurrentPrincipal, conn: DbConn
) -> Response:
    row, hedge = await droids.update_config(
        conn, principal.user.id, id, columns_of(body.given()), body.hedge_given()
    )
    return json_response({"id": row.id, **config_json(row), **hedge_json(hedge)})


@router.get("/{id}/history", response_model=HistoryPage, summary="Snapshots, newest first")
async def get_history(
    id: DroidId,
    principal: CurrentPrincipal,
    conn: DbConn,
    limit: Annotated[int, Query(ge=1, le=HISTORY_MAX_LIMIT)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="id the previous page ended at")
    ] = None,
) -> Response:
    rows, next_before = await droids.history(
        conn, principal.user.id, id, before=before, limit=limit
    )
    return json_response({"history": [history_json(r) for r in rows], "nextBefore": next_before})
