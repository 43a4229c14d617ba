"""ordex's side: the replay node as a process, the ingest as `ordex worker indexer` runs it, the raw
fetch of the very requests that ingest sent, and the `/api/v1/transactions` route latency."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import orjson

from benchmarks.exchange.servers import Servers, cpu_seconds, percentile
from ordex.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ReplayNode:
    url: str
    proc: subprocess.Popen[bytes]

    def rpc(self, method: str) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
        return httpx.post(self.url, content=orjson.dumps(body), timeout=30).json()["result"]

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.rpc("replay_stats")
        return result

    def reset(self) -> None:
        self.rpc("replay_reset")

    def cpu(self) -> float:
        return process_cpu(self.proc.pid)


@contextmanager
def replay_node(fixture: Path, trace: Path | None = None) -> Iterator[ReplayNode]:
    """`python -m benchmarks.indexer.replay` on a free port, until it answers."""
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.indexer.replay", str(fixture), "--port", str(port)]
    if trace is not None:
        argv += ["--trace", str(trace)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, cwd=ROOT)
    node = ReplayNode(f"http://127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 120  # loading a large fixture takes seconds
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the replay node exited")
            try:
                node.stats()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the replay node did not answer") from None
                time.sleep(0.1)
        yield node
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- ingest ------------------------------------------------------------------------------------


def indexer_command() -> list[str]:
    """The production entry point: `ordex worker indexer` when the CLI has the role, else the
    worker module's own main (the same code)."""
    from ordex.cli_worker import ALL_ROLES

    if "indexer" in ALL_ROLES:
        return [str(Path(sys.executable).parent / "ordex"), "worker", "indexer"]
    return [sys.executable, "-m", "ordex.workers.indexer"]


def pricing_env(devchain: dict[str, Any]) -> dict[str, str]:
    """The indexer's pricing settings for the recorded chain, as an operator sets them for a
    node of their own: WETH, the WETH/USDC pool for ETH/USD, the stablecoins, every pool."""
    contracts, pools = devchain["contracts"], devchain["pools"]
    return {
        "INDEXER_WETH_ADDRESS": contracts["weth"],
        "INDEXER_ETH_USD_POOL": pools["weth_usdc_3000"]["address"],
        "INDEXER_STABLECOINS": json.dumps([contracts[k] for k in ("usdc", "usdt", "dai")]),
        "INDEXER_PRICE_POOLS": json.dumps([p["address"] for p in pools.values()]),
    }


EVM_TABLES = (
    "evm_blocks, evm_transactions, evm_token_transfers, evm_tokens, evm_token_prices, "
    "evm_address_transactions, evm_address_counters, evm_indexer_state, evm_reorgs"
)


async def reset_indexed(database_url: str) -> None:
    """Empties what an ingest wrote, for the next one to start from block 0 again."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"TRUNCATE {EVM_TABLES}")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


async def _indexed(database_url: str) -> dict[str, Any] | None:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT last_block, block_count, tx_count, transfer_count FROM evm_indexer_state"
        )
        return None if row is None else dict(row)
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


NEAR_HEAD_BLOCKS = 500


async def _wait_for_head(
    database_url: str, head: int, proc: subprocess.Popen[bytes], limit_seconds: float
) -> float:
    """Polls (one indexed single-row read) until the state reaches `head`: the wall time at
    which it was seen. Every 10 ms, then every 1 ms over the last `NEAR_HEAD_BLOCKS` blocks: a
    10 ms poll would add 5 ms on average to when the last commit is seen, and polling that
    often all along would load the server the ingest writes to."""
    conn = await asyncpg.connect(database_url)
    deadline = time.monotonic() + limit_seconds
    try:
        while True:
            try:
                last = await conn.fetchval("SELECT last_block FROM evm_indexer_state")
            except asyncpg.UndefinedTableError:
                last = None
            if last is not None and last >= head:
                return time.time()
            if proc.poll() is not None:
                raise RuntimeError(f"the indexer exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"indexer at block {last} of {head} after {limit_seconds:.0f} s")
            near = last is not None and last >= head - NEAR_HEAD_BLOCKS
            await asyncio.sleep(0.001 if near else 0.01)
    finally:
        await conn.close()


def run_ingest(
    servers: Servers, node: ReplayNode, head: int, devchain: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """`ordex worker indexer` from block 0 to `head` into the (fresh, migrated) database; timed
    from its first JSON-RPC request to the state row showing `head` committed."""
    log = servers.home / "indexer.log"
    node.reset()
    replay_cpu = node.cpu()
    pg_before = cpu_seconds()
    spawned = time.time()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            indexer_command(),
            env=servers.env(ETH_RPC_URL=node.url, **pricing_env(devchain)),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        try:
            reached = asyncio.run(_wait_for_head(servers.database_url, head, proc, timeout))
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}; its log: {log.read_text()[-3000:]}") from exc
        worker_cpu = process_cpu(proc.pid)
        stats = node.stats()
        pg_after = cpu_seconds()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    counts = asyncio.run(_indexed(servers.database_url)) or {}
    first = stats["first_request_at"] or spawned
    return {
        "seconds": reached - first,
        "wall_seconds_with_startup": round(reached - spawned, 2),
        "blocks": counts.get("block_count"),
        "transactions": counts.get("tx_count"),
        "transfers": counts.get("transfer_count"),
        "rpc_requests": stats["requests"],
        "rpc_calls": stats["calls"],
        "rpc_misses": stats["misses"],
        "cpu_seconds": {
            "indexer worker": round(worker_cpu, 2),
            "postgres": round(pg_after.get("postgres", 0) - pg_before.get("postgres", 0), 2),
            "replay node": round(node.cpu() - replay_cpu, 2),
        },
        "reached_at": reached,
    }


# --- raw fetch ---------------------------------------------------------------------------------


def traced_bodies(trace: Path, until: float) -> list[bytes]:
    """The request bodies the ingest sent up to the moment it reached the head (later ones are
    its idle polling at the head)."""
    bodies = []
    with trace.open("rb") as f:
        for line in f:
            entry = orjson.loads(line)
            if entry["t"] <= until:
                bodies.append(entry["body"].encode())
    return bodies


async def _fetch_all(url: str, bodies: list[bytes], concurrency: int) -> tuple[float, int]:
    """Sends every body in order, `concurrency` in flight (the ingest's own limit), with the
    ingest's own client (aiohttp, a session as `EvmRpc` opens it) and decodes each answer;
    writes nothing."""
    queue = iter(bodies)
    answers = 0
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=120),
        connector=aiohttp.TCPConnector(limit=concurrency * 2),
        headers={"content-type": "application/json"},
    ) as session:

        async def worker() -> None:
            nonlocal answers
            for body in queue:
                async with session.post(url, data=body) as response:
                    content = await response.read()
                decoded = orjson.loads(content)
                answers += len(decoded) if isinstance(decoded, list) else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, answers


def run_raw_fetch(node: ReplayNode, bodies: list[bytes], concurrency: int) -> dict[str, Any]:
    node.reset()
    replay_cpu = node.cpu()
    own_cpu = time.process_time()
    seconds, answers = asyncio.run(_fetch_all(node.url, bodies, concurrency))
    return {
        "seconds": seconds,
        "rpc_requests": len(bodies),
        "rpc_answers": answers,
        "concurrency": concurrency,
        "cpu_seconds": {
            "fetcher": round(time.process_time() - own_cpu, 2),
            "replay node": round(node.cpu() - replay_cpu, 2),
        },
    }


# --- routes ------------------------------------------------------------------------------------


async def busiest_address(database_url: str) -> tuple[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT address, tx_count FROM evm_address_counters ORDER BY tx_count DESC LIMIT 1"
        )
    finally:
        await conn.close()
    assert row is not None, "nothing indexed"
    from web3 import Web3

    return Web3.to_checksum_address(bytes(row["address"])), int(row["tx_count"])


async def bearer_token(base: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        credentials = {"email": "indexer@bench.example", "password": "bench-password"}
        registered = await client.post("/auth/register", json=credentials)
        assert registered.status_code == 201, registered.text
        reply = await client.post("/auth/login", json=credentials)
        assert reply.status_code == 200, reply.text
        token: str = reply.json()["token"]
        return token


def _timings(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": percentile(ordered, 50) * 1000,
        "p99_ms": percentile(ordered, 99) * 1000,
        "requests": len(ordered),
    }


async def measure_routes(
    base: str, token: str, address: str, page_size: int, depth: int, repeats: int
) -> dict[str, Any]:
    """p50/p99 of page 1 and of page `depth` (reached by its keyset link from the page before,
    as a client paging through gets there; and by `page=N` without a cursor, which skips rows),
    one client, requests one after the other, each answer read whole."""
    headers = {"Authorization": f"Bearer {token}"}
    first_path = f"/api/v1/transactions?address={address}&page_size={page_size}"
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        url: str | None = first_path
        deep = ""
        walk_started = time.perf_counter()
        for page in range(1, depth + 1):
            assert url is not None, f"no page {page}"
            reply = await client.get(url)
            assert reply.status_code == 200, reply.text
            body = reply.json()
            if page == depth:
                deep = url
                assert body["page"] == depth and len(body["data"]) == page_size, body["page"]
            url = body["next_page_url"]
        walk = time.perf_counter() - walk_started
        results: dict[str, Any] = {f"walk_{depth}_pages_seconds": round(walk, 2)}
        offset_path = f"{first_path}&page={depth}"
        for name, path in (("page 1", first_path), (f"page {depth} (cursor)", deep),
                           (f"page {depth} (page={depth}, no cursor)", offset_path)):  # fmt: skip
            for _ in range(min(20, repeats)):  # warm: prepared statements, caches
                await client.get(path)
            samples = []
            for _ in range(repeats):
                started = time.perf_counter()
                reply = await client.get(path)
                reply.raise_for_status()
                samples.append(time.perf_counter() - started)
            results[name] = _timings(samples)
        return results
