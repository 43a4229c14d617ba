"""SQL for the droids: wallets, pools, droids, and what the controller records (sessions, bots,
history). Sealed private keys are selected only by `sealed_wallet_key` and the key rotation."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordex.db.types import Connection

# --- wallets ---------------------------------------------------------------------------------

_WALLET = "id, user_id, label, kind, chain_id, address, devchain_index, created_at"


@dataclass(frozen=True, slots=True)
class WalletRow:
    """A wallet without its private key."""

    id: int
    user_id: uuid.UUID | None
    label: str
    kind: str
    chain_id: int
    address: bytes
    devchain_index: int | None
    created_at: datetime


async def list_wallets(conn: Connection, user_id: uuid.UUID) -> list[WalletRow]:
    """The user's own wallets and the shared ones (user_id NULL)."""
    records = await conn.fetch(
        f"SELECT {_WALLET} FROM wallets WHERE user_id = $1 OR user_id IS NULL ORDER BY id",
        user_id,
    )
    return [WalletRow(**dict(r)) for r in records]


async def get_wallet(conn: Connection, wallet_id: int) -> WalletRow | None:
    record = await conn.fetchrow(f"SELECT {_WALLET} FROM wallets WHERE id = $1", wallet_id)
    return None if record is None else WalletRow(**dict(record))


async def find_wallet(conn: Connection, chain_id: int, address: bytes) -> WalletRow | None:
    record = await conn.fetchrow(
        f"SELECT {_WALLET} FROM wallets WHERE chain_id = $1 AND address = $2", chain_id, address
    )
    return None if record is None else WalletRow(**dict(record))


async def insert_wallet(
    conn: Connection,
    user_id: uuid.UUID | None,
    *,
    label: str,
    kind: str,
    chain_id: int,
    address: bytes,
    private_key_enc: bytes,
    devchain_index: int | None,
) -> WalletRow | None:
    """The new row, or None when the address is already registered on that chain."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO wallets
            (user_id, label, kind, chain_id, address, private_key_enc, devchain_index)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (chain_id, address) DO NOTHING
        RETURNING {_WALLET}
        """,
        user_id, label, kind, chain_id, address, private_key_enc, devchain_index,
    )  # fmt: skip
    return None if record is None else WalletRow(**dict(record))


async def delete_wallet(conn: Connection, wallet_id: int) -> bool:
    deleted = await conn.fetchval("DELETE FROM wallets WHERE id = $1 RETURNING id", wallet_id)
    return deleted is not None


async def wallet_in_use(conn: Connection, wallet_id: int) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM droids WHERE wallet_id = $1)"
            " OR EXISTS (SELECT 1 FROM droid_transactions WHERE wallet_id = $1)",
            wallet_id,
        )
    )


async def sealed_wallet_key(
    conn: Connection, wallet_id: int
) -> tuple[uuid.UUID | None, bytes] | None:
    """(owner, sealed private key) of a wallet, for the code that signs with it."""
    record = await conn.fetchrow(
        "SELECT user_id, private_key_enc FROM wallets WHERE id = $1", wallet_id
    )
    return None if record is None else (record["user_id"], bytes(record["private_key_enc"]))


async def lock_all_wallet_keys(conn: Connection) -> list[tuple[int, uuid.UUID | None, bytes]]:
    """Every wallet's (id, owner, sealed key), locked until the transaction ends (key rotation)."""
    records = await conn.fetch(
        "SELECT id, user_id, private_key_enc FROM wallets ORDER BY id FOR UPDATE"
    )
    return [(r["id"], r["user_id"], bytes(r["private_key_enc"])) for r in records]


async def replace_wallet_keys(conn: Connection, rows: Sequence[tuple[int, bytes]]) -> None:
    await conn.executemany("UPDATE wallets SET private_key_enc = $2 WHERE id = $1", list(rows))


# --- pools -----------------------------------------------------------------------------------

_POOL = (
    "id, blockchain, chain_id, address, token0, token1, token0_symbol, token1_symbol, "
    "token0_decimals, token1_decimals, fee_tier, tick_spacing, price_inverted, created_by, "
    "created_at"
)


@dataclass(frozen=True, slots=True)
class PoolRow:
    id: int
    blockchain: str
    chain_id: int
    address: bytes
    token0: bytes
    token1: bytes
    token0_symbol: str | None
    token1_symbol: str | None
    token0_decimals: int
    token1_decimals: int
    fee_tier: int
    tick_spacing: int
    price_inverted: bool
    created_by: uuid.UUID | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewPool:
    blockchain: str
    chain_id: int
    address: bytes
    token0: bytes
    token1: bytes
    token0_symbol: str | None
    token1_symbol: str | None
    token0_decimals: int
    token1_decimals: int
    fee_tier: int
    tick_spacing: int
    price_inverted: bool


async def list_pools(conn: Connection) -> list[PoolRow]:
    records = await conn.fetch(f"SELECT {_POOL} FROM droid_pools ORDER BY id")
    return [PoolRow(**dict(r)) for r in records]


async def get_pool(conn: Connection, pool_id: int) -> PoolRow | None:
    record = await conn.fetchrow(f"SELECT {_POOL} FROM droid_pools WHERE id = $1", pool_id)
    return None if record is None else PoolRow(**dict(record))


async def find_pool(conn: Connection, chain_id: int, address: bytes) -> PoolRow | None:
    record = await conn.fetchrow(
        f"SELECT {_POOL} FROM droid_pools WHERE chain_id = $1 AND address = $2", chain_id, address
    )
    return None if record is None else PoolRow(**dict(record))


async def insert_pool(
    conn: Connection, pool: NewPool, created_by: uuid.UUID | None
) -> PoolRow | None:
    """The new row, or None when the pool is already registered."""
    record = await conn.fetchrow(
        f"""
        INSERT INTO droid_pools
            (blockchain, chain_id, address, token0, token1, token0_symbol, token1_symbol,
             token0_decimals, token1_decimals, fee_tier, tick_spacing, price_inverted, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (chain_id, address) DO NOTHING
        RETURNING {_POOL}
        """,
        pool.blockchain, pool.chain_id, pool.address, pool.token0, pool.token1,
        pool.token0_symbol, pool.token1_symbol, pool.token0_decimals, pool.token1_decimals,
        pool.fee_tier, pool.tick_spacing, pool.price_inverted, created_by,
    )  # fmt: skip
    return None if record is None else PoolRow(**dict(record))


async def delete_pool(conn: Connection, pool_id: int) -> bool:
    deleted = await conn.fetchval("DELETE FROM droid_pools WHERE id = $1 RETURNING id", pool_id)
    return deleted is not None


async def pool_in_use(conn: Connection, pool_id: int) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM droids WHERE pool_id = $1)", pool_id)
    )


# --- droids ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DroidConfig:
    """The configuration a droid is created with and `PATCH .../config` may change: its own
    columns, `CONFIG_COLUMNS`."""

    funding_usd: Decimal
    trigger_type: str
    ema_length: int
    tick_buckets: int
    bucket_offset: int
    funding_curve_type: str
    max_bots: int
    min_price: Decimal
    max_price: Decimal
    falling_rebalance_trigger: Decimal
    rising_rebalance_trigger: Decimal
    max_gas_price: Decimal
    tx_priority: int
    derivative_threshold: Decimal
    ladder_perc_margin: Decimal
    gas_budget_limit: Decimal | None


CONFIG_COLUMNS = tuple(f.name for f in fields(DroidConfig))
_DROID = (
    "id, user_id, wallet_id, pool_id, blockchain, active, "
    + ", ".join(CONFIG_COLUMNS)
    + ", created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class DroidRow(DroidConfig):
    id: int
    user_id: uuid.UUID
    wallet_id: int
    pool_id: int
    blockchain: str
    active: int
    created_at: datetime
    updated_at: datetime


async def list_droids(conn: Connection, user_id: uuid.UUID) -> list[DroidRow]:
    records = await conn.fetch(
        f"SELECT {_DROID} FROM droids WHERE user_id = $1 ORDER BY id", user_id
    )
    return [DroidRow(**dict(r)) for r in records]


async def get_droid(conn: Connection, user_id: uuid.UUID, droid_id: int) -> DroidRow | None:
    record = await conn.fetchrow(
        f"SELECT {_DROID} FROM droids WHERE id = $1 AND user_id = $2", droid_id, user_id
    )
    return None if record is None else DroidRow(**dict(record))


async def insert_droid(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    wallet_id: int,
    pool_id: int,
    blockchain: str,
    active: int,
    config: Mapping[str, Any],
) -> DroidRow:
    columns = ["user_id", "wallet_id", "pool_id", "blockchain", "active", *CONFIG_COLUMNS]
    values = [user_id, wallet_id, pool_id, blockchain, active]
    values += [config[c] for c in CONFIG_COLUMNS]
    placeholders = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    record = await conn.fetchrow(
        f"INSERT INTO droids ({', '.join(columns)}) VALUES ({placeholders}) RETURNING {_DROID}",
        *values,
    )
    assert record is not None
    return DroidRow(**dict(record))


async def lock_droid_config(
    conn: Connection, user_id: uuid.UUID, droid_id: int
) -> dict[str, Any] | None:
    """The configuration columns of one of the user's droids, locked until the transaction ends
    (so a change is checked against the values it will be merged with)."""
    record = await conn.fetchrow(
        f"SELECT {', '.join(CONFIG_COLUMNS)} FROM droids WHERE id = $1 AND user_id = $2 FOR UPDATE",
        droid_id,
        user_id,
    )
    return None if record is None else dict(record)


async def update_droid_config(
    conn: Connection, user_id: uuid.UUID, droid_id: int, changes: Mapping[str, Any]
) -> DroidRow | None:
    unknown = set(changes) - set(CONFIG_COLUMNS)
    if unknown:
        raise ValueError(f"not configuration columns: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
    record = await conn.fetchrow(
        f"""
        UPDATE droids SET {assignments}, updated_at = now()
        WHERE id = $1 AND user_id = $2
        RETURNING {_DROID}
        """,
        droid_id,
        user_id,
        *changes.values(),
    )
    return None if record is None else DroidRow(**dict(record))


async def set_active(
    conn: Connection, user_id: uuid.UUID, droid_id: int, active: int
) -> DroidRow | None:
    record = await conn.fetchrow(
        f"""
        UPDATE droids SET active = $3, updated_at = now()
        WHERE id = $1 AND user_id = $2
        RETURNING {_DROID}
        """,
        droid_id,
        user_id,
        active,
    )
    return None if record is None else DroidRow(**dict(record))


# --- what the controller records -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    status: str
    started_at: datetime
    stopped_at: datetime | None
    cycles: int
    last_action: str | None
    last_action_at: datetime | None
    last_result: str | None
    breaker_tripped: str | None
    gas_spent_wei: Decimal


async def list_sessions(conn: Connection, droid_id: int, limit: int) -> list[SessionRow]:
    records = await conn.fetch(
        """
        SELECT id, status, started_at, stopped_at, cycles, last_action, last_action_at,
               last_result, breaker_tripped, gas_spent_wei
        FROM droid_sessions WHERE droid_id = $1 ORDER BY id DESC LIMIT $2
        """,
        droid_id,
        limit,
    )
    return [SessionRow(**dict(r)) for r in records]


@dataclass(frozen=True, slots=True)
class BotRow:
    id: int
    session_id: int | None
    token_id: Decimal
    tick_lower: int
    tick_upper: int
    liquidity: Decimal
    rung_index: int
    status: str
    created_at: datetime
    closed_at: datetime | None


async def list_bots(conn: Connection, droid_id: int, limit: int) -> list[BotRow]:
    """Active positions first (by rung), then the closed ones, newest first."""
    records = await conn.fetch(
        """
        SELECT id, session_id, token_id, tick_lower, tick_upper, liquidity, rung_index, status,
               created_at, closed_at
        FROM droid_bots WHERE droid_id = $1
        ORDER BY status = 'ACTIVE' DESC,
                 CASE WHEN status = 'ACTIVE' THEN rung_index END, id DESC
        LIMIT $2
        """,
        droid_id,
        limit,
    )
    return [BotRow(**dict(r)) for r in records]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    id: int
    session_id: int | None
    taken_at: datetime
    aum_usd: Decimal
    price: Decimal
    token0_positions: Decimal
    token1_positions: Decimal
    token0_fees: Decimal
    token1_fees: Decimal
    token0_wallet: Decimal
    token1_wallet: Decimal
    eth_wallet: Decimal
    hodl_value_usd: Decimal | None
    impermanent_loss_usd: Decimal | None


async def list_history(
    conn: Connection, droid_id: int, *, before: int | None, limit: int
) -> list[HistoryRow]:
    """Newest first; `before` is the id the previous page ended at (keyset paging)."""
    records = await conn.fetch(
        """
        SELECT id, session_id, taken_at, aum_usd, price, token0_positions, token1_positions,
               token0_fees, token1_fees, token0_wallet, token1_wallet, eth_wallet,
               hodl_value_usd, impermanent_loss_usd
        FROM droid_history
        WHERE droid_id = $1 AND ($2::bigint IS NULL OR id < $2)
        ORDER BY id DESC
        LIMIT $3
        """,
        droid_id,
        before,
        limit,
    )
    return [HistoryRow(**dict(r)) for r in records]
