"""SQL for trading accounts: the integer identity the engine knows a user by."""

from __future__ import annotations

import uuid

from ordex.db.types import Connection


async def find_account_id(conn: Connection, user_id: uuid.UUID) -> int | None:
    account_id: int | None = await conn.fetchval(
        "SELECT id FROM trading_accounts WHERE user_id = $1", user_id
    )
    return account_id


async def ensure_account_id(conn: Connection, user_id: uuid.UUID) -> int:
    """The user's account id, created on first use; concurrent first uses agree on one row."""
    # Looked up first: every order asks, and only the first one ever creates the row.
    found = await find_account_id(conn, user_id)
    if found is not None:
        return found
    account_id: int | None = await conn.fetchval(
        """
        INSERT INTO trading_accounts (user_id) VALUES ($1)
        ON CONFLICT (user_id) DO NOTHING
        RETURNING id
        """,
        user_id,
    )
    if account_id is None:
        account_id = await find_account_id(conn, user_id)
    assert account_id is not None
    return account_id
