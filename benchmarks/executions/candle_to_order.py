"""Candle close to order sent, p50/p99, for 100 running executions on the paper venue.

The app runs in this process (create_app with its lifespan, embedded PostgreSQL and Redis of this
benchmark, binance pointed at the local exchange-speaking server of the tests for the paper
venue's books). One user starts 100 PAPER sessions on binance's BTC/USDT with a flow that queues
an order at every close (buy when flat, close when long), so each execution sends one order per
bar. The flow worker (`FlowRunner`, as embedded) runs them with a candle source in memory and a
clock the benchmark moves: each round closes one 1-minute candle for every execution at once
(`now` moves a minute) and wakes the worker, as a pushed candle (`watchOHLCV`) would. The latency
of an order is from that moment to the return of its placement on the paper venue (evaluator
step, the order and its fills committed with its client order id, books fetched from the local
server at most 250 ms old). Polling ccxt (`poll_seconds`) would add up to one poll interval.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from pydantic import SecretStr
from tests.marketdata.fake_binance import start_fake_binance
from tests.workspace.helpers import sign_up

from benchmarks.exchange.servers import embedded_servers, row
from ordex.api.app import create_app
from ordex.config import RegistrationMode, Settings
from ordex.db.candles import CandleColumns
from ordex.db.flow_executions import ExecutionRow
from ordex.db.types import Connection
from ordex.services.market_data import CcxtExchanges, MarketDataService
from ordex.services.markets import MarketRegistry
from ordex.services.venues import SessionSettings
from ordex.workers.flow_runner import FlowRunner

EXECUTIONS = 100
FULL_ROUNDS, QUICK_ROUNDS = 30, 5
MINUTE = 60_000
TARGET_P99_MS = 1_000.0

FLOW: dict[str, Any] = {
    "schemaVersion": 1,
    "settings": {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1m",
                 "initialCapital": 100000, "feeBps": 10, "slippageBps": 0,
                 "direction": "long", "maxEntries": 1},
    "nodes": [
        {"id": "t", "type": "trigger.candle_close", "params": {}},
        {"id": "up", "type": "logic.compare", "params": {"op": ">", "b": 0}},
        {"id": "buy", "type": "action.buy", "params": {
            "orderType": "market", "size": {"mode": "fixed", "value": 0.001}}},
        {"id": "exit", "type": "action.close", "params": {"orderType": "market"}},
    ],
    "edges": [
        {"id": "e1", "source": "t", "sourceHandle": "close", "target": "up", "targetHandle": "a"},
        {"id": "e2", "source": "up", "sourceHandle": "out", "target": "buy", "targetHandle": "when"},
        {"id": "e3", "source": "up", "sourceHandle": "out", "target": "exit", "targetHandle": "when"},
    ],
}  # fmt: skip


def _price(open_time: int) -> float:
    return round(42_000 + 50 * math.sin(open_time / MINUTE / 9), 2)


class Market:
    """Candles in memory up to a clock the benchmark moves."""

    def __init__(self, now: int) -> None:
        self.now = now

    def clock(self) -> int:
        return self.now

    async def candles(
        self, conn: Connection, execution: ExecutionRow, registry: MarketRegistry,
        start_ms: int, now: int,
    ) -> CandleColumns:  # fmt: skip
        columns = CandleColumns()
        first = -(-start_ms // MINUTE) * MINUTE
        rows = []
        for ts in range(first, now - MINUTE + 1, MINUTE):
            o, c = _price(ts - MINUTE), _price(ts)
            rows.append([ts, o, max(o, c) + 5, min(o, c) - 5, c, 1.0])
        columns.append_rows(rows)
        return columns


def _settings(database_url: str, redis_url: str, home: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        redis_url=redis_url,
        ordex_home=Path(home),
        jwt_secret=SecretStr("bench-jwt-secret-0123456789abcdef0123456789"),
        registration_mode=RegistrationMode.OPEN,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        db_pool_min=4,
        db_pool_max=24,
        access_log=False,
    )


async def _measure(database_url: str, redis_url: str, home: str, rounds: int) -> dict[str, Any]:
    fake, fake_runner = await start_fake_binance()
    app = create_app(_settings(database_url, redis_url, home))
    app.state.market_data = MarketDataService(
        CcxtExchanges(base_urls={"binance": fake.url}, timeout_ms=5000)
    )
    app.state.session_settings = SessionSettings(_env_file=None)  # type: ignore[call-arg]
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                user = await sign_up(http, "bench@example.com")
                created = await http.post(
                    "/api/flows", json={"name": "every bar", **FLOW}, headers=user.headers
                )
                flow_id = created.json()["id"]
                for _ in range(EXECUTIONS):
                    started = await http.post(
                        "/api/v1/trade/start",
                        json={"symbol": "BTC/USDT", "initial_capital": 100_000, "mode": "PAPER",
                              "flow_id": flow_id},
                        headers=user.headers,
                    )  # fmt: skip
                    assert started.status_code == 200, started.text
            return await _rounds(app.state, rounds)
    finally:
        await fake_runner.cleanup()


async def _rounds(state: Any, rounds: int) -> dict[str, Any]:
    now = (int(time.time() * 1000) // MINUTE) * MINUTE
    market = Market(now)
    sent: dict[tuple[uuid.UUID, int], float] = {}

    def on_sent(execution: uuid.UUID, bar_ms: int) -> None:
        sent[(execution, bar_ms)] = time.perf_counter()

    runner = FlowRunner(
        state.pool, state.redis, state.session_venues, poll_seconds=0.5,
        replay_ms=2 * MINUTE, candles=market.candles, clock=market.clock, on_sent=on_sent,
    )  # fmt: skip
    runner.start()
    latencies: list[float] = []
    try:
        # Warm-up: every execution built and caught up with the bars before its start.
        await _wait(lambda: len({e for e, _ in sent}) >= EXECUTIONS, 120)
        for _ in range(rounds):
            bar = market.now  # the candle opening now closes a minute later
            market.now += MINUTE
            closed_at = time.perf_counter()
            runner.kick()
            await _wait(lambda bar=bar: sum(1 for _, b in sent if b == bar) >= EXECUTIONS, 60)
            latencies.extend((sent[(e, b)] - closed_at) * 1000 for e, b in sent if b == bar)
    finally:
        await runner.close()
    latencies.sort()
    return {
        "orders": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "min_ms": latencies[0],
        "max_ms": latencies[-1],
    }


async def _wait(done: Any, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while True:
            if done():
                return
            await asyncio.sleep(0.002)


def run(quick: bool) -> list[dict[str, Any]]:
    rounds = QUICK_ROUNDS if quick else FULL_ROUNDS
    with embedded_servers("executions") as servers:
        home = str(servers.home / "ordex-home")
        result = asyncio.run(_measure(servers.database_url, servers.redis_url, home, rounds))
    details = {"executions": EXECUTIONS, "rounds": rounds, **result}
    return [
        row("candle close -> order sent p50", result["p50_ms"], "ms", "-", None, **details),
        row(
            "candle close -> order sent p99",
            result["p99_ms"],
            "ms",
            f"< {TARGET_P99_MS:.0f} ms",
            result["p99_ms"] < TARGET_P99_MS,
        ),
    ]
