"""`GET /api/v1/decisions/{id}/similar` with 100,000 decisions in the journal: through the HNSW
index against an exact scan of the same query (`exact=true`: ORDER BY the similarity expression,
which no index answers), both measured in one run over the same reference decisions, with the
recall of the HNSW answer against the exact one.

`ordex serve` runs for real (granian, one API worker, loopback) on this benchmark's own embedded
PostgreSQL and Redis. The journal is one user's: decisions with market contexts of a few symbols
(price, RSI, MACD, EMAs, ATR, Bollinger bands, volume, funding), their context vectors computed by
the service's own `context_vector`, loaded with COPY; the HNSW index is built once the rows are in
(as `CREATE INDEX` on a loaded table, rather than row by row), and the build time is reported.
Before measuring, EXPLAIN confirms the index scan serves the HNSW query and not the exact one.

Requests are sequential (latency, not throughput), alternating HNSW and exact per reference so
both see the same cache state. Besides HTTP, the SQL alone is timed at several `hnsw.ef_search`
widths, to show what the setting ORDEX_DECISIONS_EF_SEARCH trades.
"""

from __future__ import annotations

import asyncio
import math
import random
import signal
import subprocess
import time
import uuid
from typing import Any

import asyncpg
import httpx
import orjson

from benchmarks.exchange.http_vs_pgbench import start_api, wait_for_api
from benchmarks.exchange.servers import Servers, embedded_servers, percentile, row
from ordex.db import decisions as decisions_repo
from ordex.db.pool import create_pool
from ordex.embedded import free_port
from ordex.services.decisions import context_vector

FULL_DECISIONS, QUICK_DECISIONS = 100_000, 10_000
FULL_QUERIES, QUICK_QUERIES = 300, 40
LIMIT = 10
EF_SEARCH_WIDTHS = (40, 100, 200)
SYMBOLS = {"BTC/USDT": 42_000.0, "ETH/USDT": 2_300.0, "SOL/USDT": 100.0, "BNB/USDT": 310.0}
TARGET_RECALL = 0.95
INDEX = "decisions_context_hnsw_idx"
COLUMNS = (
    "user_id", "agent_name", "symbol", "decision_type", "decision", "confidence", "context",
    "context_vector", "model", "prompt_tokens", "completion_tokens", "latency_ms", "outcome",
)  # fmt: skip


def market_context(rng: random.Random, symbol: str) -> dict[str, Any]:
    """A plausible context an LLM agent would be shown."""
    price = SYMBOLS[symbol] * math.exp(rng.gauss(0, 0.15))
    atr = price * rng.uniform(0.005, 0.04)
    return {
        "price": round(price, 2),
        "rsi": round(rng.uniform(5, 95), 1),
        "macd": {"value": round(rng.gauss(0, price * 0.003), 2),
                 "signal": round(rng.gauss(0, price * 0.003), 2)},
        "ema": {"20": round(price * math.exp(rng.gauss(0, 0.02)), 2),
                "50": round(price * math.exp(rng.gauss(0, 0.04)), 2)},
        "atr": round(atr, 2),
        "bollinger": {"upper": round(price + 2 * atr, 2), "lower": round(price - 2 * atr, 2)},
        "volume_24h": round(rng.lognormvariate(20, 1)),
        "funding_rate": round(rng.gauss(0.0001, 0.0003), 6),
    }  # fmt: skip


def journal_rows(user_id: uuid.UUID, count: int, seed: int = 11) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    symbols = list(SYMBOLS)
    rows = []
    for _ in range(count):
        symbol = rng.choice(symbols)
        context = market_context(rng, symbol)
        rows.append((
            user_id, rng.choice(["trend-agent", "technical-agent", "risk-agent"]), symbol,
            rng.choice(["signal", "risk_approval"]), rng.choice(["BUY", "SELL", "HOLD"]),
            round(rng.uniform(0.4, 0.95), 2), orjson.dumps(context).decode(),
            context_vector(context),
            "claude-sonnet-4", rng.randint(800, 2000), rng.randint(80, 400),
            rng.randint(400, 3000), rng.choice(["SUCCESS", "FAILURE", "PENDING"]),
        ))  # fmt: skip
    return rows


async def load_journal(pool: asyncpg.Pool, user_id: uuid.UUID, count: int) -> float:
    """COPY the decisions in, then build the HNSW index; the build's seconds."""
    rows = await asyncio.to_thread(journal_rows, user_id, count)
    async with pool.acquire() as conn:
        await conn.execute(f"DROP INDEX {INDEX}")
        await conn.copy_records_to_table("decisions", records=rows, columns=COLUMNS)
        await conn.execute("SET maintenance_work_mem = '1GB'")
        started = time.perf_counter()
        await conn.execute(
            f"CREATE INDEX {INDEX} ON decisions USING hnsw (context_vector vector_cosine_ops)"
        )
        built = time.perf_counter() - started
        await conn.execute("RESET maintenance_work_mem")
        await conn.execute("VACUUM ANALYZE decisions")
    return built


async def check_plans(pool: asyncpg.Pool, user_id: uuid.UUID, reference: uuid.UUID) -> None:
    """The HNSW query must be an index scan of INDEX, the exact one must not touch it."""
    async with pool.acquire() as conn:
        vector = await conn.fetchval(
            "SELECT context_vector FROM decisions WHERE id = $1", reference
        )
        for exact in (False, True):
            sql = decisions_repo.similar_sql(
                "context_vector", "context_vector IS NOT NULL", exact=exact
            )
            plan = await decisions_repo.explain_similar(
                conn, sql, vector, user_id, reference, LIMIT
            )
            if (INDEX in plan) == exact:
                raise RuntimeError(f"unexpected plan (exact={exact}):\n{plan}")


async def sql_recall_by_width(
    pool: asyncpg.Pool, user_id: uuid.UUID, references: list[uuid.UUID]
) -> dict[str, Any]:
    """Recall and p50 of the SQL alone at each ef_search width (exact answers computed once)."""
    results: dict[str, Any] = {}
    async with pool.acquire() as conn:
        vectors = {
            r: await conn.fetchval("SELECT context_vector FROM decisions WHERE id = $1", r)
            for r in references
        }
        truth = {}
        for r in references:
            found = await decisions_repo.similar_by_context(
                conn, user_id, r, vectors[r], limit=LIMIT, exact=True, ef_search=40
            )
            truth[r] = {x.id for x in found}
        for width in EF_SEARCH_WIDTHS:
            latencies, hits = [], 0
            for r in references:
                started = time.perf_counter()
                found = await decisions_repo.similar_by_context(
                    conn, user_id, r, vectors[r], limit=LIMIT, exact=False, ef_search=width
                )
                latencies.append((time.perf_counter() - started) * 1000)
                hits += len({x.id for x in found} & truth[r])
            latencies.sort()
            results[f"ef_search_{width}"] = {
                "recall": round(hits / (LIMIT * len(references)), 4),
                "p50_ms": round(percentile(latencies, 50), 3),
                "p99_ms": round(percentile(latencies, 99), 3),
            }
    return results


async def measure_http(
    base: str, token: str, references: list[uuid.UUID]
) -> tuple[list[float], list[float], float]:
    """(HNSW latencies, exact latencies, recall@LIMIT), in ms, over the same references."""
    headers = {"Authorization": f"Bearer {token}"}
    hnsw_ms: list[float] = []
    exact_ms: list[float] = []
    hits = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:

        async def similar(reference: uuid.UUID, exact: bool) -> tuple[float, list[str]]:
            params: dict[str, Any] = {"limit": LIMIT, "exact": "true" if exact else "false"}
            started = time.perf_counter()
            response = await client.get(f"/api/v1/decisions/{reference}/similar", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(response.text)
            similar = response.json()["similar"]
            sims = [s["similarity"] for s in similar]
            if sims != sorted(sims, reverse=True) or len(similar) != LIMIT:
                raise RuntimeError(f"similar decisions not nearest first (exact={exact}): {sims}")
            return elapsed, [s["id"] for s in similar]

        for warm in references[:5]:  # prepared statements, caches
            await similar(warm, False)
            await similar(warm, True)
        for i, reference in enumerate(references):
            order = (False, True) if i % 2 == 0 else (True, False)
            answers = {}
            for exact in order:
                elapsed, ids = await similar(reference, exact)
                (exact_ms if exact else hnsw_ms).append(elapsed)
                answers[exact] = set(ids)
            hits += len(answers[False] & answers[True])
    return sorted(hnsw_ms), sorted(exact_ms), hits / (LIMIT * len(references))


async def register(base: str) -> tuple[uuid.UUID, str]:
    """A user and their personal API token, through the API."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        reply = await client.post(
            "/api/auth/register",
            json={"email": "journal@bench.example", "password": "bench-password"},
        )
        if reply.status_code != 201:
            raise RuntimeError(reply.text)
        user_id = uuid.UUID(reply.json()["user"]["id"])
        access = reply.json()["token"]
        client.cookies.clear()
        token = await client.post("/api/user/token", headers={"Authorization": f"Bearer {access}"})
        return user_id, token.json()["token"]


async def measure(quick: bool) -> list[dict[str, Any]]:
    count = QUICK_DECISIONS if quick else FULL_DECISIONS
    queries = QUICK_QUERIES if quick else FULL_QUERIES
    with embedded_servers("decisions") as servers:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = start_api(servers, port)
        try:
            await wait_for_api(base, api)
            user_id, token = await register(base)
            return await _measure(servers, base, user_id, token, count, queries)
        finally:
            api.send_signal(signal.SIGTERM)
            try:
                api.wait(timeout=30)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait()


async def _measure(
    servers: Servers, base: str, user_id: uuid.UUID, token: str, count: int, queries: int
) -> list[dict[str, Any]]:
    pool = await create_pool(servers.database_url, min_size=1, max_size=2)
    try:
        load_started = time.perf_counter()
        build_seconds = await load_journal(pool, user_id, count)
        load_seconds = time.perf_counter() - load_started
        ids = [r["id"] for r in await pool.fetch("SELECT id FROM decisions ORDER BY id")]
        references = random.Random(5).sample(ids, queries)
        await check_plans(pool, user_id, references[0])
        hnsw, exact, recall = await measure_http(base, token, references)
        widths = await sql_recall_by_width(pool, user_id, references[: min(100, queries)])
    finally:
        await pool.close()
    setup = {"decisions": count, "queries": queries, "limit": LIMIT,
             "load_s": round(load_seconds, 1), "hnsw_build_s": round(build_seconds, 1)}  # fmt: skip
    speedup_p50 = percentile(exact, 50) / percentile(hnsw, 50)
    return [
        row(f"/similar HNSW p50 ({count:,} decisions)", percentile(hnsw, 50), "ms",
            "faster than exact", speedup_p50 > 1, speedup_p50, **setup),
        row("/similar HNSW p99", percentile(hnsw, 99), "ms", "", None),
        row("/similar exact scan p50", percentile(exact, 50), "ms", "", None),
        row("/similar exact scan p99", percentile(exact, 99), "ms", "", None,
            percentile(exact, 99) / percentile(hnsw, 99)),
        row(f"HNSW recall@{LIMIT} vs exact", recall, "", f">= {TARGET_RECALL}",
            recall >= TARGET_RECALL, **{"sql_by_ef_search": widths}),
    ]  # fmt: skip


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))
