"""`/api/devbe`: a fixed registry of named read-only queries and named scripts.

Each entry declares its parameters (name, type, required, description, bounds); a request is
checked against them before anything runs (unknown, repeated, missing or malformed parameters:
400), and an unknown name is a 404. The entries are plain functions written here: nothing a
request carries is ever evaluated, imported or executed, and the queries only read.

`walletSummary` takes an `address`, or a `walletId`: one of the caller's wallet accounts (those of
the droids) or a shared one; anyone else's is not found.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import rlp  # type: ignore[import-untyped]
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import is_checksum_address, to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from ordex.db import indexer_queries
from ordex.db.types import Connection
from ordex.services import indexer_reads
from ordex.services.errors import ServiceError
from ordex.services.indexer_reads import invalid, parse_address

ParamType = Literal["address", "integer", "string", "hex"]
Kind = Literal["data", "run"]

_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
MAX_MESSAGE_CHARS = 10_000
MAX_RAW_TX_BYTES = 128 * 1024


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: ParamType
    required: bool
    description: str
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    default: int | str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "description": self.description,
        }
        for key in ("minimum", "maximum", "max_length", "default"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def parse(self, raw: str) -> Any:
        if self.type == "address":
            return parse_address(raw, self.name)
        if self.type == "integer":
            text = raw.strip()
            if not re.fullmatch(r"-?\d{1,30}", text):
                raise invalid(f"{self.name} must be an integer", self.name)
            value = int(text)
            if self.minimum is not None and value < self.minimum:
                raise invalid(f"{self.name} must be at least {self.minimum}", self.name)
            if self.maximum is not None and value > self.maximum:
                raise invalid(f"{self.name} must be at most {self.maximum}", self.name)
            return value
        if self.max_length is not None and len(raw) > self.max_length:
            raise invalid(f"{self.name} is longer than {self.max_length} characters", self.name)
        if self.type == "hex":
            text = raw.strip()
            if not _HEX.match(text) or len(text) <= 2:
                raise invalid(f"{self.name} must be 0x-prefixed hex bytes", self.name)
            return bytes.fromhex(text[2:])
        if raw == "":
            raise invalid(f"{self.name} must not be empty", self.name)
        return raw


@dataclass(frozen=True, slots=True)
class DevbeContext:
    # Scripts touch neither the database nor the chain: they run without a connection.
    conn: Connection | None
    rpc_url: str | None
    user_id: uuid.UUID | None = None  # whose wallets `walletId` may name

    def db(self) -> Connection:
        assert self.conn is not None, "a query runs with a database connection"
        return self.conn


Handler = Callable[[DevbeContext, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Entry:
    name: str
    kind: Kind
    description: str
    params: tuple[Param, ...]
    handler: Handler
    one_of: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "path": f"/api/devbe/{self.kind}/{self.name}",
            "description": self.description,
            "parameters": [p.as_json() for p in self.params],
        }
        if self.one_of:
            out["one_of"] = list(self.one_of)
        return out


def parse_params(entry: Entry, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    declared = {p.name: p for p in entry.params}
    seen: dict[str, str] = {}
    for key, value in query:
        if key not in declared:
            accepted = ", ".join(declared) or "none"
            raise invalid(f"unknown parameter {key!r} for {entry.name} (accepted: {accepted})", key)
        if key in seen:
            raise invalid(f"parameter {key!r} given more than once", key)
        seen[key] = value
    values: dict[str, Any] = {}
    for param in entry.params:
        if param.name in seen:
            values[param.name] = param.parse(seen[param.name])
        elif param.required:
            raise invalid(f"{param.name} is required", param.name)
        elif param.default is not None:
            values[param.name] = param.default
    if entry.one_of:
        given = [name for name in entry.one_of if name in values]
        if len(given) != 1:
            raise invalid(f"give exactly one of {', '.join(entry.one_of)}", entry.one_of[0])
    return values


# --- scripts -----------------------------------------------------------------------------------


async def verify_signature(_: DevbeContext, params: dict[str, Any]) -> dict[str, Any]:
    """EIP-191 personal message (`personal_sign`): who signed `message`, and whether it is the
    expected `address` when one is given."""
    signature: bytes = params["signature"]
    if len(signature) != 65:
        raise invalid("signature must be 65 bytes (r, s, v)", "signature")
    try:
        recovered = Account.recover_message(
            encode_defunct(text=params["message"]), signature=signature
        )
    except Exception:  # eth_keys' BadSignature and ValueError alike: v, r or s out of range
        return {"valid": False, "recovered": None, "address": params.get("address")}
    expected = params.get("address")
    valid = recovered == expected if expected is not None else True
    return {"valid": valid, "recovered": recovered, "address": expected}


async def checksum_address(_: DevbeContext, params: dict[str, Any]) -> dict[str, Any]:
    text: str = params["address"].strip()
    if not re.fullmatch(r"0[xX][0-9a-fA-F]{40}", text):
        raise invalid("address must be 0x followed by 40 hex digits", "address")
    checksummed = to_checksum_address(text.lower())
    mixed = text[2:] != text[2:].lower() and text[2:] != text[2:].upper()
    return {
        "input": text,
        "checksummed": checksummed,
        # Only a mixed-case address carries a checksum; one in one case has none to check.
        "input_has_checksum": mixed,
        "input_checksum_valid": is_checksum_address(text) if mixed else None,
    }


def _legacy_fields(raw: bytes) -> dict[str, Any]:
    items = rlp.decode(raw)
    if not isinstance(items, list) or len(items) != 9:
        raise invalid("not a signed legacy transaction (9 RLP fields expected)", "raw")
    nonce, gas_price, gas, to, value, data, v, r, s = (bytes(i) for i in items)
    v_int = int.from_bytes(v, "big")
    chain_id = (v_int - 35) // 2 if v_int >= 35 else None
    return {
        "type": 0,
        "chain_id": chain_id,
        "nonce": int.from_bytes(nonce, "big"),
        "gas_price": str(int.from_bytes(gas_price, "big")),
        "gas": int.from_bytes(gas, "big"),
        "to": to_checksum_address(to) if to else None,
        "value": str(int.from_bytes(value, "big")),
        "data": "0x" + data.hex(),
        "v": v_int,
        "r": "0x" + r.hex(),
        "s": "0x" + s.hex(),
    }


_TYPED_FIELDS = {
    "chainId": "chain_id",
    "nonce": "nonce",
    "gas": "gas",
    "gasPrice": "gas_price",
    "maxFeePerGas": "max_fee_per_gas",
    "maxPriorityFeePerGas": "max_priority_fee_per_gas",
    "maxFeePerBlobGas": "max_fee_per_blob_gas",
    "value": "value",
    "v": "y_parity",
}
_WEI_FIELDS = {
    "gas_price",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
    "max_fee_per_blob_gas",
    "value",
}


def _typed_fields(raw: bytes) -> dict[str, Any]:
    tx = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    out: dict[str, Any] = {"type": int(tx["type"])}
    for key, name in _TYPED_FIELDS.items():
        if key in tx:
            value = int(tx[key])
            out[name] = str(value) if name in _WEI_FIELDS else value
    to = bytes(tx.get("to") or b"")
    out["to"] = to_checksum_address(to) if to else None
    out["data"] = "0x" + bytes(tx.get("data") or b"").hex()
    out["access_list"] = [
        {
            "address": to_checksum_address(entry["address"]),
            "storage_keys": ["0x" + bytes(key).hex() for key in entry["storageKeys"]],
        }
        for entry in tx.get("accessList", ())
    ]
    out["r"] = hex(int(tx["r"]))
    out["s"] = hex(int(tx["s"]))
    return out


async def decode_transaction(_: DevbeContext, params: dict[str, Any]) -> dict[str, Any]:
    """A raw signed transaction (what `eth_sendRawTransaction` takes) into its fields, its hash
    and its sender (recovered from the signature)."""
    raw: bytes = params["raw"]
    if len(raw) > MAX_RAW_TX_BYTES:
        raise invalid(f"raw is larger than {MAX_RAW_TX_BYTES} bytes", "raw")
    try:
        fields = _typed_fields(raw) if raw[0] <= 0x7F else _legacy_fields(raw)
        sender = Account.recover_transaction(raw)
    except ServiceError:
        raise
    except Exception as exc:  # rlp, eth_account and eth_keys each raise their own kinds
        raise invalid(f"not a signed Ethereum transaction: {exc}", "raw") from None
    return {"hash": "0x" + keccak(raw).hex(), "from": sender, **fields}


# --- queries over the index --------------------------------------------------------------------


async def _resolve_address(ctx: DevbeContext, params: dict[str, Any]) -> str:
    if "address" in params:
        address: str = params["address"]
        return address
    wallet_id: int = params["walletId"]
    found = await indexer_queries.wallet_address(ctx.db(), wallet_id, ctx.user_id)
    if found is None:
        raise ServiceError(404, "NOT_FOUND", f"wallet {wallet_id} not found")
    return to_checksum_address(found)


async def wallet_summary(ctx: DevbeContext, params: dict[str, Any]) -> dict[str, Any]:
    address = await _resolve_address(ctx, params)
    raw = indexer_reads.address_bytes(address)
    activity = await indexer_queries.address_activity(ctx.db(), raw)
    balances = await indexer_reads.token_balances(ctx.db(), raw)
    native = await indexer_reads.native_balance(ctx.rpc_url, address)
    eth_usd = await indexer_reads.latest_eth_usd(ctx.db())
    return {
        "address": address,
        "native_balance_wei": None if native is None else str(native),
        "native_balance": None if native is None else indexer_reads.eth_display(native),
        "native_balance_usd": (
            None
            if native is None or eth_usd is None
            else indexer_reads.usd_number(indexer_reads.scaled(native, 18) * eth_usd)
        ),
        "transaction_count": activity.transaction_count,
        "first_seen_block": activity.first_block,
        "first_seen": indexer_reads.iso_seconds(activity.first_seen),
        "last_seen_block": activity.last_block,
        "last_seen": indexer_reads.iso_seconds(activity.last_seen),
        "token_balances": balances,
    }


async def token_balances(ctx: DevbeContext, params: dict[str, Any]) -> dict[str, Any]:
    address: str = params["address"]
    balances = await indexer_reads.token_balances(ctx.db(), indexer_reads.address_bytes(address))
    return {"address": address, "token_balances": balances}


async def recent_transfers(ctx: DevbeContext, params: dict[str, Any]) -> dict[str, Any]:
    address: str | None = params.get("address")
    raw = None if address is None else indexer_reads.address_bytes(address)
    transfers = await indexer_reads.recent_transfers(ctx.db(), raw, params["limit"])
    return {"address": address, "limit": params["limit"], "transfers": transfers}


# --- the registry ------------------------------------------------------------------------------

_ADDRESS = "0x-prefixed 20-byte address (any case; mixed case must be a valid EIP-55 checksum)"

QUERIES: Mapping[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "walletSummary",
            "data",
            "Native ETH balance (eth_getBalance at the chain tip), indexed transaction count, "
            "first and last seen, and token balances from indexed transfers, of one address.",
            (
                Param("address", "address", False, _ADDRESS),
                Param(
                    "walletId",
                    "integer",
                    False,
                    "id of one of your wallet accounts (the droids' wallets) or a shared one",
                    minimum=1,
                    maximum=2**63 - 1,
                ),
            ),
            wallet_summary,
            one_of=("address", "walletId"),
        ),
        Entry(
            "tokenBalances",
            "data",
            "Net balance per token of one address from its indexed transfers (in minus out), "
            "with decimals and the USD value at the latest indexed price.",
            (Param("address", "address", True, _ADDRESS),),
            token_balances,
        ),
        Entry(
            "recentTransfers",
            "data",
            "Latest indexed token transfers, newest first, of one address or of the whole chain.",
            (
                Param("address", "address", False, _ADDRESS + "; all transfers when left out"),
                Param(
                    "limit",
                    "integer",
                    False,
                    "how many transfers",
                    minimum=1,
                    maximum=100,
                    default=20,
                ),
            ),
            recent_transfers,
        ),
    )
}

SCRIPTS: Mapping[str, Entry] = {
    e.name: e
    for e in (
        Entry(
            "verifySignature",
            "run",
            "Recover the signer of an EIP-191 personal message (personal_sign); valid when it is "
            "address (or, without address, when a signer could be recovered).",
            (
                Param("message", "string", True, "the signed text", max_length=MAX_MESSAGE_CHARS),
                Param("signature", "hex", True, "65-byte signature r || s || v, 0x-prefixed hex"),
                Param("address", "address", False, "expected signer; " + _ADDRESS),
            ),
            verify_signature,
        ),
        Entry(
            "checksumAddress",
            "run",
            "EIP-55 checksummed form of an address, and whether the input's own checksum holds.",
            (
                Param(
                    "address",
                    "string",
                    True,
                    "0x followed by 40 hex digits, any case",
                    max_length=64,
                ),
            ),
            checksum_address,
        ),
        Entry(
            "decodeTransaction",
            "run",
            "Fields, hash and sender of a raw signed transaction (legacy, EIP-2930, EIP-1559 or "
            "EIP-4844), as given to eth_sendRawTransaction.",
            (Param("raw", "hex", True, "the signed transaction, 0x-prefixed hex"),),
            decode_transaction,
        ),
    )
}


def catalog() -> dict[str, Any]:
    return {
        "queries": [e.as_json() for e in QUERIES.values()],
        "scripts": [e.as_json() for e in SCRIPTS.values()],
    }


def lookup(kind: Kind, name: str) -> Entry:
    entry = (QUERIES if kind == "data" else SCRIPTS).get(name)
    if entry is None:
        what = "query type" if kind == "data" else "script"
        raise ServiceError(404, "NOT_FOUND", f"unknown {what} {name!r}")
    return entry


async def run(
    kind: Kind, name: str, query: Sequence[tuple[str, str]], ctx: DevbeContext
) -> dict[str, Any]:
    entry = lookup(kind, name)
    return await entry.handler(ctx, parse_params(entry, query))
