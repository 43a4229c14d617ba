"""A user's trading account: the integer `account` the engine and the ledger know them by."""

from __future__ import annotations

import uuid

from ordex.db import trading_accounts as accounts_repo
from ordex.db.types import Connection

HOUSE_ACCOUNT_ID = 1


async def ensure_trading_account(conn: Connection, user_id: uuid.UUID) -> int:
    """The user's account id, created on first use."""
    return await accounts_repo.ensure_account_id(conn, user_id)


async def find_trading_account(conn: Connection, user_id: uuid.UUID) -> int | None:
    """The user's account id, or None before their first deposit or order (reads create nothing)."""
    return await accounts_repo.find_account_id(conn, user_id)
