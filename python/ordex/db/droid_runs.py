"""SQL of the droid controller: the droids to run, their sessions, bots, transactions (intent
rows written before sending) and history snapshots. Schema: migrations/*_droids.sql."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.droids import CONFIG_COLUMNS, DroidConfig
from ordex.db.types import Connection


@dataclass(frozen=True, slots=True)
class DroidRun(DroidConfig):
    """A droid with its pool and wallet, as the controller needs them."""

    id: int
    user_id: uuid.UUID
    active: int
    wallet_id: int
    wallet_user_id: uuid.UUID | None
    wallet_address: bytes
    private_key_enc: bytes
    pool_address: bytes
    token0: bytes
    token1: bytes
    token0_symbol: str | None
    token1_symbol: str | None
    token0_decimals: int
    token1_decimals: int
    fee_tier: int
    tick_spacing: int
    price_inverted: bool


_DROID_SELECT = (
    "SELECT d.id, d.user_id, d.active, "
    + ", ".join(f"d.{column}" for column in CONFIG_COLUMNS)
    + """,
       w.id AS wallet_id, w.user_id AS wallet_user_id, w.address AS wallet_address,
       w.private_key_enc, p.address AS pool_address, p.token0, p.token1, p.token0_symbol,
       p.token1_symbol, p.token0_decimals, p.token1_decimals, p.fee_tier, p.tick_spacing,
       p.price_inverted
FROM droids d JOIN wallets w ON w.id = d.wallet_id JOIN droid_pools p ON p.id = d.pool_id
"""
)


async def droids_to_run(conn: Connection) -> list[int]:
    """Droids that are not paused, or paused with an open session (still snapshotted)."""
    rows = await conn.fetch(
        """
        SELECT id FROM droids WHERE active <> 0
        UNION
        SELECT droid_id FROM droid_sessions WHERE stopped_at IS NULL
        ORDER BY 1
        """
    )
    return [int(r[0]) for r in rows]


async def get_droid(conn: Connection, droid_id: int) -> DroidRun | None:
    row = await conn.fetchrow(_DROID_SELECT + " WHERE d.id = $1", droid_id)
    return None if row is None else DroidRun(**dict(row))


async def set_active(conn: Connection, droid_id: int, expected: int, new: int) -> bool:
    """Moves `active` from `expected` to `new` (not over a change made meanwhile)."""
    result = await conn.execute(
        "UPDATE droids SET active = $3, updated_at = now() WHERE id = $1 AND active = $2",
        droid_id,
        expected,
        new,
    )
    return bool(result.endswith(" 1"))


# -- sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRun:
    id: int
    status: str
    cycles: int
    gas_spent_wei: int
    ema_price: Decimal | None
    ema_samples: int
    start_price: Decimal | None
    start_amount0: int | None
    start_amount1: int | None
    breaker_tripped: str | None
    state: dict[str, Any]


_SESSION_COLUMNS = """id, status, cycles, gas_spent_wei, ema_price, ema_samples, start_price,
    start_amount0, start_amount1, breaker_tripped, state::text AS state"""


def _session(row: asyncpg.Record) -> SessionRun:
    return SessionRun(
        id=int(row["id"]),
        status=row["status"],
        cycles=int(row["cycles"]),
        gas_spent_wei=int(row["gas_spent_wei"]),
        ema_price=row["ema_price"],
        ema_samples=int(row["ema_samples"]),
        start_price=row["start_price"],
        start_amount0=None if row["start_amount0"] is None else int(row["start_amount0"]),
        start_amount1=None if row["start_amount1"] is None else int(row["start_amount1"]),
        breaker_tripped=row["breaker_tripped"],
        state=jsonb.decode(row["state"]) or {},
    )


async def open_session(conn: Connection, droid_id: int) -> SessionRun | None:
    row = await conn.fetchrow(
        f"SELECT {_SESSION_COLUMNS} FROM droid_sessions WHERE droid_id = $1 AND stopped_at IS NULL",
        droid_id,
    )
    return None if row is None else _session(row)


async def start_session(conn: Connection, droid_id: int) -> SessionRun:
    row = await conn.fetchrow(
        f"INSERT INTO droid_sessions (droid_id) VALUES ($1) RETURNING {_SESSION_COLUMNS}",
        droid_id,
    )
    assert row is not None
    return _session(row)


async def stop_session(conn: Connection, session_id: int, status: str, result: str) -> None:
    await conn.execute(
        """
        UPDATE droid_sessions SET status = $2, stopped_at = now(), last_result = $3,
               updated_at = now()
        WHERE id = $1 AND stopped_at IS NULL
        """,
        session_id,
        status,
        result,
    )


_SESSION_FIELDS = {
    "status": "status",
    "cycles": "cycles",
    "ema_price": "ema_price",
    "ema_samples": "ema_samples",
    "start_price": "start_price",
    "start_amount0": "start_amount0",
    "start_amount1": "start_amount1",
    "last_action": "last_action",
    "last_result": "last_result",
    "breaker_tripped": "breaker_tripped",
    "error": "error",
    "state": "state::jsonb",
}


async def update_session(conn: Connection, session_id: int, **changes: Any) -> None:
    clause, args = jsonb.set_clause(changes, _SESSION_FIELDS, 2)
    extra = ""
    if "last_action" in changes:
        extra += ", last_action_at = now()"
    if "breaker_tripped" in changes:
        index = 2 + list(changes).index("breaker_tripped")
        extra += f", breaker_tripped_at = CASE WHEN ${index}::text IS NULL THEN NULL ELSE now() END"
    await conn.execute(
        f"UPDATE droid_sessions SET {clause}{extra} WHERE id = $1", session_id, *args
    )


async def add_gas(conn: Connection, session_id: int, wei: int) -> None:
    await conn.execute(
        "UPDATE droid_sessions SET gas_spent_wei = gas_spent_wei + $2, updated_at = now() "
        "WHERE id = $1",
        session_id,
        Decimal(wei),
    )


# -- bots -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BotRow:
    id: int
    token_id: int
    tick_lower: int
    tick_upper: int
    liquidity: int
    rung_index: int
    status: str


def _bot(row: asyncpg.Record) -> BotRow:
    return BotRow(
        id=int(row["id"]),
        token_id=int(row["token_id"]),
        tick_lower=int(row["tick_lower"]),
        tick_upper=int(row["tick_upper"]),
        liquidity=int(row["liquidity"]),
        rung_index=int(row["rung_index"]),
        status=row["status"],
    )


async def active_bots(conn: Connection, droid_id: int) -> list[BotRow]:
    rows = await conn.fetch(
        "SELECT id, token_id, tick_lower, tick_upper, liquidity, rung_index, status "
        "FROM droid_bots WHERE droid_id = $1 AND status = 'ACTIVE' ORDER BY token_id",
        droid_id,
    )
    return [_bot(r) for r in rows]


async def upsert_bot(
    conn: Connection,
    droid_id: int,
    session_id: int | None,
    token_id: int,
    tick_lower: int,
    tick_upper: int,
    liquidity: int,
    rung_index: int,
    funding_usd: Decimal | None = None,
    amount0: int | None = None,
    amount1: int | None = None,
) -> int:
    """The bot of an NFT the droid holds (re-activated and updated if known)."""
    value = await conn.fetchval(
        """
        INSERT INTO droid_bots (droid_id, session_id, token_id, tick_lower, tick_upper, liquidity,
                                rung_index, funding_usd, amount0, amount1)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (droid_id, token_id) DO UPDATE
            SET liquidity = EXCLUDED.liquidity, status = 'ACTIVE', closed_at = NULL,
                session_id = COALESCE(EXCLUDED.session_id, droid_bots.session_id),
                funding_usd = COALESCE(EXCLUDED.funding_usd, droid_bots.funding_usd),
                amount0 = COALESCE(EXCLUDED.amount0, droid_bots.amount0),
                amount1 = COALESCE(EXCLUDED.amount1, droid_bots.amount1)
        RETURNING id
        """,
        droid_id,
        session_id,
        Decimal(token_id),
        tick_lower,
        tick_upper,
        Decimal(liquidity),
        rung_index,
        funding_usd,
        None if amount0 is None else Decimal(amount0),
        None if amount1 is None else Decimal(amount1),
    )
    return int(value)


async def set_bot_liquidity(conn: Connection, droid_id: int, token_id: int, liquidity: int) -> None:
    await conn.execute(
        "UPDATE droid_bots SET liquidity = $3 WHERE droid_id = $1 AND token_id = $2",
        droid_id,
        Decimal(token_id),
        Decimal(liquidity),
    )


async def close_bot(conn: Connection, droid_id: int, token_id: int) -> None:
    await conn.execute(
        """
        UPDATE droid_bots SET status = 'CLOSED', liquidity = 0, closed_at = now()
        WHERE droid_id = $1 AND token_id = $2 AND status = 'ACTIVE'
        """,
        droid_id,
        Decimal(token_id),
    )


async def claimed_by_other_droids(conn: Connection, droid_id: int, wallet_id: int) -> set[int]:
    """NFTs that other droids signing from the same wallet hold (not this droid's to adopt)."""
    rows = await conn.fetch(
        """
        SELECT b.token_id FROM droid_bots b JOIN droids d ON d.id = b.droid_id
        WHERE d.wallet_id = $2 AND b.droid_id <> $1 AND b.status = 'ACTIVE'
        """,
        droid_id,
        wallet_id,
    )
    return {int(r["token_id"]) for r in rows}


async def bot_id(conn: Connection, droid_id: int, token_id: int) -> int | None:
    value = await conn.fetchval(
        "SELECT id FROM droid_bots WHERE droid_id = $1 AND token_id = $2",
        droid_id,
        Decimal(token_id),
    )
    return None if value is None else int(value)


# -- transactions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TxRow:
    id: int
    intent_id: uuid.UUID
    kind: str
    status: str
    tx_hash: bytes | None
    nonce: int | None
    attempts: int
    request: dict[str, Any]


def _tx(row: asyncpg.Record) -> TxRow:
    return TxRow(
        id=int(row["id"]),
        intent_id=row["intent_id"],
        kind=row["kind"],
        status=row["status"],
        tx_hash=row["tx_hash"],
        nonce=row["nonce"],
        attempts=int(row["attempts"]),
        request=jsonb.decode(row["request"]) or {},
    )


async def insert_tx(
    conn: Connection,
    *,
    droid_id: int,
    session_id: int | None,
    wallet_id: int,
    intent_id: uuid.UUID,
    kind: str,
    tx_hash: bytes,
    nonce: int,
    gas_limit: int,
    max_fee_per_gas: int,
    max_priority_fee_per_gas: int,
    request: dict[str, Any],
    bot_id: int | None = None,
) -> int:
    """The intent row of a signed transaction, written before it is sent."""
    value = await conn.fetchval(
        """
        INSERT INTO droid_transactions (droid_id, session_id, bot_id, wallet_id, intent_id, kind,
            status, tx_hash, nonce, gas_limit, max_fee_per_gas, max_priority_fee_per_gas,
            attempts, request)
        VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8, $9, $10, $11, 1, $12::jsonb)
        RETURNING id
        """,
        droid_id,
        session_id,
        bot_id,
        wallet_id,
        intent_id,
        kind,
        tx_hash,
        nonce,
        gas_limit,
        Decimal(max_fee_per_gas),
        Decimal(max_priority_fee_per_gas),
        jsonb.encode(request),
    )
    return int(value)


async def record_failure(
    conn: Connection,
    *,
    droid_id: int,
    session_id: int | None,
    wallet_id: int,
    intent_id: uuid.UUID,
    kind: str,
    error: str,
    attempts: int,
    request: dict[str, Any],
) -> None:
    """A transaction that could not even be signed or sent (e.g. its gas estimate reverted)."""
    await conn.execute(
        """
        INSERT INTO droid_transactions (droid_id, session_id, wallet_id, intent_id, kind, status,
            attempts, error, request)
        VALUES ($1, $2, $3, $4, $5, 'failed', $6, $7, $8::jsonb)
        """,
        droid_id,
        session_id,
        wallet_id,
        intent_id,
        kind,
        attempts,
        error,
        jsonb.encode(request),
    )


async def finish_tx(
    conn: Connection,
    tx_id: int,
    *,
    status: str,
    gas_used: int | None = None,
    effective_gas_price: int | None = None,
    block_number: int | None = None,
    error: str | None = None,
    result: dict[str, Any] | None = None,
    bot_id: int | None = None,
) -> None:
    await conn.execute(
        """
        UPDATE droid_transactions
        SET status = $2, gas_used = $3, effective_gas_price = $4, block_number = $5, error = $6,
            result = $7::jsonb, bot_id = COALESCE($8, bot_id), updated_at = now(),
            mined_at = CASE WHEN $5::bigint IS NULL THEN NULL ELSE now() END
        WHERE id = $1
        """,
        tx_id,
        status,
        gas_used,
        None if effective_gas_price is None else Decimal(effective_gas_price),
        block_number,
        error,
        None if result is None else jsonb.encode(result),
        bot_id,
    )


async def bump_attempts(conn: Connection, tx_id: int) -> None:
    await conn.execute(
        "UPDATE droid_transactions SET attempts = attempts + 1, updated_at = now() WHERE id = $1",
        tx_id,
    )


async def pending_txs(conn: Connection, droid_id: int) -> list[TxRow]:
    rows = await conn.fetch(
        """
        SELECT id, intent_id, kind, status, tx_hash, nonce, attempts, request::text AS request
        FROM droid_transactions WHERE droid_id = $1 AND status = 'pending' ORDER BY nonce, id
        """,
        droid_id,
    )
    return [_tx(r) for r in rows]


# -- history ----------------------------------------------------------------------------------


async def last_snapshot_age(conn: Connection, droid_id: int) -> float | None:
    """Seconds since the droid's last history row (None: none yet)."""
    value = await conn.fetchval(
        "SELECT extract(epoch FROM now() - max(taken_at)) FROM droid_history WHERE droid_id = $1",
        droid_id,
    )
    return None if value is None else float(value)


_SNAPSHOT_COLUMNS = frozenset(
    {
        "aum_usd",
        "price",
        "token0_positions",
        "token1_positions",
        "token0_fees",
        "token1_fees",
        "token0_wallet",
        "token1_wallet",
        "eth_wallet",
        "hodl_value_usd",
        "impermanent_loss_usd",
    }
)


async def insert_snapshot(
    conn: Connection, droid_id: int, session_id: int | None, **values: Any
) -> None:
    columns = list(values)
    unknown = set(columns) - _SNAPSHOT_COLUMNS
    if unknown:
        raise ValueError(f"not history columns: {sorted(unknown)}")
    placeholders = ", ".join(f"${i}" for i in range(3, 3 + len(columns)))
    await conn.execute(
        f"INSERT INTO droid_history (droid_id, session_id, {', '.join(columns)}) "
        f"VALUES ($1, $2, {placeholders})",
        droid_id,
        session_id,
        *values.values(),
    )
