"""Droid wallet accounts: an address and its private key, sealed with AES-256-GCM (SecretBox) like
the exchange credentials, under the owner's id. A shared wallet (no owner: the embedded dev chain's
account, registered at start) is sealed under the nil UUID and can be used by every user.

A wallet is added with its private key, or as one of the dev chain's accounts by index (the node
must then be the dev chain: it answers `devchain_info` with its keys). The key never leaves the
server: listings show the address only.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_utils.address import to_checksum_address

from ordex.crypto import DecryptionError, SecretBox
from ordex.db import droids as repo
from ordex.db.droids import WalletRow
from ordex.db.types import Connection
from ordex.roles import Role
from ordex.services.errors import ServiceError
from ordex.services.evm_rpc import EvmRpc, RpcError
from ordex.timestamps import iso_millis

# The owner a shared wallet's key is sealed under.
SHARED_OWNER = uuid.UUID(int=0)
# The dev chain account registered at start: funded with ETH, and neither one of the simulated
# traffic's traders (1..4) nor the reorg helper's accounts (8, 9).
DEVCHAIN_WALLET_INDEX = 5
DEVCHAIN_WALLET_LABEL = f"dev chain account {DEVCHAIN_WALLET_INDEX}"
RPC_TIMEOUT_SECONDS = 10.0

_HEX_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


@dataclass(frozen=True, slots=True)
class DevchainInfo:
    """What the embedded dev chain says about itself (`devchain_info`)."""

    chain_id: int
    accounts: list[str]
    private_keys: list[str]
    pools: dict[str, dict[str, Any]]


def wallet_not_found(wallet_id: int | str) -> ServiceError:
    return ServiceError(404, "NOT_FOUND", f"account {wallet_id} not found", field="accountId")


def no_node() -> ServiceError:
    return ServiceError(
        503, "SERVICE_UNAVAILABLE", "no Ethereum node is configured (set ETH_RPC_URL)"
    )


def node_failed(exc: Exception) -> ServiceError:
    return ServiceError(503, "SERVICE_UNAVAILABLE", f"the Ethereum node did not answer: {exc}")


def sealing_owner(user_id: uuid.UUID | None) -> uuid.UUID:
    return SHARED_OWNER if user_id is None else user_id


def wallet_json(row: WalletRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "label": row.label,
        "kind": row.kind,
        "address": to_checksum_address(row.address),
        "chainId": row.chain_id,
        "devchainIndex": row.devchain_index,
        "shared": row.user_id is None,
        "createdAt": iso_millis(row.created_at),
    }


def parse_private_key(text: str) -> tuple[str, bytes]:
    """(0x-hex key, 20-byte address) of a secp256k1 private key given as 64 hex digits."""
    if not _HEX_KEY.match(text.strip()):
        raise ServiceError(
            400, "VALIDATION_ERROR", "privateKey must be 64 hex digits", field="privateKey"
        )
    hex_key = text.strip().lower().removeprefix("0x")
    try:
        account = Account.from_key("0x" + hex_key)
    except ValueError as exc:  # zero, or not below the curve order
        raise ServiceError(
            400, "VALIDATION_ERROR", "privateKey is not a valid secp256k1 key", field="privateKey"
        ) from exc
    return "0x" + hex_key, bytes.fromhex(account.address[2:])


async def devchain_info(rpc: EvmRpc) -> DevchainInfo | None:
    """The dev chain's description, or None when the node is another one."""
    try:
        info = await rpc.call("devchain_info")
    except RpcError as exc:
        if exc.code is None:
            raise
        return None  # method not found (or refused): a real node
    if not isinstance(info, dict) or not info.get("private_keys"):
        return None
    return DevchainInfo(
        chain_id=int(info["chain_id"]),
        accounts=[str(a) for a in info.get("accounts", [])],
        private_keys=[str(k) for k in info["private_keys"]],
        pools=dict(info.get("pools") or {}),
    )


async def list_wallets(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    return {"accounts": [wallet_json(w) for w in await repo.list_wallets(conn, user_id)]}


async def usable_wallet(conn: Connection, user_id: uuid.UUID, wallet_id: int) -> WalletRow:
    """One of the user's wallets or a shared one; anything else is a 404."""
    wallet = await repo.get_wallet(conn, wallet_id)
    if wallet is None or (wallet.user_id is not None and wallet.user_id != user_id):
        raise wallet_not_found(wallet_id)
    return wallet


async def create_wallet(
    conn: Connection,
    box: SecretBox,
    user_id: uuid.UUID,
    rpc_url: str | None,
    *,
    label: str,
    private_key: str | None,
    devchain_index: int | None,
) -> dict[str, Any]:
    if (private_key is None) == (devchain_index is None):
        raise ServiceError(
            400, "VALIDATION_ERROR", "give exactly one of privateKey and devchainIndex"
        )
    if not rpc_url:
        raise no_node()
    async with EvmRpc(rpc_url, timeout=RPC_TIMEOUT_SECONDS) as rpc:
        try:
            chain_id = await rpc.chain_id()
            info = await devchain_info(rpc) if devchain_index is not None else None
        except RpcError as exc:
            raise node_failed(exc) from exc
    kind = "KEY"
    if devchain_index is not None:
        if info is None:
            raise ServiceError(
                400,
                "VALIDATION_ERROR",
                "devchainIndex needs the embedded dev chain, and the node is another one",
                field="devchainIndex",
            )
        if not 0 <= devchain_index < len(info.private_keys):
            raise ServiceError(
                400,
                "VALIDATION_ERROR",
                f"devchainIndex must be between 0 and {len(info.private_keys) - 1}",
                field="devchainIndex",
            )
        private_key, kind = info.private_keys[devchain_index], "DEVCHAIN"
    assert private_key is not None
    hex_key, address = parse_private_key(private_key)
    row = await repo.insert_wallet(
        conn,
        user_id,
        label=label or (f"dev chain account {devchain_index}" if kind == "DEVCHAIN" else ""),
        kind=kind,
        chain_id=chain_id,
        address=address,
        private_key_enc=box.seal(hex_key, user_id),
        devchain_index=devchain_index,
    )
    if row is None:
        raise ServiceError(
            409, "CONFLICT", "this address is already registered as an account", field="privateKey"
        )
    return wallet_json(row)


async def delete_wallet(conn: Connection, user_id: uuid.UUID, role: str, wallet_id: int) -> None:
    """The owner deletes their own wallet; a shared one only an ADMIN. A wallet a droid uses or
    has used (its transactions refer to it) is a 409."""
    async with conn.transaction():
        wallet = await usable_wallet(conn, user_id, wallet_id)
        if wallet.user_id is None and role != Role.ADMIN:
            raise ServiceError(403, "FORBIDDEN", "only an ADMIN may delete a shared account")
        if await repo.wallet_in_use(conn, wallet_id):
            raise ServiceError(409, "CONFLICT", f"account {wallet_id} is used by a droid")
        await repo.delete_wallet(conn, wallet_id)


async def wallet_private_key(conn: Connection, box: SecretBox, wallet_id: int) -> str:
    """The 0x-hex private key of a wallet, for signing its transactions."""
    sealed = await repo.sealed_wallet_key(conn, wallet_id)
    if sealed is None:
        raise wallet_not_found(wallet_id)
    owner, blob = sealed
    return box.open(blob, sealing_owner(owner))


async def register_devchain_wallet(
    conn: Connection, box: SecretBox, info: DevchainInfo
) -> WalletRow | None:
    """The dev chain's funded account as a shared wallet; None when it is registered already."""
    hex_key, address = parse_private_key(info.private_keys[DEVCHAIN_WALLET_INDEX])
    return await repo.insert_wallet(
        conn,
        None,
        label=DEVCHAIN_WALLET_LABEL,
        kind="DEVCHAIN",
        chain_id=info.chain_id,
        address=address,
        private_key_enc=box.seal(hex_key, SHARED_OWNER),
        devchain_index=DEVCHAIN_WALLET_INDEX,
    )


async def rotate_key(conn: Connection, old: SecretBox, new: SecretBox) -> int:
    """Re-seal every wallet's private key from the old key to the new one, in one transaction.
    A row that does not open with the old key aborts the rotation with nothing changed."""
    async with conn.transaction():
        resealed: list[tuple[int, bytes]] = []
        for wallet_id, user_id, blob in await repo.lock_all_wallet_keys(conn):
            owner = sealing_owner(user_id)
            try:
                resealed.append((wallet_id, new.seal(old.open(blob, owner), owner)))
            except DecryptionError as exc:
                raise DecryptionError(
                    f"droid account {wallet_id} does not open with the current key"
                ) from exc
        if resealed:
            await repo.replace_wallet_keys(conn, resealed)
    return len(resealed)
