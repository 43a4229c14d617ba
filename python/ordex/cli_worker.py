"""`ordex worker ROLE...`: run exchange workers on their own (production: DATABASE_URL and
REDIS_URL point at the shared servers; API processes then run without workers)."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer
import uvloop

from ordex.config import Settings
from ordex.process_tuning import settle_heap
from ordex.workers.runtime import ROLES

# `flows`: the flow worker (live flow executions, workers/flow_runner.py); `indexer`: the EVM
# indexer (workers/indexer.py, needs ETH_RPC_URL); `droids`: the Uniswap v3 droids
# (workers/droids.py, needs ETH_RPC_URL).
ALL_ROLES = (*ROLES, "flows", "indexer", "droids")
ROLE_HELP = f"Roles to run: {', '.join(ALL_ROLES)} (or all)"


def worker(
    roles: Annotated[list[str], typer.Argument(help=ROLE_HELP)],
    markets: Annotated[
        str | None, typer.Option(help="Comma-separated markets for the matcher (default: all)")
    ] = None,
) -> None:
    """Run exchange workers until SIGTERM or Ctrl-C."""
    chosen = set(ALL_ROLES) if "all" in roles else set(roles)
    unknown = chosen - set(ALL_ROLES)
    if unknown:
        raise typer.BadParameter(f"unknown role(s): {', '.join(sorted(unknown))}")
    settings = Settings()
    if settings.database_url is None or settings.redis_url is None:
        raise typer.BadParameter(
            "DATABASE_URL and REDIS_URL must be set to run workers on their own"
        )
    # uvloop, as `ordex serve` runs the API: the workers' time is mostly socket round trips.
    uvloop.run(_run(settings, chosen, markets))


async def _run(settings: Settings, roles: set[str], markets: str | None) -> None:
    from ordex.db.pool import create_pool
    from ordex.logging import get_logger
    from ordex.redis_client import connect
    from ordex.workers.runtime import ExchangeRuntime, load_markets

    log = get_logger("ordex.worker")
    assert settings.database_url is not None and settings.redis_url is not None
    # Every connection opened up front: a backend started mid-batch (its fork, its codecs)
    # stalls the batch that waits for it.
    pool = await create_pool(
        settings.database_url,
        min_size=4,
        max_size=4,
        application_name="ordex worker " + ",".join(sorted(roles)),
    )
    redis = connect(settings.redis_url)  # a Redis Cluster for redis+cluster:// URLs
    try:
        async with pool.acquire() as conn:
            all_markets = await load_markets(conn)
        chosen = [m.strip() for m in markets.split(",")] if markets else list(all_markets)
        missing = [m for m in chosen if m not in all_markets]
        if missing:
            raise typer.BadParameter(f"unknown market(s): {', '.join(missing)}")
        runtime = ExchangeRuntime(
            pool,
            redis,
            all_markets,
            roles=roles - {"flows", "indexer", "droids"},
            matcher_markets=chosen,
            snapshot_every=settings.ordex_snapshot_every,
            lease_ms=settings.ordex_lease_ms,
            share_markets=True,
            wait_replicas=settings.ordex_redis_wait_replicas,
            wait_ms=settings.ordex_redis_wait_ms,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await runtime.start()
        flows = _flow_runner(settings, pool, redis) if "flows" in roles else None
        indexer = None
        if "indexer" in roles:
            from ordex.workers.indexer import start_embedded as start_indexer

            indexer = await start_indexer(
                pool, redis, settings.home, settings.ordex_lease_ms, settings.eth_rpc_url
            )
            if indexer is None:
                raise typer.BadParameter("ETH_RPC_URL must be set to run the indexer")
        droids = None
        if "droids" in roles:
            from ordex.crypto import SecretBox
            from ordex.workers.droids import start_embedded as start_droids

            droids = await start_droids(
                pool,
                redis,
                SecretBox.from_settings(settings.with_secrets()),
                settings.home,
                settings.ordex_lease_ms,
                settings.eth_rpc_url,
            )
            if droids is None:
                raise typer.BadParameter("ETH_RPC_URL must be set to run the droids")
        settle_heap()
        log.info("workers running", roles=sorted(roles), markets=chosen)
        await stop.wait()
        if flows is not None:
            await flows.close()
        if indexer is not None:
            await indexer.close()
        if droids is not None:
            await droids.close()
        await runtime.stop()
    finally:
        await redis.aclose()
        await pool.close()


def _flow_runner(settings: Settings, pool: Any, redis: Any) -> Any:
    """The flow worker with its own market data and venues (as the API builds them)."""
    from ordex.crypto import SecretBox
    from ordex.services.market_data import CcxtExchanges, MarketDataService
    from ordex.services.market_data_settings import MarketDataSettings
    from ordex.services.venues import SessionSettings, Venues
    from ordex.workers.flow_runner import FlowRunner

    data = MarketDataSettings()
    market_data = MarketDataService(
        CcxtExchanges(base_urls=data.ordex_ccxt_base_urls, timeout_ms=data.ordex_ccxt_timeout_ms)
    )
    venues = Venues(
        market_data, SecretBox.from_settings(settings.with_secrets()), SessionSettings()
    )
    runner = FlowRunner(pool, redis, venues, lease_ms=settings.ordex_lease_ms)
    runner.start()
    return runner
