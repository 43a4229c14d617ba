"""USD at the block, checked against prices computed by hand from the pools' slot0."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import asyncpg
import pytest

from ordex.devchain import DevChain
from ordex.devchain.deploy import contract_at
from ordex.devchain.simulate import simulate_traffic
from ordex.workers import indexer as indexer_worker
from tests.indexer.conftest import WorkerFactory
from tests.indexer.traffic import standard_traffic, swap_weth_for_usdc


def b(hex_value: str) -> bytes:
    return bytes.fromhex(hex_value[2:].lower())


def pool_price(chain: DevChain, pool_key: str, base_key: str, block: int) -> Fraction:
    """Whole `pool's other token` per whole `base_key` token from slot0 at `block`, by hand."""
    w3 = chain.web3()
    info = chain.pools[pool_key]
    pool = contract_at(w3, "uniswap_v3/UniswapV3Pool", info.address)
    sqrt_price = pool.functions.slot0().call(block_identifier=block)[0]
    raw_1_per_0 = Fraction(sqrt_price**2, 2**192)
    key0 = next(k for k, a in chain.contracts.items() if a.lower() == info.token0.lower())
    key1 = next(k for k, a in chain.contracts.items() if a.lower() == info.token1.lower())
    d0, d1 = chain.decimals[key0], chain.decimals[key1]
    assert d0 is not None and d1 is not None
    human_1_per_0 = raw_1_per_0 * Fraction(10) ** (d0 - d1)
    return human_1_per_0 if base_key == key0 else 1 / human_1_per_0


def close(stored: Decimal | None, exact: Fraction) -> bool:
    assert stored is not None
    return abs(Fraction(stored) - exact) <= exact * Fraction(1, 10**30)


async def test_usd_values_match_slot0_at_the_block(
    make_devchain: Callable[[], DevChain], make_worker: WorkerFactory, db: asyncpg.Connection
) -> None:
    chain = make_devchain()
    sent = standard_traffic(chain)
    # Another swap after everything, so later blocks see a different price again.
    swap_weth_for_usdc(chain, chain.accounts[3], 50 * 10**18)
    worker = await make_worker(chain, batch_blocks=5)
    await worker.sync()

    prices: dict[int, Fraction] = {}
    for row in await db.fetch(
        "SELECT number, eth_usd FROM evm_blocks WHERE tx_count > 0 AND number > 30"
    ):
        exact = pool_price(chain, "weth_usdc_3000", "weth", row["number"])
        assert close(row["eth_usd"], exact), row["number"]
        prices[row["number"]] = exact
    assert len(set(prices.values())) >= 3  # the swaps moved it

    eth = await db.fetchrow("SELECT * FROM evm_transactions WHERE hash = $1", b(sent.eth))
    price = pool_price(chain, "weth_usdc_3000", "weth", eth["block_number"])
    assert close(eth["eth_usd"], price)
    # USD amounts are rounded to 18 decimal places.
    assert abs(Fraction(eth["value_usd"]) - Fraction(12345, 10**4) * price) <= Fraction(1, 10**18)
    fee_eth = Fraction(eth["gas_used"] * int(eth["effective_gas_price"]), 10**18)
    assert abs(Fraction(eth["gas_fee_usd"]) - fee_eth * price) <= Fraction(1, 10**18)

    usdc = await db.fetchrow("SELECT * FROM evm_token_transfers WHERE tx_hash = $1", b(sent.usdc))
    assert usdc["token_usd"] == 1 and usdc["amount_usd"] == 250

    mkr = await db.fetchrow("SELECT * FROM evm_token_transfers WHERE tx_hash = $1", b(sent.mkr))
    block = mkr["block_number"]
    mkr_usd = pool_price(chain, "mkr_weth_3000", "mkr", block) * pool_price(
        chain, "weth_usdc_3000", "weth", block
    )
    assert close(mkr["token_usd"], mkr_usd)
    assert abs(Fraction(mkr["amount_usd"]) - 2 * mkr_usd) <= Fraction(1, 10**18)
    stored = await db.fetchrow(
        "SELECT * FROM evm_token_prices WHERE token_address = $1 AND block_number = $2",
        b(chain.contracts["mkr"]),
        block,
    )
    assert stored["pool_address"] == b(chain.pools["mkr_weth_3000"].address)

    # Tokens without a whitelisted pool or decimals have no price (null, not 0).
    nft = await db.fetchrow(
        "SELECT * FROM evm_token_transfers WHERE tx_hash = $1", b(sent.nft_transfer)
    )
    assert nft["token_usd"] is None and nft["amount_usd"] is None


async def test_liquidity_floor_leaves_thin_pools_unpriced(
    make_devchain: Callable[[], DevChain], make_worker: WorkerFactory, db: asyncpg.Connection
) -> None:
    chain = make_devchain()
    sent = standard_traffic(chain)
    worker = await make_worker(chain)
    worker.prices.config = worker.prices.config.__class__(
        weth=worker.prices.config.weth,
        eth_usd_pool=worker.prices.config.eth_usd_pool,
        stablecoins=worker.prices.config.stablecoins,
        price_pools=worker.prices.config.price_pools,
        liquidity_floor_usd=Decimal(10**15),
    )
    await worker.sync()
    mkr = await db.fetchrow("SELECT * FROM evm_token_transfers WHERE tx_hash = $1", b(sent.mkr))
    assert mkr["token_usd"] is None and mkr["amount_usd"] is None
    # ETH itself comes from the configured pool regardless of the floor.
    assert (
        await db.fetchval("SELECT eth_usd FROM evm_transactions WHERE hash = $1", b(sent.eth))
        is not None
    )


@pytest.mark.parametrize("fast", [True, False], ids=["rust", "python"])
async def test_pool_state_tracked_from_events_is_the_chains(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    fast: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Swaps, Initializes, Mints and Burns (LP positions in and out of range) walked batch by
    batch leave each pool exactly as slot0() and liquidity() read it at the end."""
    monkeypatch.setattr(indexer_worker, "FAST_DECODE", fast and indexer_worker.FAST_DECODE)
    chain = make_devchain()
    standard_traffic(chain)
    counts = simulate_traffic(chain, blocks=30, seed=3)
    assert counts.get("lp_mints", 0) + counts.get("lp_burns", 0) >= 2, counts
    worker = await make_worker(chain, batch_blocks=4)
    await worker.sync()
    head = chain.web3().eth.block_number
    w3 = chain.web3()
    for pool, state in worker.prices.state.items():
        contract = contract_at(w3, "uniswap_v3/UniswapV3Pool", "0x" + pool.hex())
        sqrt_price, tick = contract.functions.slot0().call(block_identifier=head)[:2]
        liquidity = contract.functions.liquidity().call(block_identifier=head)
        assert (state.sqrt_price_x96, state.liquidity, state.tick) == (sqrt_price, liquidity, tick)
