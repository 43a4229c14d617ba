"""Reads of the EVM index behind `/api/v1` (and the amounts `/api/devbe` shows).

Amounts stay integers (wei, raw token units) or `Decimal` until the answer is built; the JSON
numbers the contract shows for display (`value_usd`, `gas_price_gwei`...) are made from `Decimal`
at the very end.

Paging: the list routes page in `(block_number, tx_index)` order. A block's timestamp never goes
down as its number goes up, so `timestamp` and `block` sort the same way. Next and previous links
carry an opaque keyset cursor (the edge row of the current page, the direction and the filters it
belongs to), so following them costs one index range scan whatever the page. A bare `page=N`
without a cursor is answered too, by skipping rows (costlier for deep pages, so only up to
`OFFSET_ROWS_MAX` rows deep).

Totals: without a date filter they are counters kept at ingest (per address, and for the whole
chain), never `COUNT(*)`. Dates are first turned into a block range (`evm_blocks` by timestamp).
For the whole chain the range's total is the sum of the per-block counts kept at ingest (cost in
blocks, not transactions). For one address no counter fits an arbitrary range, so its rows in the
range are counted on the address index, capped at `DATE_COUNT_CAP`: past the cap the total says
`DATE_COUNT_CAP` (the links never depend on totals, so every page is still reached).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from eth_utils.address import is_checksum_address, to_checksum_address

from ordex.db import indexer_queries
from ordex.db.types import Connection
from ordex.services.errors import ServiceError

PAGE_SIZE_MAX = 100
# A page asked for by number (no cursor) skips the rows before it; deeper than this, the cursor
# links must be followed (a skip of millions of rows is a scan of millions of rows).
OFFSET_ROWS_MAX = 100_000
DATE_COUNT_CAP = 100_000
RPC_TIMEOUT_SECONDS = 5.0

_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_WEI_PER_ETH = Decimal(10) ** 18
_WEI_PER_GWEI = Decimal(10) ** 9
_CENT = Decimal("0.01")
# uint256 amounts have up to 78 digits: the default 28-digit context would round them.
_EXACT = Context(prec=160)


def invalid(message: str, field: str | None = None) -> ServiceError:
    return ServiceError(400, "INVALID_REQUEST", message, field=field)


def not_found(message: str) -> ServiceError:
    return ServiceError(404, "NOT_FOUND", message)


# --- input -------------------------------------------------------------------------------------


def parse_address(value: str, field: str = "address") -> str:
    """A 20-byte hex address, lower or upper case or correctly EIP-55 mixed case; answers it
    checksummed. A mixed-case address whose checksum is wrong is a typo, not an address."""
    text = value.strip()
    digits = text[2:]
    mixed = digits != digits.lower() and digits != digits.upper()
    if not _ADDRESS.match(text) or (mixed and not is_checksum_address(text)):
        raise invalid(
            f"{field} must be 0x and 40 hex digits (a valid EIP-55 checksum if mixed case)", field
        )
    return to_checksum_address(text.lower())


def address_bytes(checksummed: str) -> bytes:
    return bytes.fromhex(checksummed[2:])


def parse_tx_hash(value: str) -> bytes:
    text = value.strip()
    if not _HASH.match(text):
        raise invalid("hash must be 0x followed by 64 hex digits", "hash")
    return bytes.fromhex(text[2:])


def parse_date(value: str, field: str, *, end_of_day: bool) -> datetime:
    """ISO-8601, in UTC unless an offset says otherwise. A bare date means the whole day (the
    bounds are inclusive): its first second for `from_date`, its last instant for `to_date`."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time.min, tzinfo=UTC)
            return moment + timedelta(days=1, microseconds=-1) if end_of_day else moment
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise invalid(
            f"{field} must be an ISO-8601 date or time, e.g. 2026-04-01T00:00:00Z", field
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- display -----------------------------------------------------------------------------------


def checksum(raw: bytes | None) -> str | None:
    return None if raw is None else to_checksum_address(raw)


def hex0x(raw: bytes) -> str:
    return "0x" + raw.hex()


def iso_seconds(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scaled(raw: int | Decimal, decimals: int) -> Decimal:
    return Decimal(raw).scaleb(-decimals, context=_EXACT)


def plain(amount: Decimal) -> str:
    """At least two decimals (`250.00`, `1.50`), more only when the amount has them (`0.000123`);
    the same whatever exponent the `Decimal` happens to carry."""
    normal = amount.normalize(context=_EXACT)
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{normal.quantize(_CENT, context=_EXACT):f}"
    return f"{normal:f}"


def token_amount_display(
    raw: int | Decimal, decimals: int | None, symbol: str | None, standard: str
) -> str:
    """`250.00 USDC` from raw units and the token's decimals. Without decimals an ERC-20 amount
    is shown in raw units (guessing 18 or 0 would be wrong by orders of magnitude); ERC-721 and
    ERC-1155 amounts are counts of items."""
    unit = symbol or "tokens"
    if decimals is None:
        if standard == "ERC-20":
            return f"{int(raw)} {unit} (raw units)"
        return f"{int(raw)} {unit}"
    return f"{plain(scaled(raw, decimals))} {unit}"


def eth_display(wei: int | Decimal) -> str:
    return f"{plain(scaled(wei, 18))} ETH"


def usd_number(amount: Decimal | None) -> float | None:
    """A USD amount as the JSON number the contract shows, rounded to cents."""
    if amount is None:
        return None
    return float(amount.quantize(_CENT, rounding=ROUND_HALF_UP, context=_EXACT))


def exact_number(amount: Decimal) -> float | int:
    """An exact amount as a JSON number: an integer when it is whole (`10` gwei)."""
    normal = amount.normalize(context=_EXACT)
    if normal == normal.to_integral_value():
        return int(normal)
    return float(normal)


# --- transactions ------------------------------------------------------------------------------


def _status(value: int | None) -> str | None:
    if value is None:
        return None
    return "success" if value == 1 else "failed"


def transfer_json(row: Any) -> dict[str, Any]:
    standard: str = row["token_standard"]
    token_id = row["token_id"]
    return {
        "contract_address": checksum(row["contract_address"]),
        "token_symbol": row["token_symbol"],
        "token_name": row["token_name"],
        "token_standard": standard,
        "from_address": checksum(row["from_address"]),
        "to_address": checksum(row["to_address"]),
        "amount_display": token_amount_display(
            row["amount"], row["decimals"], row["token_symbol"], standard
        ),
        "amount_usd": usd_number(row["amount_usd"]),
        # A string: ids are 256-bit and would lose digits as a JSON number.
        "token_id": None if token_id is None else str(int(token_id)),
    }


def transaction_json(row: Any, transfers: list[dict[str, Any]]) -> dict[str, Any]:
    gas_price_wei = Decimal(row["effective_gas_price"])
    gas_fee_wei = Decimal(row["gas_used"]) * gas_price_wei
    priced = row["eth_usd"] is not None
    return {
        "hash": hex0x(row["hash"]),
        "block_number": row["block_number"],
        "block_timestamp": iso_seconds(row["block_timestamp"]),
        "from_address": checksum(row["from_address"]),
        "to_address": checksum(row["to_address"]),
        "value_native": eth_display(row["value"]),
        "value_usd": usd_number(row["value_usd"]),
        "gas_used": row["gas_used"],
        "gas_price_gwei": exact_number(gas_price_wei / _WEI_PER_GWEI),
        "gas_fee_eth": exact_number(gas_fee_wei / _WEI_PER_ETH),
        "gas_fee_usd": usd_number(row["gas_fee_usd"]),
        "status": _status(row["status"]),
        "token_transfers": transfers,
        "price_source": "uniswap_v3" if priced else None,
        "price_timestamp": iso_seconds(row["block_timestamp"]) if priced else None,
    }


async def _with_transfers(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    wanted = [(r["block_number"], r["tx_index"]) for r in rows if r["transfer_count"]]
    by_tx: dict[bytes, list[dict[str, Any]]] = {}
    if wanted:
        for t in await indexer_queries.transfers_of(conn, wanted):
            by_tx.setdefault(bytes(t["tx_hash"]), []).append(transfer_json(t))
    return [transaction_json(r, by_tx.get(bytes(r["hash"]), [])) for r in rows]


async def get_transaction(conn: Connection, tx_hash: str) -> dict[str, Any]:
    raw = parse_tx_hash(tx_hash)
    row = await indexer_queries.transaction(conn, raw)
    if row is None:
        raise not_found(f"transaction {tx_hash.strip()} not found")
    return (await _with_transfers(conn, [row]))[0]


# --- pages -------------------------------------------------------------------------------------

SORTS: tuple[str, ...] = ("timestamp", "-timestamp", "block", "-block")


@dataclass(frozen=True, slots=True)
class ListFilters:
    address: str | None
    from_date: datetime | None
    to_date: datetime | None
    sort: str
    page_size: int

    def fingerprint(self) -> str:
        """Ties a cursor to the filters it was made for: a cursor replayed with other filters
        would silently skip or repeat rows."""
        key = "|".join(
            [
                self.address or "",
                self.from_date.isoformat() if self.from_date else "",
                self.to_date.isoformat() if self.to_date else "",
                # timestamp and block order the same way: only the direction matters.
                "desc" if self.sort.startswith("-") else "asc",
                str(self.page_size),
            ]
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Cursor:
    page: int
    block_number: int
    tx_index: int
    # "next": the rows after this one in the listing's order; "prev": the rows before it.
    toward: Literal["next", "prev"]
    fingerprint: str

    def encode(self) -> str:
        body = json.dumps(
            [self.page, self.block_number, self.tx_index, self.toward, self.fingerprint],
            separators=(",", ":"),
        )
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> Cursor:
        try:
            padded = text + "=" * (-len(text) % 4)
            page, block_number, tx_index, toward, fingerprint = json.loads(
                base64.urlsafe_b64decode(padded.encode())
            )
            if not (
                isinstance(page, int)
                and isinstance(block_number, int)
                and isinstance(tx_index, int)
                and toward in ("next", "prev")
                and isinstance(fingerprint, str)
                and page >= 1
                and block_number >= 0
                and tx_index >= 0
            ):
                raise ValueError("bad cursor")
        except (ValueError, TypeError, json.JSONDecodeError):
            raise invalid("cursor is not one this server issued", "cursor") from None
        return Cursor(page, block_number, tx_index, toward, fingerprint)


def parse_filters(
    address: str | None,
    from_date: str | None,
    to_date: str | None,
    sort: str | None,
    page_size: int,
) -> ListFilters:
    checked = None if address is None else parse_address(address)
    start = None if from_date is None else parse_date(from_date, "from_date", end_of_day=False)
    end = None if to_date is None else parse_date(to_date, "to_date", end_of_day=True)
    if start is not None and end is not None and start > end:
        raise invalid("from_date is after to_date", "from_date")
    sort = sort or "-timestamp"
    if sort not in SORTS:
        raise invalid(f"sort must be one of {', '.join(SORTS)}", "sort")
    if not 1 <= page_size <= PAGE_SIZE_MAX:
        raise invalid(f"page_size must be between 1 and {PAGE_SIZE_MAX}", "page_size")
    return ListFilters(checked, start, end, sort, page_size)


async def _total(conn: Connection, f: ListFilters, first: int | None, last: int | None) -> int:
    raw = None if f.address is None else address_bytes(f.address)
    dated = f.from_date is not None or f.to_date is not None
    if raw is not None and not dated:
        return await indexer_queries.address_tx_count(conn, raw)
    if raw is None and not dated:
        state = await indexer_queries.indexer_state(conn)
        return 0 if state is None else int(state["tx_count"])
    if raw is not None:
        return await indexer_queries.address_tx_count_between(
            conn, raw, first, last, DATE_COUNT_CAP
        )
    return await indexer_queries.chain_tx_count_between(conn, first, last)


async def list_transactions(
    conn: Connection,
    f: ListFilters,
    *,
    page: int,
    cursor: str | None,
    url: str,
    params: dict[str, str],
) -> dict[str, Any]:
    """One page of the listing. `url` is the route's own absolute URL (no query) and `params`
    the filters to repeat in the next and previous links."""
    fingerprint = f.fingerprint()
    at = None if cursor is None else Cursor.decode(cursor)
    if at is not None:
        if at.fingerprint != fingerprint:
            raise invalid("cursor belongs to other filters; start again from page 1", "cursor")
        page = at.page
    if not 1 <= page <= 10_000_000:
        raise invalid("page must be a positive integer", "page")
    if at is None and (page - 1) * f.page_size > OFFSET_ROWS_MAX:
        raise invalid(
            f"pages more than {OFFSET_ROWS_MAX} rows deep are reached by the next_page_url "
            "links (their cursor), not by page number",
            "page",
        )
    first_block, last_block = await indexer_queries.block_range(conn, f.from_date, f.to_date)
    empty_range = (f.from_date is not None and first_block is None) or (
        f.to_date is not None and last_block is None
    )
    forward: Literal["asc", "desc"] = "desc" if f.sort.startswith("-") else "asc"
    backward: Literal["asc", "desc"] = "asc" if forward == "desc" else "desc"
    raw = None if f.address is None else address_bytes(f.address)
    rows: list[Any] = []
    more_after = False
    more_before = page > 1
    if not empty_range:
        if at is not None and at.toward == "prev":
            query = indexer_queries.PageQuery(
                raw,
                backward,
                (at.block_number, at.tx_index),
                first_block,
                last_block,
                f.page_size + 1,
            )
            rows = await indexer_queries.transactions_page(conn, query)
            more_before = len(rows) > f.page_size
            rows = rows[: f.page_size][::-1]
            more_after = True
        else:
            after = None if at is None else (at.block_number, at.tx_index)
            # Without a cursor a page is found by skipping the pages before it.
            offset = 0 if at is not None else (page - 1) * f.page_size
            query = indexer_queries.PageQuery(
                raw, forward, after, first_block, last_block, f.page_size + 1, offset
            )
            rows = await indexer_queries.transactions_page(conn, query)
            more_after = len(rows) > f.page_size
            rows = rows[: f.page_size]
    total = 0 if empty_range else await _total(conn, f, first_block, last_block)
    data = await _with_transfers(conn, rows)

    def link(target: int, edge: Any, toward: Literal["next", "prev"]) -> str:
        query = dict(params, page=str(target), page_size=str(f.page_size), sort=f.sort)
        if edge is not None:
            query["cursor"] = Cursor(
                target, edge["block_number"], edge["tx_index"], toward, fingerprint
            ).encode()
        return f"{url}?{urlencode(query)}"

    next_url = link(page + 1, rows[-1], "next") if more_after and rows else None
    prev_url = None
    if more_before and page > 1:
        prev_url = link(page - 1, rows[0] if rows else None, "prev")
    return {
        "data": data,
        "page": page,
        "page_size": f.page_size,
        "total_results": total,
        "total_pages": math.ceil(total / f.page_size),
        "next_page_url": next_url,
        "prev_page_url": prev_url,
    }


# --- blocks, tokens ----------------------------------------------------------------------------


async def get_block(conn: Connection, number: int) -> dict[str, Any]:
    if number < 0:
        raise invalid("block_number must not be negative", "block_number")
    row = await indexer_queries.block(conn, number)
    if row is None:
        raise not_found(f"block {number} not indexed")
    hashes = await indexer_queries.block_tx_hashes(conn, number)
    return {
        "block_number": row["number"],
        "block_timestamp": iso_seconds(row["timestamp"]),
        "transaction_count": len(hashes),
        "transaction_hashes": [hex0x(h) for h in hashes],
        "block_hash": hex0x(row["hash"]),
        "parent_hash": hex0x(row["parent_hash"]),
    }


async def get_token(conn: Connection, contract_address: str) -> dict[str, Any]:
    address = parse_address(contract_address, "contract_address")
    row = await indexer_queries.token(conn, address_bytes(address))
    if row is None:
        raise not_found(f"token {address} not indexed")
    priced = row["usd_price"] is not None
    return {
        "contract_address": address,
        "symbol": row["symbol"],
        "name": row["name"],
        "decimals": row["decimals"],
        "token_standard": row["token_standard"],
        "price_usd": exact_number(Decimal(row["usd_price"])) if priced else None,
        "price_source": "uniswap_v3" if priced else None,
        "price_timestamp": iso_seconds(row["price_timestamp"]) if priced else None,
    }


# --- balances and transfers (devbe) ------------------------------------------------------------


async def token_balances(conn: Connection, address: bytes) -> list[dict[str, Any]]:
    out = []
    for row in await indexer_queries.token_balances(conn, address):
        standard = row["token_standard"] or "ERC-20"
        balance = int(row["balance"])
        decimals = row["decimals"]
        usd = None
        if row["usd_price"] is not None and decimals is not None:
            usd = usd_number(scaled(balance, decimals) * Decimal(row["usd_price"]))
        out.append(
            {
                "contract_address": checksum(row["contract_address"]),
                "token_symbol": row["symbol"],
                "token_name": row["name"],
                "token_standard": row["token_standard"],
                "decimals": decimals,
                "balance_raw": str(balance),
                "balance_display": token_amount_display(balance, decimals, row["symbol"], standard),
                "balance_usd": usd,
            }
        )
    return out


async def recent_transfers(
    conn: Connection, address: bytes | None, limit: int
) -> list[dict[str, Any]]:
    rows = await indexer_queries.recent_transfers(conn, address, limit)
    return [
        {
            "transaction_hash": hex0x(r["tx_hash"]),
            "block_number": r["block_number"],
            "block_timestamp": iso_seconds(r["block_timestamp"]),
            "log_index": r["log_index"],
            **transfer_json(r),
        }
        for r in rows
    ]


async def latest_eth_usd(conn: Connection) -> Decimal | None:
    row = await indexer_queries.latest_eth_usd(conn)
    return None if row is None else Decimal(row["eth_usd"])


# --- the chain ---------------------------------------------------------------------------------


async def rpc_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    """One batched JSON-RPC request; the results in call order (an error entry raises)."""
    body = [
        {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
        for i, (method, params) in enumerate(calls)
    ]
    async with httpx.AsyncClient(timeout=RPC_TIMEOUT_SECONDS) as client:
        response = await client.post(url, json=body)
        response.raise_for_status()
        answers = response.json()
    if isinstance(answers, dict):  # a node that refuses batches answers one error object
        raise RuntimeError(str(answers.get("error", answers)))
    by_id = {a["id"]: a for a in answers}
    results = []
    for i in range(len(calls)):
        answer = by_id.get(i)
        if answer is None or "error" in answer:
            raise RuntimeError(str(answer and answer.get("error")))
        results.append(answer["result"])
    return results


async def native_balance(rpc_url: str | None, address: str) -> int | None:
    """Balance in wei at the chain's latest block, or None when no node answers."""
    if rpc_url is None:
        return None
    try:
        (balance,) = await rpc_batch(rpc_url, [("eth_getBalance", [address, "latest"])])
        return int(balance, 16)
    except (httpx.HTTPError, RuntimeError, ValueError, KeyError, TypeError):
        return None


async def health(conn: Connection, rpc_url: str | None) -> dict[str, Any]:
    """Where ingest stands against the chain. The lag is how far the last indexed block's time is
    behind the tip's (0 when caught up, however old the tip); `degraded` when no node answers."""
    state = await indexer_queries.indexer_state(conn)
    tip: int | None = None
    tip_time: datetime | None = None
    if rpc_url is not None:
        try:
            number, latest = await rpc_batch(
                rpc_url, [("eth_blockNumber", []), ("eth_getBlockByNumber", ["latest", False])]
            )
            tip = int(number, 16)
            if latest is not None:
                tip_time = datetime.fromtimestamp(int(latest["timestamp"], 16), UTC)
        except (httpx.HTTPError, RuntimeError, ValueError, KeyError, TypeError):
            tip = None
    last = None if state is None else state["last_block"]
    last_time = None if state is None else state["last_block_timestamp"]
    lag: float | None = None
    if last is not None and last_time is not None:
        if tip is not None and last >= tip:
            lag = 0.0
        else:
            reference = tip_time or datetime.now(UTC)
            lag = round(max((reference - last_time).total_seconds(), 0.0), 3)
    if tip is None:
        status = "degraded"
    elif last is None:
        status = "starting"
    else:
        status = "ok"
    return {
        "status": status,
        "last_indexed_block": last,
        "last_indexed_timestamp": iso_seconds(last_time),
        "chain_tip_block": tip,
        "ingestion_lag_seconds": lag,
        "finalized_block": None if state is None else state["finalized_block"],
        "reorg_count": 0 if state is None else int(state["reorg_count"]),
        "chain_id": None if state is None else state["chain_id"],
    }
