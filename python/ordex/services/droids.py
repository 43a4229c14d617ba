"""Droids (design/defi.md "Droids"): Uniswap v3 range bots, their configuration and what the
controller has recorded about them (sessions, bots, history); and the pools they trade in.

- A droid belongs to the user who created it: another user's droid is a 404, for every route.
- `active`: 0 pause and 1 run may be set by an OPERATOR; 2 (reset) and 3 (close all and stop) only
  by an ADMIN (403 otherwise). The route stores the request; the controller carries 2 and 3 out.
- Configuration is checked whole after a change (`minPrice` below `maxPrice` with the stored
  values for the fields left out), so a droid never holds a configuration it would refuse.
- Pools are shared by every user and read from the chain when added: the pool's tokens (symbol
  and decimals), fee tier and tick spacing, and that the factory it names knows it by these.
- On the embedded dev chain, its seeded pools and a funded shared wallet are registered at start.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg
from eth_utils.crypto import keccak

from ordex.crypto import SecretBox
from ordex.db import droids as repo
from ordex.db.droid_hedge import HedgeConfig
from ordex.db.droids import NewPool, PoolRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.roles import Role
from ordex.services import droid_accounts, droid_hedge
from ordex.services.droid_accounts import (
    RPC_TIMEOUT_SECONDS,
    devchain_info,
    no_node,
    node_failed,
    usable_wallet,
)
from ordex.services.errors import ServiceError
from ordex.services.evm_rpc import (
    SELECTOR_TOKEN0,
    SELECTOR_TOKEN1,
    EvmRpc,
    RpcError,
    decode_uint,
)

log = get_logger(__name__)

BLOCKCHAIN = "ethereum"
SESSIONS_SHOWN = 50
BOTS_SHOWN = 200
HISTORY_MAX_LIMIT = 1000

# The configuration fields: API name -> column.
CONFIG_FIELDS: dict[str, str] = {
    "fundingUSD": "funding_usd",
    "triggerType": "trigger_type",
    "emaLength": "ema_length",
    "tickBuckets": "tick_buckets",
    "bucketOffset": "bucket_offset",
    "fundingCurveType": "funding_curve_type",
    "maxBots": "max_bots",
    "minPrice": "min_price",
    "maxPrice": "max_price",
    "fallingRebalanceTrigger": "falling_rebalance_trigger",
    "risingRebalanceTrigger": "rising_rebalance_trigger",
    "maxGasPrice": "max_gas_price",
    "txPriority": "tx_priority",
    "derivativeThreshold": "derivative_threshold",
    "ladderPercMargin": "ladder_perc_margin",
    "gasBudgetLimit": "gas_budget_limit",
}
assert set(CONFIG_FIELDS.values()) == set(repo.CONFIG_COLUMNS)

# A quote token is the one prices are counted in: a stablecoin, else WETH, else token1.
STABLE_SYMBOLS = frozenset({"USDC", "USDT", "DAI", "USDC.E", "BUSD", "TUSD", "USDP", "FRAX"})
WRAPPED_ETH_SYMBOLS = frozenset({"WETH", "ETH"})

SELECTOR_FEE = "0x" + keccak(text="fee()")[:4].hex()
SELECTOR_TICK_SPACING = "0x" + keccak(text="tickSpacing()")[:4].hex()
SELECTOR_FACTORY = "0x" + keccak(text="factory()")[:4].hex()
SELECTOR_GET_POOL = "0x" + keccak(text="getPool(address,address,uint24)")[:4].hex()


def droid_not_found(droid_id: int | str) -> ServiceError:
    return ServiceError(404, "NOT_FOUND", f"droid {droid_id} not found")


def pool_not_found(pool_id: int | str) -> ServiceError:
    return ServiceError(404, "NOT_FOUND", f"pool {pool_id} not found", field="poolId")


def invalid(message: str, field: str | None = None) -> ServiceError:
    return ServiceError(400, "VALIDATION_ERROR", message, field=field)


def hex_address(raw: bytes) -> str:
    return "0x" + raw.hex()


def parse_address(text: str, field: str) -> bytes:
    value = text.strip()
    if len(value) != 42 or not value.startswith(("0x", "0X")):
        raise invalid(f"{field} must be a 0x-prefixed 20-byte hex address", field)
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise invalid(f"{field} must be a 0x-prefixed 20-byte hex address", field) from exc


# --- configuration ---------------------------------------------------------------------------


def check_config(config: Mapping[str, Any]) -> None:
    """The rules a whole configuration (column -> value) must keep; a 400 naming the field."""

    def need(ok: bool, api_name: str, rule: str) -> None:
        if not ok:
            raise invalid(f"{api_name} {rule}", api_name)

    c = config
    need(c["funding_usd"] > 0, "fundingUSD", "must be above 0")
    need(c["trigger_type"] in ("EMA", "PRICE"), "triggerType", "must be EMA or PRICE")
    need(c["ema_length"] >= 1, "emaLength", "must be at least 1")
    need(c["tick_buckets"] >= 1, "tickBuckets", "must be at least 1")
    need(c["bucket_offset"] >= 0, "bucketOffset", "must be 0 or more")
    need(
        c["funding_curve_type"] in ("LINEAR", "DECAY", "GAUSSIAN"),
        "fundingCurveType",
        "must be LINEAR, DECAY or GAUSSIAN",
    )
    need(c["max_bots"] >= 1, "maxBots", "must be at least 1")
    need(c["min_price"] >= 0, "minPrice", "must be 0 or more")
    need(c["min_price"] < c["max_price"], "minPrice", "must be below maxPrice")
    for api_name in ("fallingRebalanceTrigger", "risingRebalanceTrigger"):
        value = c[CONFIG_FIELDS[api_name]]
        need(0 < value < 1, api_name, "must lie between 0 and 1 (exclusive)")
    need(c["max_gas_price"] > 0, "maxGasPrice", "must be above 0 (gwei)")
    need(c["tx_priority"] in (0, 1, 2), "txPriority", "must be 0 (low), 1 (medium) or 2 (high)")
    need(c["derivative_threshold"] >= 0, "derivativeThreshold", "must be 0 or more")
    need(0 <= c["ladder_perc_margin"] < 1, "ladderPercMargin", "must lie in [0, 1)")
    budget = c["gas_budget_limit"]
    need(budget is None or budget > 0, "gasBudgetLimit", "must be above 0 (ETH) or null")


def columns_of(fields: Mapping[str, Any]) -> dict[str, Any]:
    """API-named configuration fields -> column-named, in CONFIG_FIELDS order."""
    return {column: fields[name] for name, column in CONFIG_FIELDS.items() if name in fields}


# --- droids ----------------------------------------------------------------------------------


async def list_droids(conn: Connection, user_id: uuid.UUID) -> list[repo.DroidRow]:
    return await repo.list_droids(conn, user_id)


async def get_droid(conn: Connection, user_id: uuid.UUID, droid_id: int) -> repo.DroidRow:
    droid = await repo.get_droid(conn, user_id, droid_id)
    if droid is None:
        raise droid_not_found(droid_id)
    return droid


async def create_droid(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    pool_id: int,
    account_id: int | None,
    blockchain: str | None,
    active: int,
    config: Mapping[str, Any],
) -> repo.DroidRow:
    """`config` is the whole configuration, column-named."""
    check_config(config)
    pool = await repo.get_pool(conn, pool_id)
    if pool is None:
        raise pool_not_found(pool_id)
    if blockchain is not None and blockchain != pool.blockchain:
        raise invalid(f"blockChain must be the pool's ({pool.blockchain})", "blockChain")
    if account_id is None:
        wallets = [w for w in await repo.list_wallets(conn, user_id) if w.chain_id == pool.chain_id]
        # The user's own wallets before the shared ones.
        wallets.sort(key=lambda w: (w.user_id is None, w.id))
        if not wallets:
            raise invalid(
                "no account on this pool's chain: add one (POST /api/droids/accounts)",
                "accountId",
            )
        wallet = wallets[0]
    else:
        wallet = await usable_wallet(conn, user_id, account_id)
        if wallet.chain_id != pool.chain_id:
            raise invalid("the account is on another chain than the pool", "accountId")
    return await repo.insert_droid(
        conn,
        user_id,
        wallet_id=wallet.id,
        pool_id=pool.id,
        blockchain=pool.blockchain,
        active=active,
        config=config,
    )


async def update_config(
    conn: Connection,
    user_id: uuid.UUID,
    droid_id: int,
    changes: Mapping[str, Any],
    hedge: Mapping[str, Any] | None = None,
) -> tuple[repo.DroidRow, HedgeConfig]:
    """Apply column-named changes, checked together with the values kept, and the API-named
    hedge changes (services.droid_hedge), in one transaction."""
    if not changes and not hedge:
        raise invalid("give at least one configuration field")
    async with conn.transaction():
        current = await repo.lock_droid_config(conn, user_id, droid_id)
        if current is None:
            raise droid_not_found(droid_id)
        hedged = await droid_hedge.update_config(conn, user_id, droid_id, hedge or {})
        assert hedged is not None
        if changes:
            check_config({**current, **changes})
            updated = await repo.update_droid_config(conn, user_id, droid_id, changes)
        else:
            updated = await repo.get_droid(conn, user_id, droid_id)
    assert updated is not None
    return updated, hedged


async def set_active(
    conn: Connection, user_id: uuid.UUID, role: str, droid_id: int, active: int
) -> repo.DroidRow:
    if active in (2, 3) and role != Role.ADMIN:
        action = "reset" if active == 2 else "close all"
        raise ServiceError(
            403, "FORBIDDEN", f"only an ADMIN may {action} a droid (active {active})"
        )
    droid = await repo.set_active(conn, user_id, droid_id, active)
    if droid is None:
        raise droid_not_found(droid_id)
    return droid


async def droid_detail(
    conn: Connection, user_id: uuid.UUID, droid_id: int
) -> tuple[repo.DroidRow, list[repo.SessionRow], list[repo.BotRow]]:
    droid = await get_droid(conn, user_id, droid_id)
    sessions = await repo.list_sessions(conn, droid_id, SESSIONS_SHOWN)
    bots = await repo.list_bots(conn, droid_id, BOTS_SHOWN)
    return droid, sessions, bots


async def history(
    conn: Connection, user_id: uuid.UUID, droid_id: int, *, before: int | None, limit: int
) -> tuple[list[repo.HistoryRow], int | None]:
    """A page of snapshots, newest first, and the `before` of the next page (None at the end)."""
    await get_droid(conn, user_id, droid_id)
    rows = await repo.list_history(conn, droid_id, before=before, limit=limit + 1)
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1].id
    return rows, None


# --- pools -----------------------------------------------------------------------------------


def _call(to: str, data: str) -> tuple[str, list[Any]]:
    return ("eth_call", [{"to": to, "data": data}, "latest"])


def _address_word(raw: Any) -> bytes | None:
    value = decode_uint(raw)
    return None if value is None or value >= 2**160 else value.to_bytes(20, "big")


def _quote_index(symbols: tuple[str | None, str | None]) -> int:
    """Which token prices are counted in (see STABLE_SYMBOLS)."""
    upper = tuple((s or "").upper() for s in symbols)
    for group in (STABLE_SYMBOLS, WRAPPED_ETH_SYMBOLS):
        in_group = tuple(s in group for s in upper)
        if in_group[0] != in_group[1]:
            return 0 if in_group[0] else 1
    return 1


async def read_pool(rpc: EvmRpc, address: bytes, quote_token: bytes | None) -> NewPool:
    """A Uniswap v3 pool as the chain describes it; a 400 for anything that is not one."""
    at = hex_address(address)
    not_a_pool = invalid(f"{at} is not a Uniswap v3 pool", "poolAddress")
    try:
        chain_id, code = await rpc.batch([("eth_chainId", []), ("eth_getCode", [at, "latest"])])
        if code in (None, "0x", "0x0"):
            raise invalid(f"no contract at {at}", "poolAddress")
        calls = [
            _call(at, s)
            for s in (
                SELECTOR_TOKEN0,
                SELECTOR_TOKEN1,
                SELECTOR_FEE,
                SELECTOR_TICK_SPACING,
                SELECTOR_FACTORY,
            )
        ]
        token0_raw, token1_raw, fee_raw, spacing_raw, factory_raw = await rpc.batch_settled(calls)
        token0, token1 = _address_word(token0_raw), _address_word(token1_raw)
        fee, spacing = decode_uint(fee_raw), decode_uint(spacing_raw)
        factory = _address_word(factory_raw)
        if None in (token0, token1, fee, spacing, factory) or not 0 < (spacing or 0) < 2**23:
            raise not_a_pool
        assert token0 is not None and token1 is not None and factory is not None
        assert fee is not None and spacing is not None
        # The factory must know this very pool by its tokens and fee (no look-alike contract).
        lookup = (
            SELECTOR_GET_POOL
            + token0.rjust(32, b"\0").hex()
            + token1.rjust(32, b"\0").hex()
            + fee.to_bytes(32, "big").hex()
        )
        (registered,) = await rpc.batch_settled([_call(hex_address(factory), lookup)])
        if _address_word(registered) != address:
            raise not_a_pool
        metadata = await rpc.token_metadata([hex_address(token0), hex_address(token1)])
    except RpcError as exc:
        raise node_failed(exc) from exc
    tokens: list[tuple[str | None, int]] = []
    for token in (token0, token1):
        meta = metadata[hex_address(token)]
        if isinstance(meta, RpcError):
            raise node_failed(meta)
        if meta.decimals is None:
            raise invalid(f"token {hex_address(token)} has no decimals()", "poolAddress")
        tokens.append((meta.symbol, meta.decimals))
    if quote_token is None:
        quote = _quote_index((tokens[0][0], tokens[1][0]))
    elif quote_token in (token0, token1):
        quote = 0 if quote_token == token0 else 1
    else:
        raise invalid("quoteToken must be one of the pool's two tokens", "quoteToken")
    return NewPool(
        blockchain=BLOCKCHAIN,
        chain_id=int(chain_id, 16),
        address=address,
        token0=token0,
        token1=token1,
        token0_symbol=tokens[0][0],
        token1_symbol=tokens[1][0],
        token0_decimals=tokens[0][1],
        token1_decimals=tokens[1][1],
        fee_tier=fee,
        tick_spacing=spacing,
        price_inverted=quote == 0,
    )


async def list_pools(conn: Connection) -> list[PoolRow]:
    return await repo.list_pools(conn)


async def create_pool(
    conn: Connection,
    user_id: uuid.UUID,
    rpc_url: str | None,
    *,
    pool_address: str,
    quote_token: str | None,
) -> PoolRow:
    address = parse_address(pool_address, "poolAddress")
    quote = None if quote_token is None else parse_address(quote_token, "quoteToken")
    if not rpc_url:
        raise no_node()
    async with EvmRpc(rpc_url, timeout=RPC_TIMEOUT_SECONDS) as rpc:
        pool = await read_pool(rpc, address, quote)
    row = await repo.insert_pool(conn, pool, user_id)
    if row is None:
        existing = await repo.find_pool(conn, pool.chain_id, address)
        raise ServiceError(
            409,
            "CONFLICT",
            "this pool is already registered"
            + ("" if existing is None else f" (id {existing.id})"),
            field="poolAddress",
        )
    return row


async def delete_pool(conn: Connection, role: str, pool_id: int) -> None:
    """Pools are shared: only an ADMIN removes one, and never one a droid uses (409)."""
    if role != Role.ADMIN:
        raise ServiceError(403, "FORBIDDEN", "only an ADMIN may delete a pool")
    async with conn.transaction():
        if await repo.get_pool(conn, pool_id) is None:
            raise pool_not_found(pool_id)
        if await repo.pool_in_use(conn, pool_id):
            raise ServiceError(409, "CONFLICT", f"pool {pool_id} is used by a droid")
        await repo.delete_pool(conn, pool_id)


# --- the embedded dev chain ------------------------------------------------------------------


async def register_devchain(
    pool: asyncpg.Pool, box: SecretBox, rpc_url: str
) -> dict[str, int] | None:
    """Register the dev chain's seeded pools and its funded wallet (idempotent: what is there
    already is left alone). None when the node is not the dev chain."""
    async with EvmRpc(rpc_url, timeout=RPC_TIMEOUT_SECONDS) as rpc:
        info = await devchain_info(rpc)
        if info is None:
            return None
        added_pools = 0
        async with pool.acquire() as conn:
            for seeded in info.pools.values():
                address = parse_address(str(seeded["address"]), "poolAddress")
                if await repo.find_pool(conn, info.chain_id, address) is not None:
                    continue
                new_pool = await read_pool(rpc, address, None)
                if await repo.insert_pool(conn, new_pool, None) is not None:
                    added_pools += 1
            wallet = await droid_accounts.register_devchain_wallet(conn, box, info)
    summary = {"pools": added_pools, "wallets": 0 if wallet is None else 1}
    log.info("dev chain droid pools and wallet registered", **summary)
    return summary
