"""Set-up for the droid controller tests: a funded wallet, the pool and droid rows, swaps that
move the dev chain's WETH/USDC pool to a chosen price, and a controller to step."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
from web3 import Web3

from ordex.crypto import SecretBox
from ordex.devchain import DevChain
from ordex.devchain.deploy import contract_at
from ordex.services import droid_math
from ordex.services.droid_controller import DroidController
from ordex.services.droid_txs import ControllerOptions
from ordex.workers.droids import key_opener

BOX_KEY = "droid-controller-tests"
POOL_KEY = "weth_usdc_3000"
WALLET_INDEX = 6
TRADER_INDEX = 1

DEFAULTS: dict[str, Any] = {
    "active": 1,
    "funding_usd": Decimal(20_000),
    "trigger_type": "PRICE",
    "ema_length": 3,
    "tick_buckets": 10,
    "bucket_offset": 10,
    "funding_curve_type": "LINEAR",
    "max_bots": 3,
    "min_price": Decimal(1000),
    "max_price": Decimal(10_000),
    "falling_rebalance_trigger": Decimal("0.03"),
    "rising_rebalance_trigger": Decimal("0.03"),
    "max_gas_price": Decimal(1000),
    "tx_priority": 1,
    "derivative_threshold": Decimal("0.01"),
    "ladder_perc_margin": Decimal("0"),
    "gas_budget_limit": None,
}


def box() -> SecretBox:
    return SecretBox(BOX_KEY)


def fund_wallet(
    chain: DevChain, index: int = WALLET_INDEX, weth: int = 10, usdc: int = 30_000
) -> None:
    """Wraps ETH into WETH for the wallet and hands it USDC from a trader (test set-up only)."""
    w3 = chain.web3()
    wallet = chain.accounts[index]
    weth_contract = contract_at(w3, "sushi/WETH9Mock", chain.contracts["weth"])
    weth_contract.functions.deposit().transact({"from": wallet, "value": weth * 10**18})
    usdc_contract = contract_at(w3, "ERC20MockDecimals", chain.contracts["usdc"])
    usdc_contract.functions.transfer(wallet, usdc * 10**6).transact(
        {"from": chain.accounts[TRADER_INDEX]}
    )


def usdc_is_token0(chain: DevChain) -> bool:
    return chain.pools[POOL_KEY].token0.lower() == chain.contracts["usdc"].lower()


def eth_price(chain: DevChain) -> Decimal:
    """USDC per WETH in the pool now."""
    pool = contract_at(chain.web3(), "uniswap_v3/UniswapV3Pool", chain.pools[POOL_KEY].address)
    sqrt_price = int(pool.functions.slot0().call()[0])
    if usdc_is_token0(chain):
        return 1 / droid_math.price_from_sqrt(sqrt_price, 6, 18)
    return droid_math.price_from_sqrt(sqrt_price, 18, 6)


def pool_tick(chain: DevChain) -> tuple[int, int]:
    pool = contract_at(chain.web3(), "uniswap_v3/UniswapV3Pool", chain.pools[POOL_KEY].address)
    slot0 = pool.functions.slot0().call()
    return int(slot0[0]), int(slot0[1])


def swap_to_price(chain: DevChain, usd_per_eth: Decimal) -> None:
    """A trader swaps until the pool's ETH price is `usd_per_eth` (the router stops at the limit)."""
    w3 = chain.web3()
    trader = chain.accounts[TRADER_INDEX]
    router = contract_at(w3, "uniswap_v3/SwapRouter", chain.contracts["swap_router"])
    usdc, weth = chain.contracts["usdc"], chain.contracts["weth"]
    if usdc_is_token0(chain):
        target = droid_math.sqrt_from_price(1 / usd_per_eth, 6, 18)
    else:
        target = droid_math.sqrt_from_price(usd_per_eth, 18, 6)
    current, _ = pool_tick(chain)
    if target == current:
        return
    # USDC token0: the ETH price rises as the sqrt price (WETH per USDC) falls.
    rising = target < current if usdc_is_token0(chain) else target > current
    token_in, token_out = (usdc, weth) if rising else (weth, usdc)
    amount = 10**12 if rising else 10**21  # ample: the price limit stops the swap
    token = contract_at(w3, "ERC20MockDecimals", token_in)
    if not rising:
        weth_contract = contract_at(w3, "sushi/WETH9Mock", weth)
        weth_contract.functions.deposit().transact({"from": trader, "value": amount})
    token.functions.approve(router.address, 2**256 - 1).transact({"from": trader})
    router.functions.exactInputSingle(
        (token_in, token_out, 3000, trader, 2**32, amount, 0, target)
    ).transact({"from": trader})


async def seed_droid(
    conn: asyncpg.Connection, chain: DevChain, index: int = WALLET_INDEX, **overrides: Any
) -> int:
    user_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO users (email, password_hash, role, status) "
        "VALUES ($1, 'not-a-hash', 'ADMIN', 'ACTIVE') RETURNING id",
        f"droid-{uuid.uuid4().hex[:8]}@example.com",
    )
    address = bytes.fromhex(chain.accounts[index][2:])
    wallet_id = await conn.fetchval(
        "SELECT id FROM wallets WHERE chain_id = $1 AND address = $2", chain.chain_id, address
    )
    if wallet_id is None:
        wallet_id = await conn.fetchval(
            """
            INSERT INTO wallets (user_id, label, kind, chain_id, address, private_key_enc)
            VALUES ($1, 'test wallet', 'KEY', $2, $3, $4) RETURNING id
            """,
            user_id,
            chain.chain_id,
            address,
            box().seal(chain.private_keys[index], user_id),
        )
    pool = chain.pools[POOL_KEY]
    inverted = usdc_is_token0(chain)
    symbols = ("USDC", "WETH") if inverted else ("WETH", "USDC")
    decimals = (6, 18) if inverted else (18, 6)
    pool_id = await conn.fetchval(
        "SELECT id FROM droid_pools WHERE chain_id = $1 AND address = $2",
        chain.chain_id,
        bytes.fromhex(pool.address[2:]),
    )
    if pool_id is None:
        pool_id = await conn.fetchval(
            """
            INSERT INTO droid_pools (chain_id, address, token0, token1, token0_symbol, token1_symbol,
                token0_decimals, token1_decimals, fee_tier, tick_spacing, price_inverted)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 3000, 60, $9) RETURNING id
            """,
            chain.chain_id,
            bytes.fromhex(pool.address[2:]),
            bytes.fromhex(pool.token0[2:]),
            bytes.fromhex(pool.token1[2:]),
            *symbols,
            *decimals,
            inverted,
        )
    fields = {**DEFAULTS, **overrides}
    columns = ", ".join(fields)
    placeholders = ", ".join(f"${i}" for i in range(4, 4 + len(fields)))
    droid_id: int = await conn.fetchval(
        f"INSERT INTO droids (user_id, wallet_id, pool_id, {columns}) "
        f"VALUES ($1, $2, $3, {placeholders}) RETURNING id",
        user_id,
        wallet_id,
        pool_id,
        *fields.values(),
    )
    return droid_id


def controller(
    pool: asyncpg.Pool, chain: DevChain, droid_id: int, **options: Any
) -> DroidController:
    settings = {
        "snapshot_seconds": 0.0,
        "receipt_seconds": 20.0,
        "retries": 2,
        "backoff_seconds": 0.05,
    }
    return DroidController(
        pool,
        droid_id,
        chain.url,
        chain.contracts["nonfungible_position_manager"],
        key_opener(box()),
        ControllerOptions(**{**settings, **options}),
        chain.contracts["swap_router"],
    )


def owned_positions(chain: DevChain, index: int = WALLET_INDEX) -> list[tuple[int, int, int, int]]:
    """(token id, tick lower, tick upper, liquidity) of every NFT the wallet owns."""
    w3 = chain.web3()
    npm = contract_at(
        w3, "uniswap_v3/NonfungiblePositionManager", chain.contracts["nonfungible_position_manager"]
    )
    wallet = Web3.to_checksum_address(chain.accounts[index])
    out = []
    for i in range(npm.functions.balanceOf(wallet).call()):
        token_id = npm.functions.tokenOfOwnerByIndex(wallet, i).call()
        p = npm.functions.positions(token_id).call()
        out.append((int(token_id), int(p[5]), int(p[6]), int(p[7])))
    return sorted(out)
