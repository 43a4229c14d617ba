"""The indexer started inside the API process (embedded workers with an ETH RPC URL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import asyncpg

from ordex.devchain import DevChain
from tests.indexer.traffic import erc20_transfer
from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)
from tests.platform.helpers import ClientFactory


async def test_the_api_runs_the_indexer_when_an_rpc_url_is_set(
    make_devchain: Callable[[], DevChain],
    client_factory: ClientFactory,  # noqa: F811
    ordex_home: Path,
    db: asyncpg.Connection,
) -> None:
    chain = make_devchain()
    (ordex_home / "devchain").mkdir()
    (ordex_home / "devchain" / "devchain.json").write_text(json.dumps(chain.describe()))
    usdc_tx = erc20_transfer(chain, "usdc", chain.accounts[1], chain.accounts[2], 10**6)
    tip = chain.web3().eth.block_number
    async with client_factory(ordex_run_workers=True, eth_rpc_url=chain.url) as client:
        assert client is not None
        for _ in range(300):
            if await db.fetchval("SELECT last_block FROM evm_indexer_state") == tip:
                break
            await asyncio.sleep(0.05)
    assert await db.fetchval("SELECT last_block FROM evm_indexer_state") == tip
    # Priced from the dev chain's registry: USDC is a pinned stablecoin.
    amount_usd = await db.fetchval(
        "SELECT amount_usd FROM evm_token_transfers WHERE tx_hash = $1",
        bytes.fromhex(usdc_tx[2:]),
    )
    assert amount_usd == 1
