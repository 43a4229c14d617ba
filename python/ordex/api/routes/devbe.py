"""`/api/devbe` (trading-app contract, "Devbe"): named read-only queries and named scripts.

- `GET /api/devbe`: the catalogue, every entry with its declared parameters.
- `GET /api/devbe/data/{queryType}?...`: a query over the index (walletSummary, tokenBalances,
  recentTransfers).
- `GET /api/devbe/run/{script}?...`: a script (verifySignature, checksumAddress,
  decodeTransaction).

Each entry also has a route of its own in OpenAPI, its parameters documented from the registry;
the `{queryType}` / `{script}` routes answer the unknown names (404). Bad parameters are a 400.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.routes.v1_indexer import ADDRESS_PATTERN, rpc_url
from ordex.api.schemas_devbe import DEVBE_ERRORS, URI_TOO_LONG, DevbeCatalogOut
from ordex.services import devbe
from ordex.services.devbe import DevbeContext, Entry, Kind, Param

router = APIRouter(prefix="/api/devbe", tags=["devbe"], responses=DEVBE_ERRORS)


@router.get("", response_model=DevbeCatalogOut, summary="Named queries and scripts")
async def catalog() -> dict[str, Any]:
    return devbe.catalog()


def _openapi_param(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer" if param.type == "integer" else "string"}
    if param.type == "address":
        schema["pattern"] = ADDRESS_PATTERN
    elif param.name == "address":
        # checksumAddress takes any 20-byte hex address, either prefix case, to report on it.
        schema["pattern"] = "^0[xX][0-9a-fA-F]{40}$"
    elif param.type == "hex":
        schema["pattern"] = "^0x([0-9a-fA-F]{2})+$"
    for key in ("minimum", "maximum", "default"):
        if getattr(param, key) is not None:
            schema[key] = getattr(param, key)
    if param.max_length is not None:
        schema["maxLength"] = param.max_length
    return {
        "name": param.name,
        "in": "query",
        "required": param.required,
        "description": param.description,
        "schema": schema,
    }


async def _run_query(
    request: Request, conn: DbConn, user: CurrentUser, kind: Kind, name: str
) -> dict[str, Any]:
    ctx = DevbeContext(conn, rpc_url(request), user.id)
    return await devbe.run(kind, name, request.query_params.multi_items(), ctx)


async def _run_script(request: Request, kind: Kind, name: str) -> dict[str, Any]:
    ctx = DevbeContext(None, None)
    return await devbe.run(kind, name, request.query_params.multi_items(), ctx)


def _entry_endpoint(entry: Entry) -> Callable[..., Awaitable[dict[str, Any]]]:
    if entry.kind == "data":

        async def query(request: Request, conn: DbConn, user: CurrentUser) -> dict[str, Any]:
            return await _run_query(request, conn, user, "data", entry.name)

        return query

    async def script(request: Request) -> dict[str, Any]:
        return await _run_script(request, "run", entry.name)

    return script


for _entry in (*devbe.QUERIES.values(), *devbe.SCRIPTS.values()):
    router.add_api_route(
        f"/{_entry.kind}/{_entry.name}",
        _entry_endpoint(_entry),
        methods=["GET"],
        summary=_entry.description,
        name=f"devbe_{_entry.kind}_{_entry.name}",
        openapi_extra={"parameters": [_openapi_param(p) for p in _entry.params]},
        responses=URI_TOO_LONG if _entry.kind == "run" else None,
    )


@router.get("/data/{queryType}", summary="Run a named query (404 for an unknown name)")
async def run_query(
    request: Request, conn: DbConn, user: CurrentUser, queryType: str
) -> dict[str, Any]:
    devbe.lookup("data", queryType)  # the known names have routes of their own
    return await _run_query(request, conn, user, "data", queryType)


@router.get(
    "/run/{script}", summary="Run a named script (404 for an unknown name)", responses=URI_TOO_LONG
)
async def run_script(request: Request, script: str) -> dict[str, Any]:
    devbe.lookup("run", script)
    return await _run_script(request, "run", script)
