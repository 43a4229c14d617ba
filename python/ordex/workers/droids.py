"""The droid worker: runs every droid that is not paused, or paused with an open session (its
history is still snapshotted), one cycle every `poll_seconds` (services.droid_controller).

Each droid's task holds its Redis lease (`droids:droid:{id}:lease`), so wherever several workers
run, one process acts for a droid. A droid that stops (closed all, paused without a session) ends
its task and frees the lease. Embedded in the API process (ORDEX_RUN_WORKERS with an ETH RPC URL)
or on its own: `ordex worker droids`, or `python -m ordex.workers.droids`.

The NonfungiblePositionManager is `ORDEX_UNISWAP_POSITION_MANAGER` (the SwapRouter, used to fund a
ladder from the wallet's ETH, `ORDEX_UNISWAP_SWAP_ROUTER`), else the dev chain's when it runs here,
else Uniswap's canonical address.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import asyncpg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordex.crypto import SecretBox
from ordex.db import droid_runs as repo
from ordex.db.droid_runs import DroidRun
from ordex.logging import get_logger
from ordex.redis_client import RedisClient, connect
from ordex.services.droid_controller import DroidController
from ordex.services.droid_hedge import DroidHedger
from ordex.services.droid_txs import ControllerOptions
from ordex.services.indexer import devchain_description
from ordex.workers.lease import Lease
from ordex.workers.supervisor import Supervisor

log = get_logger(__name__)

# Uniswap v3's NonfungiblePositionManager and SwapRouter on Ethereum and most chains it is on.
CANONICAL_POSITION_MANAGER = "0xC36442b4a4522E871399CD717aBDD847Ab11FE88"
CANONICAL_SWAP_ROUTER = "0xE592427A0AEce92De3Edee1F18E0157C05861564"
SHARED_OWNER = uuid.UUID(int=0)


class DroidSettings(BaseSettings):
    """Read from the environment like `ordex.config.Settings` (same `.env`)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    eth_rpc_url: str | None = None
    ordex_uniswap_position_manager: str | None = None
    ordex_uniswap_swap_router: str | None = None
    droid_poll_seconds: Annotated[float, Field(gt=0)] = 5.0
    droid_history_seconds: Annotated[float, Field(gt=0)] = 60.0
    droid_receipt_seconds: Annotated[float, Field(gt=0)] = 120.0
    droid_tx_retries: Annotated[int, Field(ge=1, le=10)] = 3


def lease_key(droid_id: int) -> str:
    return f"droids:droid:{droid_id}:lease"


def _contract(
    settings: DroidSettings, home: Path | None, key: str, configured: str | None, canonical: str
) -> str:
    """The configured address, else the dev chain's when it is the node, else the canonical."""
    if configured:
        return configured
    description = devchain_description(home) if home is not None else None
    if description is not None and description.get("url") == settings.eth_rpc_url:
        address = description.get("contracts", {}).get(key)
        if address:
            return str(address)
    return canonical


def position_manager(settings: DroidSettings, home: Path | None) -> str:
    return _contract(
        settings,
        home,
        "nonfungible_position_manager",
        settings.ordex_uniswap_position_manager,
        CANONICAL_POSITION_MANAGER,
    )


def swap_router(settings: DroidSettings, home: Path | None) -> str:
    return _contract(
        settings, home, "swap_router", settings.ordex_uniswap_swap_router, CANONICAL_SWAP_ROUTER
    )


def key_opener(box: SecretBox) -> Callable[[DroidRun], str]:
    def open_key(droid: DroidRun) -> str:
        return box.open(droid.private_key_enc, droid.wallet_user_id or SHARED_OWNER)

    return open_key


class DroidWorker(Supervisor[int]):
    name = "droid worker"

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        rpc_url: str,
        npm_address: str,
        private_key: Callable[[DroidRun], str],
        *,
        swap_router: str | None = None,
        poll_seconds: float = 5.0,
        lease_ms: int = 10_000,
        options: ControllerOptions | None = None,
    ) -> None:
        super().__init__(poll_seconds)
        self._pool = pool
        self._redis = redis
        self._rpc_url = rpc_url
        self._npm_address = npm_address
        self._private_key = private_key
        self._swap_router = swap_router
        self._lease_ms = lease_ms
        self._options = options or ControllerOptions()

    async def discover(self) -> None:
        async with self._pool.acquire() as conn:
            droid_ids = await repo.droids_to_run(conn)
        for droid_id in droid_ids:
            task = self._tasks.get(droid_id)
            if task is None or task.done():
                self._tasks[droid_id] = asyncio.create_task(
                    self._drive(droid_id), name=f"droid {droid_id}"
                )

    async def _drive(self, droid_id: int) -> None:
        lease = Lease(self._redis, lease_key(droid_id), self._lease_ms)
        if not await lease.acquire(self._stop):
            return
        controller = DroidController(
            self._pool,
            droid_id,
            self._rpc_url,
            self._npm_address,
            self._private_key,
            self._options,
            self._swap_router,
            DroidHedger(self._pool, self._redis),
            self._redis,
        )
        try:
            while not self._stop.is_set():
                if not await lease.keep():
                    log.warning("droid lease lost", droid_id=droid_id)
                    return
                try:
                    result = await controller.step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bad cycle is logged, the next one tries again
                    log.exception("droid cycle failed", droid_id=droid_id, error=str(exc))
                    result = "error"
                if result in ("gone", "idle"):
                    return
                await self._pause()
        finally:
            await controller.close()
            with contextlib.suppress(Exception):
                await lease.release()


def build_worker(
    pool: asyncpg.Pool,
    redis: RedisClient,
    box: SecretBox,
    settings: DroidSettings,
    *,
    home: Path | None = None,
    lease_ms: int = 10_000,
) -> DroidWorker | None:
    """A worker from the settings (None without an ETH RPC URL)."""
    if not settings.eth_rpc_url:
        return None
    return DroidWorker(
        pool,
        redis,
        settings.eth_rpc_url,
        position_manager(settings, home),
        key_opener(box),
        swap_router=swap_router(settings, home),
        poll_seconds=settings.droid_poll_seconds,
        lease_ms=lease_ms,
        options=ControllerOptions(
            snapshot_seconds=settings.droid_history_seconds,
            receipt_seconds=settings.droid_receipt_seconds,
            retries=settings.droid_tx_retries,
        ),
    )


async def start_embedded(
    pool: asyncpg.Pool,
    redis: RedisClient,
    box: SecretBox,
    home: Path,
    lease_ms: int = 10_000,
    eth_rpc_url: str | None = None,
) -> DroidWorker | None:
    """Starts the droid worker in this process when an ETH RPC URL is configured (`eth_rpc_url`,
    else ETH_RPC_URL from the environment)."""
    settings = DroidSettings()
    if eth_rpc_url:
        settings = settings.model_copy(update={"eth_rpc_url": eth_rpc_url})
    worker = build_worker(pool, redis, box, settings, home=home, lease_ms=lease_ms)
    if worker is not None:
        worker.start()
    return worker


async def _main() -> int:
    from ordex.config import Settings
    from ordex.db.pool import create_pool
    from ordex.logging import configure_logging

    settings = Settings().with_secrets()
    configure_logging(settings.log_level, settings.log_json)
    if settings.database_url is None or settings.redis_url is None:
        log.error("DATABASE_URL and REDIS_URL must be set")
        return 2
    pool = await create_pool(settings.database_url, min_size=1, max_size=4)
    redis = connect(settings.redis_url)
    try:
        worker = build_worker(
            pool,
            redis,
            SecretBox.from_settings(settings),
            DroidSettings(),
            home=settings.home,
            lease_ms=settings.ordex_lease_ms,
        )
        if worker is None:
            log.error("ETH_RPC_URL must be set to run the droids")
            return 2
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.request_stop)
        worker.start()
        await worker.wait()
        await worker.close()
        return 0
    finally:
        await redis.aclose()
        await pool.close()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main()))
