"""The EVM indexer worker: backfills from a start block, then follows the chain head.

One owner at a time through the Redis lease `indexer:lease`. Each step fetches the next range of
blocks (up to `batch_blocks`, fetching the ranges after it meanwhile), checks it links to the last
stored block by parent hash and writes it in one transaction with the state (db.indexer_ingest),
so after a kill -9 it resumes right after the last committed block. A range is decoded in Rust
where the extension has it (services.indexer_fast), and its rows are copied while the batches
before it commit (up to `WRITES_IN_FLIGHT` at once, each committing after the one before); the
ranges fetched meanwhile are written together in the next transaction.

A range that does not link up is a reorg: the worker walks back over the stored hashes to the
common ancestor with the node's chain, removes everything above it in one transaction (counters
taken back) and ingests the new branch. An ancestor further back than `finality_depth` stops the
worker with an error: such a reorg needs a person.

Embedded in the API process (ORDEX_RUN_WORKERS with an ETH RPC URL) or on its own:
`ordex worker indexer`, or `python -m ordex.workers.indexer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from ordex.db import indexer_ingest as repo
from ordex.db.indexer_ingest import ChainMismatch, IndexerState, StateConflict
from ordex.logging import get_logger
from ordex.process_tuning import keep_freed_memory
from ordex.redis_client import RedisClient, connect
from ordex.services.evm_rpc import EvmRpc, RpcError, hex_bytes
from ordex.services.indexer import (
    FAST_DECODE,
    ChainChanged,
    IndexerSettings,
    RawRange,
    TokenCache,
    build_batch,
    devchain_description,
    fetch_range,
    price_config,
)
from ordex.services.indexer_prices import PriceConfig, PriceTracker
from ordex.workers.lease import Lease

log = get_logger(__name__)

LEASE_KEY = "indexer:lease"
TOKEN_RETRY_SECONDS = 30.0
# Ranges fetched ahead at most; the requests themselves go at most `concurrency` at once (the
# RPC client's limit), so while the writes lag the fetch carries on up to this depth.
PREFETCH_DEPTH = 4
# Batches being written at once at most: each copies its rows while the ones before it commit,
# and commits after them. Several keep PostgreSQL busy while the worker waits on the node, and
# spread the last batches over the cores.
WRITES_IN_FLIGHT = 4
# Connections of the worker's own pool: the writes in flight, the next batch's build, the state.
POOL_SIZE = WRITES_IN_FLIGHT + 2
# Fetched ranges written in one transaction at most.
JOINED_RANGES = 8


class ReorgTooDeep(RuntimeError):
    """The node's chain left the stored one further back than the finality depth."""


@dataclass(frozen=True, slots=True)
class IndexerOptions:
    start_block: int = 0
    batch_blocks: int = 200
    finality_depth: int = 64
    poll_seconds: float = 1.0
    lease_ms: int = 10_000
    # Re-index from the start when the node's chain shares not even the first stored block (a
    # restarted dev chain) instead of stopping; never for a real network.
    reset_on_new_chain: bool = False

    @classmethod
    def from_settings(
        cls, settings: IndexerSettings, lease_ms: int = 10_000, *, dev_chain: bool = False
    ) -> IndexerOptions:
        return cls(
            start_block=settings.indexer_start_block,
            batch_blocks=settings.indexer_batch_blocks,
            finality_depth=settings.indexer_finality_depth,
            poll_seconds=settings.indexer_poll_seconds,
            lease_ms=lease_ms,
            reset_on_new_chain=dev_chain,
        )


class IndexerWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient | None,
        rpc: EvmRpc,
        prices: PriceConfig,
        options: IndexerOptions | None = None,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self.rpc = rpc
        self.options = options or IndexerOptions()
        self.prices = PriceTracker(prices)
        self.tokens = TokenCache()
        self.state: IndexerState | None = None
        self.failed: BaseException | None = None
        self.holds_lease = False
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Ranges being fetched ahead, consecutive: (first block, last block, task).
        self._prefetch: list[tuple[int, int, asyncio.Task[RawRange]]] = []
        # The batch after the one being written, built meanwhile (its first block, its rows).
        self._built: tuple[int, repo.IngestBatch] | None = None
        # The last batch's write, still in flight while the next one is copied (`_flush`).
        self._writing: asyncio.Task[None] | None = None
        # The writes before it still in flight, oldest first (each commits after the one
        # before it); at most `WRITES_IN_FLIGHT - 2` once a step is over.
        self._earlier_writes: list[asyncio.Task[None]] = []
        self._next_token_retry = 0.0
        self._known_tip: int | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="evm indexer")

    def request_stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        self._stop.set()
        self._drop_prefetch()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._settle_writing()
        await self.rpc.close()

    async def wait(self) -> None:
        """Until the worker's task ends (a stop, or a failure kept in `failed`)."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        assert self._redis is not None, "the indexer task needs Redis for its lease"
        lease = Lease(self._redis, LEASE_KEY, self.options.lease_ms)
        while not self._stop.is_set():
            if not await lease.acquire(self._stop):
                return
            log.info("indexer lease acquired")
            self.holds_lease = True
            try:
                await self._follow(lease)
            except (ReorgTooDeep, ChainMismatch) as exc:
                # Needs a person: stop, loudly, rather than index something wrong.
                self.failed = exc
                log.error("indexer stopped", error=str(exc))
                self._stop.set()
            finally:
                await self._settle_writing()
                self.holds_lease = False
                with contextlib.suppress(Exception):
                    await lease.release()

    async def _follow(self, lease: Lease) -> None:
        prepared = False
        while not self._stop.is_set():
            if not await lease.keep():
                log.warning("indexer lease lost")
                self._drop_prefetch()
                return
            try:
                if not prepared:
                    await self.prepare()
                    prepared = True
                at = self.state.last_block if self.state is not None else None
                ingested = await self.step()
                if self.state is not None and self.state.last_block != at:
                    ingested = max(ingested, 1)  # a repair: carry on at once
                await self._retry_tokens()
            except (ReorgTooDeep, ChainMismatch):
                raise
            except (RpcError, ChainChanged, OSError, asyncpg.PostgresError, StateConflict) as exc:
                log.warning("indexer step failed; retrying", error=str(exc))
                ingested, prepared = self._reset_after_failure(), False
            except Exception:
                # A node answering something unexpected: retried, never a silent dead task.
                log.exception("indexer step failed unexpectedly; retrying")
                ingested, prepared = self._reset_after_failure(), False
            if ingested == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.options.poll_seconds)

    def _reset_after_failure(self) -> int:
        """Forgets what a failed step may have left half-known (the state is reloaded, and the
        tokens of a batch that was built but not written are looked up again)."""
        self._drop_prefetch()
        self.state = None
        self.tokens.forget()
        return 0

    # --- steps ---------------------------------------------------------------------------------

    async def prepare(self) -> IndexerState:
        # The state is read once the write in flight, if any, is over (committed or not).
        await self._settle_writing()
        chain_id, tip = await asyncio.gather(self.rpc.chain_id(), self.rpc.block_number())
        async with self._pool.acquire() as conn:
            self.state = await repo.ensure_state(conn, chain_id)
        self._known_tip = tip
        await self.prices.prepare(self.rpc)
        self.prices.invalidate()
        return self.state

    async def sync(self, max_steps: int = 1_000_000) -> int:
        """Steps until the head is reached (tests, benchmarks); the blocks ingested."""
        if self.state is None:
            await self.prepare()
        total = 0
        for _ in range(max_steps):
            at = self.state.last_block if self.state is not None else None
            ingested = await self.step()
            moved = self.state is not None and self.state.last_block != at
            if ingested == 0 and not moved:
                break
            total += ingested
        await self._flush()
        return total

    async def step(self) -> int:
        """Ingests the next range (or repairs a reorg): the number of blocks written, whose
        transaction may still be committing (the next step, or `_flush`, waits for it)."""
        state = self.state if self.state is not None else await self.prepare()
        last = state.last_block
        first = self.options.start_block if last is None else last + 1
        # While backfilling far behind a known head, a full batch needs no eth_blockNumber.
        tip = self._known_tip
        if tip is None or first + self.options.batch_blocks - 1 > tip:
            tip = self._known_tip = await self.rpc.block_number()
        if first > tip:
            self._drop_prefetch()
            await self._flush()
            if last is not None and await self._head_moved_away(state, tip):
                await self._repair(state, tip)
                return 0
            async with self._pool.acquire() as conn:
                await repo.record_tip(conn, tip, self._finalized(tip))
            return 0
        end = min(first + self.options.batch_blocks - 1, tip)
        batch = self._take_built(first, end, state.last_block_hash)
        if batch is None:
            try:
                raw = await self._take_range(first, end)
            except RpcError:
                self._known_tip = None  # the head may have moved back (a shorter branch)
                raise
            if last is not None and raw.first_parent != state.last_block_hash:
                self._drop_prefetch()
                await self._repair(state, tip)
                return 0
            end = first + raw.block_count - 1  # a range fetched ahead may be shorter
            if end < tip:
                self._fill_prefetch(end, tip)
            if self.prices.pools:
                await self.prices.seed(self.rpc, first - 1)
            async with self._pool.acquire() as conn:
                with _collector_paused():
                    batch = await build_batch(conn, self.rpc, raw, self.prices, self.tokens)
        with _collector_paused():
            batch = await self._join_fetched(batch, tip)
        end = batch.last_block[0]
        previous = self._writing
        # Written while the batch before commits; the next batch is built meanwhile, and this
        # one's write is awaited by the next step (or `_flush`).
        self._writing = asyncio.create_task(self._write(batch, last, tip, previous))
        if previous is not None:
            self._earlier_writes.append(previous)
        with _collector_paused():
            try:
                await self._build_ahead(end, batch.last_block[1], tip)
            finally:
                # One fewer than the most: the next step starts another.
                await self._await_earlier_writes(WRITES_IN_FLIGHT - 2)
        self.prices.advance_to(end)
        self.state = _advanced(state, batch, tip)
        return batch.block_count

    async def _write(
        self,
        batch: repo.IngestBatch,
        expected_last: int | None,
        tip: int,
        after: asyncio.Task[None] | None,
    ) -> None:
        async with self._pool.acquire() as conn:
            await repo.write_batch(conn, batch, expected_last=expected_last, tip=tip, after=after)

    async def _await_earlier_writes(self, keep: int) -> None:
        """Waits until at most `keep` writes before the last one are in flight; a failed one
        is raised here, once every write in flight has settled."""
        earlier = self._earlier_writes
        while earlier and (earlier[0].done() or len(earlier) > keep):
            oldest = earlier.pop(0)
            try:
                await oldest
            except BaseException:
                await self._settle_writing()
                raise

    async def _flush(self) -> None:
        """Waits for the writes in flight: a failure is raised here."""
        await self._await_earlier_writes(0)
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    async def _settle_writing(self) -> None:
        """Waits for the writes in flight, whatever becomes of them (each fails on its own,
        whole)."""
        writes = [*self._earlier_writes, self._writing]
        self._earlier_writes, self._writing = [], None
        for writing in writes:
            if writing is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writing

    def _take_built(self, first: int, end: int, parent: bytes | None) -> repo.IngestBatch | None:
        if self._built is None:
            return None
        start, batch = self._built
        self._built = None
        parent_hash = batch.first_parent
        if start == first and batch.last_block[0] <= end and parent in (None, parent_hash):
            return batch
        self._forget_built()
        return None

    def _forget_built(self) -> None:
        """Undoes what building a batch that is never written advanced: the price state (seeded
        again at the next batch) and the tokens it found."""
        self._built = None
        self.prices.invalidate()
        self.tokens.forget()

    async def _build_ahead(self, after: int, after_hash: bytes, tip: int) -> None:
        """Builds the prefetched range right after block `after` for the next step (and starts
        the prefetch after it). Anything amiss (a failed fetch, a range not linking up, a failed
        build) leaves it to the next step, which fetches and checks again."""
        if not self._prefetch or self._prefetch[0][0] != after + 1:
            return
        if self._pool.get_max_size() < 2:
            return  # the write holds the only connection
        head = self._prefetch[0]
        start, _, task = head
        if task.cancelled():
            return
        try:
            raw = await task
        except Exception:
            return
        if raw.first_parent != after_hash or not self._prefetch or self._prefetch[0] != head:
            return
        self._prefetch.pop(0)
        end = start + raw.block_count - 1
        self._fill_prefetch(end, tip)
        self.prices.advance_to(after)
        try:
            async with self._pool.acquire() as conn:
                batch = await build_batch(conn, self.rpc, raw, self.prices, self.tokens)
        except Exception as exc:
            log.debug("building the next batch ahead failed", error=str(exc))
            self._forget_built()
            return
        self._built = (start, batch)

    async def _join_fetched(self, batch: repo.IngestBatch, tip: int) -> repo.IngestBatch:
        """`batch` with the ranges right after it that are fetched already (up to
        `JOINED_RANGES` in all), to be written in one transaction. Only while a write is in
        flight: what piled up behind it goes in fewer and larger transactions. PostgreSQL sets
        up its insert buffers per COPY statement at a cost that grows with their rows squared
        (up to 1,000 rows), and each transaction costs its round trips."""
        if self._writing is None or self._writing.done() or self._pool.get_max_size() < 2:
            return batch  # nothing is being written: this one goes at once
        # Those fetched by now: waiting for more would leave PostgreSQL idle.
        fetched = sum(1 for _, _, task in self._prefetch if task.done())
        parts = [batch]
        while len(parts) <= min(fetched, JOINED_RANGES - 1) and self._prefetch:
            start, _, task = self._prefetch[0]
            last, last_hash, _ = parts[-1].last_block
            if start != last + 1 or not task.done() or task.cancelled() or task.exception():
                break
            raw = task.result()
            if raw.first_parent != last_hash:
                break  # the next step fetches it again and finds the reorg
            self._prefetch.pop(0)
            self._fill_prefetch(start + raw.block_count - 1, tip)
            self.prices.advance_to(last)
            try:
                async with self._pool.acquire() as conn:
                    parts.append(await build_batch(conn, self.rpc, raw, self.prices, self.tokens))
            except Exception as exc:
                log.debug("building a fetched range failed", error=str(exc))
                self._forget_built()  # the price state is seeded again for the next range
                break
        return parts[0] if len(parts) == 1 else repo.IngestBatch.joined(parts)

    def _finalized(self, tip: int) -> int | None:
        final = tip - self.options.finality_depth
        return final if final >= 0 else None

    async def _take_range(self, first: int, end: int) -> RawRange:
        if self._prefetch and self._prefetch[0][0] == first:
            _, _, task = self._prefetch.pop(0)
            try:
                raw = await task
            except (RpcError, ChainChanged):
                raw = None
            if raw is not None and raw.block_count <= end - first + 1:
                return raw
        self._cancel_prefetch()
        return await self._fetch(first, end)

    async def _fetch(self, first: int, end: int) -> RawRange:
        # Decoded in Rust with the GIL released when the extension has it.
        return await fetch_range(
            self.rpc, first, end, fast=FAST_DECODE, weth=self.prices.config.weth
        )

    def _fill_prefetch(self, after: int, tip: int) -> None:
        """Fetches ahead the consecutive ranges right after block `after` (up to the tip), up
        to `PREFETCH_DEPTH` of them: the fetch goes on while the writes catch up."""
        depth = PREFETCH_DEPTH
        kept: list[tuple[int, int, asyncio.Task[RawRange]]] = []
        following = after + 1
        for first, end, task in self._prefetch:
            if first == following and len(kept) < depth and not task.cancelled():
                kept.append((first, end, task))
                following = end + 1
            else:
                task.cancel()
        while len(kept) < depth and following <= tip:
            end = min(following + self.options.batch_blocks - 1, tip)
            task = asyncio.create_task(self._fetch(following, end), name="indexer prefetch")
            # A failed prefetch is fetched again; its error must not go unretrieved.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            kept.append((following, end, task))
            following = end + 1
        self._prefetch = kept

    def _cancel_prefetch(self) -> None:
        for _, _, task in self._prefetch:
            task.cancel()
        self._prefetch = []

    def _drop_prefetch(self) -> None:
        self._cancel_prefetch()
        if self._built is not None:
            self._forget_built()

    async def _head_moved_away(self, state: IndexerState, tip: int) -> bool:
        """Whether the node no longer has the last stored block (a reorg while at the head)."""
        assert state.last_block is not None
        if tip < state.last_block:
            return True
        block = await self.rpc.call("eth_getBlockByNumber", [hex(state.last_block), False])
        return block is None or hex_bytes(block["hash"]) != state.last_block_hash

    async def _repair(self, state: IndexerState, tip: int) -> None:
        """Rolls back to the common ancestor of the stored and the node's chain."""
        assert state.last_block is not None
        await self._flush()
        depth_limit = self.options.finality_depth
        low = max(state.last_block - depth_limit, self.options.start_block)
        high = min(state.last_block, tip)
        async with self._pool.acquire() as conn:
            stored = await repo.stored_hashes(conn, low, state.last_block)
        ancestor: int | None = None
        node_hashes: dict[int, bytes] = {}
        if high >= low:
            numbers = list(range(low, high + 1))
            blocks = await self.rpc.batch(
                [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]
            )
            node_hashes = {
                n: hex_bytes(b["hash"]) for n, b in zip(numbers, blocks, strict=True) if b
            }
            for n in reversed(numbers):
                if stored.get(n) is not None and node_hashes.get(n) == stored[n]:
                    ancestor = n
                    break
        fork = low if ancestor is None else ancestor + 1
        depth = state.last_block - fork + 1
        # No ancestor: everything stored is orphaned, fine only while it is all within finality.
        too_deep = depth > depth_limit or (ancestor is None and low != self.options.start_block)
        if too_deep:
            if not (self.options.reset_on_new_chain and await self._chain_replaced()):
                raise ReorgTooDeep(
                    f"no common ancestor within {depth_limit} blocks of {state.last_block}"
                )
            # A restarted dev chain: the same chain id, another history from the first block.
            log.warning("the node serves another chain: indexing it again from the start")
            fork = self.options.start_block
            depth = state.last_block - fork + 1
        new_tip = node_hashes.get(high, b"")
        async with self._pool.acquire() as conn:
            removed = await repo.roll_back_to(
                conn, fork, expected_last=state.last_block, new_tip_hash=new_tip
            )
            self.state = await repo.load_state(conn)
        self.prices.invalidate()
        self.tokens.forget()
        self._known_tip = None
        log.warning(
            "reorg repaired",
            fork_block=fork,
            depth=depth,
            blocks=removed.blocks,
            transactions=removed.transactions,
            transfers=removed.transfers,
        )

    async def _chain_replaced(self) -> bool:
        """Whether the node has another block right after the first stored one (a dev chain's
        genesis is the same on every start; the blocks after it are not)."""
        height = self.options.start_block + 1
        async with self._pool.acquire() as conn:
            stored = (await repo.stored_hashes(conn, height, height)).get(height)
        block = await self.rpc.call("eth_getBlockByNumber", [hex(height), False])
        return stored is not None and (block is None or hex_bytes(block["hash"]) != stored)

    async def _retry_tokens(self) -> None:
        now = time.monotonic()
        if now < self._next_token_retry:
            return
        self._next_token_retry = now + TOKEN_RETRY_SECONDS
        await self.retry_token_metadata()

    async def retry_token_metadata(self) -> int:
        """Fetches the metadata of tokens whose back-off has passed: how many were tried."""
        async with self._pool.acquire() as conn:
            due = await repo.tokens_due(conn)
            if not due:
                return 0
            found = await self.rpc.token_metadata(["0x" + a.hex() for a in due])
            for address in due:
                info = found["0x" + address.hex()]
                if isinstance(info, RpcError):
                    await repo.token_fetch_failed(conn, address, str(info))
                else:
                    await repo.save_token_metadata(
                        conn, address, name=info.name, symbol=info.symbol, decimals=info.decimals
                    )
        return len(due)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is built and written: it allocates some
    hundred thousand short-lived acyclic objects (decoded JSON, rows), which the generational
    collector would scan over and over for nothing (a fifth of the CPU of a batch). Any cycle
    made meanwhile is collected once the collector runs again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _advanced(state: IndexerState, batch: repo.IngestBatch, tip: int) -> IndexerState:
    number, block_hash, timestamp = batch.last_block
    return IndexerState(
        chain_id=state.chain_id,
        last_block=number,
        last_block_hash=block_hash,
        last_block_timestamp=timestamp,
        finalized_block=state.finalized_block,
        chain_tip_block=max(tip, state.chain_tip_block or 0),
        reorg_count=state.reorg_count,
        block_count=state.block_count + batch.block_count,
        tx_count=state.tx_count + batch.tx_count,
        transfer_count=state.transfer_count + batch.transfer_count,
    )


def build_worker(
    pool: asyncpg.Pool,
    redis: RedisClient | None,
    settings: IndexerSettings,
    *,
    home: Path | None = None,
    lease_ms: int = 10_000,
) -> IndexerWorker | None:
    """A worker from the settings (None without an ETH RPC URL); pricing falls back to the dev
    chain's registry under `home` when no pool is configured."""
    if not settings.eth_rpc_url:
        return None
    description = devchain_description(home) if home is not None else None
    if description is not None and description.get("url") != settings.eth_rpc_url:
        description = None  # left over from an earlier run: not the node configured now
    rpc = EvmRpc(settings.eth_rpc_url, concurrency=settings.indexer_rpc_concurrency)
    return IndexerWorker(
        pool,
        redis,
        rpc,
        price_config(settings, description),
        IndexerOptions.from_settings(settings, lease_ms, dev_chain=description is not None),
    )


async def start_embedded(
    pool: asyncpg.Pool,
    redis: RedisClient,
    home: Path,
    lease_ms: int = 10_000,
    eth_rpc_url: str | None = None,
) -> IndexerWorker | None:
    """Starts the indexer in this process when an ETH RPC URL is configured (`eth_rpc_url`, else
    ETH_RPC_URL from the environment)."""
    settings = IndexerSettings()
    if eth_rpc_url:
        settings = settings.model_copy(update={"eth_rpc_url": eth_rpc_url})
    worker = build_worker(pool, redis, settings, home=home, lease_ms=lease_ms)
    if worker is not None:
        keep_freed_memory()  # the answers' buffers are reused from batch to batch
        worker.start()
    return worker


async def _main() -> int:
    from ordex.config import Settings
    from ordex.db.pool import create_pool
    from ordex.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    if settings.database_url is None or settings.redis_url is None:
        log.error("DATABASE_URL and REDIS_URL must be set")
        return 2
    # Every connection opened up front: a batch's write and the next one's build each hold one,
    # and opening one (a backend, its codecs) mid-ingest would stall the batch that waits for it.
    pool = await create_pool(settings.database_url, min_size=POOL_SIZE, max_size=POOL_SIZE)
    redis = connect(settings.redis_url)
    try:
        worker = build_worker(
            pool, redis, IndexerSettings(), home=settings.home, lease_ms=settings.ordex_lease_ms
        )
        if worker is None:
            log.error("ETH_RPC_URL must be set to run the indexer")
            return 2
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.request_stop)
        keep_freed_memory()
        worker.start()
        await worker.wait()
        await worker.close()
        return 1 if worker.failed is not None else 0
    finally:
        await redis.aclose()
        await pool.close()


def main() -> None:
    import uvloop

    raise SystemExit(uvloop.run(_main()))


if __name__ == "__main__":
    main()
