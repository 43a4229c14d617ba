"""Exchange accounts (API key, secret, passphrase) sealed with AES-256-GCM before they reach the
database. `/api/accounts` and `/api/exchange-keys` are two views of these rows; neither ever returns
a credential. `credentials()` opens them for code that talks to the exchange on the owner's behalf.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ordex.crypto import DecryptionError, SecretBox
from ordex.db import exchange_accounts as accounts_repo
from ordex.db.exchange_accounts import AccountRow, SealedCredentials
from ordex.db.types import Connection
from ordex.services.errors import ServiceError
from ordex.services.state_events import Actor, recording
from ordex.services.workspace_views import account_json

# The exchanges `/api/exchange-keys` documents; `/api/accounts` takes any ccxt exchange id.
KEY_EXCHANGES = ("binance", "okx", "bybit", "mexc", "coinbase", "kraken")
PASSPHRASE_EXCHANGES = ("okx",)


def account_not_found() -> ServiceError:
    return ServiceError(404, "ACCOUNT_NOT_FOUND", "Account not found")


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    secret: str
    passphrase: str | None

    def __repr__(self) -> str:  # never print credentials by accident
        return "Credentials(***)"


async def list_accounts(conn: Connection, user_id: uuid.UUID) -> list[AccountRow]:
    return await accounts_repo.list_accounts(conn, user_id)


async def create_account(
    conn: Connection,
    actor: Actor,
    box: SecretBox,
    *,
    exchange: str,
    api_key: str,
    secret: str,
    passphrase: str | None,
    label: str | None,
    uid: str | None = None,
) -> AccountRow:
    sealed = SealedCredentials(
        api_key_enc=box.seal(api_key, actor.user_id),
        secret_enc=box.seal(secret, actor.user_id),
        passphrase_enc=box.seal_optional(passphrase, actor.user_id),
    )
    async with recording(conn, actor) as changes:
        row = await accounts_repo.insert_account(
            conn, actor.user_id, exchange=exchange, label=label, uid=uid, sealed=sealed
        )
        changes.add("account", "created", row.id, account_json(row))
    return row


async def update_account(
    conn: Connection,
    actor: Actor,
    box: SecretBox,
    account_id: uuid.UUID,
    changes_in: Mapping[str, Any],
) -> AccountRow:
    """Change metadata and/or replace credentials. A null passphrase removes it; api key and secret
    can be replaced but not removed."""
    update: dict[str, Any] = {
        name: changes_in[name] for name in ("exchange", "label", "uid") if name in changes_in
    }
    if "apiKey" in changes_in:
        update["api_key_enc"] = box.seal(changes_in["apiKey"], actor.user_id)
    if "secret" in changes_in:
        update["secret_enc"] = box.seal(changes_in["secret"], actor.user_id)
    if "passphrase" in changes_in:
        update["passphrase_enc"] = box.seal_optional(changes_in["passphrase"], actor.user_id)
    if update.keys() & {"exchange", "api_key_enc", "secret_enc", "passphrase_enc"}:
        update["is_valid"] = None  # new credentials have not been checked against the exchange
    async with recording(conn, actor) as changes:
        row = await accounts_repo.update_account(conn, actor.user_id, account_id, update)
        if row is None:
            raise account_not_found()
        changes.add("account", "updated", row.id, account_json(row))
    return row


async def delete_account(conn: Connection, actor: Actor, account_id: uuid.UUID) -> AccountRow:
    async with recording(conn, actor) as changes:
        row = await accounts_repo.delete_account(conn, actor.user_id, account_id)
        if row is None:
            raise account_not_found()
        changes.add("account", "deleted", row.id, account_json(row))
    return row


async def credentials(
    conn: Connection, box: SecretBox, user_id: uuid.UUID, account_id: uuid.UUID
) -> Credentials:
    """The opened credentials of one of the owner's accounts."""
    sealed = await accounts_repo.get_sealed_credentials(conn, user_id, account_id)
    if sealed is None:
        raise account_not_found()
    try:
        return Credentials(
            api_key=box.open(sealed.api_key_enc, user_id),
            secret=box.open(sealed.secret_enc, user_id),
            passphrase=box.open_optional(sealed.passphrase_enc, user_id),
        )
    except DecryptionError as exc:
        raise ServiceError(
            500, "CREDENTIALS_UNREADABLE", "Stored credentials cannot be decrypted with this key"
        ) from exc


async def rotate_key(conn: Connection, old: SecretBox, new: SecretBox) -> int:
    """Re-seal every account's credentials from the old key to the new one in one transaction.
    Any row that does not open with the old key aborts the rotation with nothing changed."""
    async with conn.transaction():
        rows = await accounts_repo.lock_all_sealed(conn)
        resealed: list[tuple[uuid.UUID, SealedCredentials]] = []
        for row_id, owner_id, sealed in rows:
            try:
                resealed.append(
                    (
                        row_id,
                        SealedCredentials(
                            api_key_enc=new.seal(old.open(sealed.api_key_enc, owner_id), owner_id),
                            secret_enc=new.seal(old.open(sealed.secret_enc, owner_id), owner_id),
                            passphrase_enc=new.seal_optional(
                                old.open_optional(sealed.passphrase_enc, owner_id), owner_id
                            ),
                        ),
                    )
                )
            except DecryptionError as exc:
                raise DecryptionError(
                    f"exchange account {row_id} does not open with the current key"
                ) from exc
        if resealed:
            await accounts_repo.replace_sealed(conn, resealed)
    return len(resealed)
