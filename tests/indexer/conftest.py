"""Indexer fixtures: a pool on the test database and a worker reading a dev chain over JSON-RPC."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import asyncpg
import pytest

from ordex.devchain import DevChain
from ordex.services.evm_rpc import EvmRpc
from ordex.services.indexer import devchain_price_config
from ordex.workers.indexer import POOL_SIZE, IndexerOptions, IndexerWorker

WorkerFactory = Callable[..., Awaitable[IndexerWorker]]


@pytest.fixture
async def indexer_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    # The size `ordex worker indexer` opens (its writes in flight, a build, the state).
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=POOL_SIZE)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def make_worker(indexer_pool: asyncpg.Pool) -> AsyncIterator[WorkerFactory]:
    """Workers stepped by the test itself (`sync()`), without the lease loop."""
    made: list[IndexerWorker] = []

    async def make(chain: DevChain, **options: int) -> IndexerWorker:
        config = devchain_price_config(chain.describe(), Decimal(1000))
        worker = IndexerWorker(
            indexer_pool,
            None,
            EvmRpc(chain.url),
            config,
            IndexerOptions(**{"batch_blocks": 7, **options}),  # type: ignore[arg-type]
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        await worker.close()
