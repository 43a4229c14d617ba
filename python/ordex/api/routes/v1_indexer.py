"""`/api/v1` reads of the EVM index (trading-app contract, "V1").

- `GET /api/v1/health`: last indexed block and time, chain tip (`eth_blockNumber`), lag, finalized
  block and reorg count.
- `GET /api/v1/transactions?address=&from_date=&to_date=&sort=&page=&page_size=` and
  `GET /api/v1/transactions/address/{address}`: the contract's page envelope; its next/prev links
  carry a keyset `cursor` (see services/indexer_reads.py for paging and totals).
- `GET /api/v1/transactions/{hash}`, `/blocks/{block_number}`, `/tokens/{contract_address}`.

Malformed addresses, hashes, dates, sorts, pages or cursors are a 400; what is not indexed (or was
reorged out) a 404. (The WebSocket at `/api/v1/ws` is mounted apart and overlaps none of these.)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from ordex.api.deps import DbConn
from ordex.api.schemas_v1 import (
    V1_ERRORS,
    BlockOut,
    IndexerHealthOut,
    TokenOut,
    TransactionOut,
    TransactionPage,
)
from ordex.services import indexer_reads
from ordex.services.indexer import IndexerSettings
from ordex.services.indexer_reads import PAGE_SIZE_MAX

router = APIRouter(prefix="/api/v1", tags=["indexer"], responses=V1_ERRORS)

DEFAULT_PAGE_SIZE = 20

# The shapes the services parse; a mixed-case address must also carry a valid EIP-55 checksum.
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
ADDRESS_DESCRIPTION = "0x and 40 hex digits (a valid EIP-55 checksum if mixed case)"

Address = Annotated[str | None, Query(pattern=ADDRESS_PATTERN, description=ADDRESS_DESCRIPTION)]
FromDate = Annotated[
    str | None, Query(max_length=40, description="inclusive, ISO-8601 (UTC unless an offset)")
]
ToDate = Annotated[
    str | None, Query(max_length=40, description="inclusive, ISO-8601; a bare date = whole day")
]
Sort = Annotated[
    str | None, Query(max_length=16, description="timestamp, -timestamp (default), block, -block")
]
Page = Annotated[int, Query(ge=1, le=10_000_000, description="1-based page number")]
PageSize = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)]
CursorParam = Annotated[
    str | None, Query(max_length=512, description="opaque keyset cursor from a next/prev link")
]


def rpc_url(request: Request) -> str | None:
    """The node the index follows: the app's own (the embedded dev chain's), else ETH_RPC_URL;
    looked up once per app."""
    state = request.app.state
    url = getattr(state, "eth_rpc_url", None)
    if url is None:
        url = getattr(state.settings, "eth_rpc_url", None) or IndexerSettings().eth_rpc_url or ""
        state.eth_rpc_url = url
    return str(url) or None


def _own_url(request: Request) -> str:
    return str(request.url.replace(query=""))


@router.get(
    "/health", response_model=IndexerHealthOut, summary="Indexer progress against the chain"
)
async def indexer_health(request: Request, conn: DbConn) -> dict[str, Any]:
    return await indexer_reads.health(conn, rpc_url(request))


async def _page(
    request: Request,
    conn: DbConn,
    address: str | None,
    from_date: str | None,
    to_date: str | None,
    sort: str | None,
    page: int,
    page_size: int,
    cursor: str | None,
    *,
    address_in_query: bool,
) -> dict[str, Any]:
    filters = indexer_reads.parse_filters(address, from_date, to_date, sort, page_size)
    params = {
        key: value
        for key, value in (
            ("address", address if address_in_query else None),
            ("from_date", from_date),
            ("to_date", to_date),
        )
        if value is not None
    }
    return await indexer_reads.list_transactions(
        conn, filters, page=page, cursor=cursor, url=_own_url(request), params=params
    )


@router.get("/transactions", response_model=TransactionPage, summary="Indexed transactions, paged")
async def list_transactions(
    request: Request,
    conn: DbConn,
    address: Address = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    sort: Sort = None,
    page: Page = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    return await _page(
        request,
        conn,
        address,
        from_date,
        to_date,
        sort,
        page,
        page_size,
        cursor,
        address_in_query=True,
    )


@router.get(
    "/transactions/address/{address}",
    response_model=TransactionPage,
    summary="Indexed transactions of one address, paged",
)
async def address_transactions(
    request: Request,
    conn: DbConn,
    address: Annotated[str, Path(pattern=ADDRESS_PATTERN, description=ADDRESS_DESCRIPTION)],
    from_date: FromDate = None,
    to_date: ToDate = None,
    sort: Sort = None,
    page: Page = 1,
    page_size: PageSize = DEFAULT_PAGE_SIZE,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    return await _page(
        request,
        conn,
        address,
        from_date,
        to_date,
        sort,
        page,
        page_size,
        cursor,
        address_in_query=False,
    )


@router.get("/transactions/{hash}", response_model=TransactionOut, summary="One transaction")
async def get_transaction(
    conn: DbConn,
    hash: Annotated[str, Path(pattern=HASH_PATTERN, description="0x and 64 hex digits")],
) -> dict[str, Any]:
    return await indexer_reads.get_transaction(conn, hash)


@router.get("/blocks/{block_number}", response_model=BlockOut, summary="One indexed block")
async def get_block(
    conn: DbConn, block_number: Annotated[int, Path(ge=0, le=2**63 - 1)]
) -> dict[str, Any]:
    return await indexer_reads.get_block(conn, block_number)


@router.get("/tokens/{contract_address}", response_model=TokenOut, summary="Token metadata")
async def get_token(
    conn: DbConn,
    contract_address: Annotated[
        str, Path(pattern=ADDRESS_PATTERN, description=ADDRESS_DESCRIPTION)
    ],
) -> dict[str, Any]:
    return await indexer_reads.get_token(conn, contract_address)
