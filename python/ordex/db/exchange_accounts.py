"""SQL for exchange accounts. Credentials arrive here already sealed (bytea) and are never selected
by the listing queries."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordex.db import jsonb
from ordex.db.types import Connection

_METADATA = (
    "id, user_id, exchange, label, uid, passphrase_enc IS NOT NULL AS has_passphrase, is_valid, "
    "created_at, updated_at"
)
UPDATABLE = {
    "exchange": "exchange",
    "label": "label",
    "uid": "uid",
    "api_key_enc": "api_key_enc",
    "secret_enc": "secret_enc",
    "passphrase_enc": "passphrase_enc",
    "is_valid": "is_valid",
}
# Sealed columns, for the key rotation command.
SEALED_COLUMNS = ("api_key_enc", "secret_enc", "passphrase_enc")


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account without its credentials."""

    id: uuid.UUID
    user_id: uuid.UUID
    exchange: str
    label: str | None
    uid: str | None
    has_passphrase: bool
    is_valid: bool | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SealedCredentials:
    api_key_enc: bytes
    secret_enc: bytes
    passphrase_enc: bytes | None


async def list_accounts(conn: Connection, user_id: uuid.UUID) -> list[AccountRow]:
    records = await conn.fetch(
        f"SELECT {_METADATA} FROM exchange_accounts WHERE user_id = $1 ORDER BY created_at, id",
        user_id,
    )
    return [AccountRow(**dict(r)) for r in records]


async def insert_account(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    exchange: str,
    label: str | None,
    uid: str | None,
    sealed: SealedCredentials,
) -> AccountRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO exchange_accounts
            (user_id, exchange, label, uid, api_key_enc, secret_enc, passphrase_enc)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        RETURNING {_METADATA}
        """,
        user_id, exchange, label, uid, sealed.api_key_enc, sealed.secret_enc,
        sealed.passphrase_enc,
    )  # fmt: skip
    assert record is not None
    return AccountRow(**dict(record))


async def update_account(
    conn: Connection, user_id: uuid.UUID, account_id: uuid.UUID, changes: Mapping[str, Any]
) -> AccountRow | None:
    assignments, args = jsonb.set_clause(changes, UPDATABLE, first_param=3)
    record = await conn.fetchrow(
        f"""
        UPDATE exchange_accounts SET {assignments} WHERE id = $1 AND user_id = $2
        RETURNING {_METADATA}
        """,
        account_id, user_id, *args,
    )  # fmt: skip
    return None if record is None else AccountRow(**dict(record))


async def delete_account(
    conn: Connection, user_id: uuid.UUID, account_id: uuid.UUID
) -> AccountRow | None:
    record = await conn.fetchrow(
        f"DELETE FROM exchange_accounts WHERE id = $1 AND user_id = $2 RETURNING {_METADATA}",
        account_id, user_id,
    )  # fmt: skip
    return None if record is None else AccountRow(**dict(record))


async def get_sealed_credentials(
    conn: Connection, user_id: uuid.UUID, account_id: uuid.UUID
) -> SealedCredentials | None:
    """The sealed credentials of one of the owner's accounts, for the code that trades with them."""
    record = await conn.fetchrow(
        """
        SELECT api_key_enc, secret_enc, passphrase_enc FROM exchange_accounts
        WHERE id = $1 AND user_id = $2
        """,
        account_id, user_id,
    )  # fmt: skip
    return None if record is None else SealedCredentials(**dict(record))


async def lock_all_sealed(conn: Connection) -> list[tuple[uuid.UUID, uuid.UUID, SealedCredentials]]:
    """Every row's (id, owner, sealed credentials), with writers locked out until the transaction
    ends, so no row sealed with the old key can slip in during a key rotation."""
    await conn.execute("LOCK TABLE exchange_accounts IN EXCLUSIVE MODE")
    records = await conn.fetch(
        "SELECT id, user_id, api_key_enc, secret_enc, passphrase_enc FROM exchange_accounts "
        "ORDER BY id"
    )
    return [
        (
            r["id"],
            r["user_id"],
            SealedCredentials(r["api_key_enc"], r["secret_enc"], r["passphrase_enc"]),
        )
        for r in records
    ]


async def replace_sealed(conn: Connection, rows: list[tuple[uuid.UUID, SealedCredentials]]) -> int:
    """Write re-sealed credentials back (updated_at untouched: the account itself did not change)."""
    status: str = await conn.execute(
        """
        UPDATE exchange_accounts AS a
        SET api_key_enc = r.api_key_enc, secret_enc = r.secret_enc, passphrase_enc = r.passphrase_enc
        FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::bytea[])
            AS r(id, api_key_enc, secret_enc, passphrase_enc)
        WHERE a.id = r.id
        """,
        [row_id for row_id, _ in rows],
        [s.api_key_enc for _, s in rows],
        [s.secret_enc for _, s in rows],
        [s.passphrase_enc for _, s in rows],
    )
    return int(status.rsplit(" ", 1)[1])
