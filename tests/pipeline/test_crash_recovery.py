"""Crash test: kill -9 the outbox publisher, the matcher and the persister at random moments during
a burst of 20,000 orders, restart them, drain, and check that nothing was lost or doubled."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

import ordex
from ordex.db import engine_snapshots
from ordex.services.exchange_errors import ExchangeError
from ordex.services.markets import MarketRegistry
from ordex.services.order_requests import parse_order_request
from ordex.services.orders import cancel_order, submit_order
from ordex.streams import commands_stream, entry_last_seq, events_stream, matcher_progress_key
from tests.pipeline.conftest import Pipeline

ROLES = ("outbox", "matcher", "persister")
MARKETS = ("BTC-USDC", "BTC-PERP", "ETH-USDC")
ORDERS = int(os.environ.get("ORDEX_CRASH_TEST_ORDERS", "20000"))
PRODUCERS = 4
SEED = 20261121


class Workers:
    """The three worker roles as separate OS processes, restartable after kill -9."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: list[str] = []

    def start(self, role: str) -> None:
        log = (self.logs / f"{role}.log").open("ab")
        self.procs[role] = subprocess.Popen(
            [str(Path(sys.executable).parent / "ordex"), "worker", role],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, role: str) -> None:
        self.procs[role].send_signal(signal.SIGKILL)
        self.procs[role].wait()
        self.kills.append(role)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.wait(timeout=30)


async def produce(
    pipeline: Pipeline,
    registry: MarketRegistry,
    accounts: list[int],
    count: int,
    rng: random.Random,
) -> None:
    """Orders and cancels through the real intake (`submit_order`, `cancel_order`): validation,
    risk check, hold, order row and outbox row in one transaction."""
    live: list[tuple[int, int]] = []
    for _ in range(count):
        async with pipeline.pool.acquire() as conn:
            if live and rng.random() < 0.1:
                account, order_id = live.pop(rng.randrange(len(live)))
                with contextlib.suppress(ExchangeError):  # it may have filled meanwhile
                    await cancel_order(conn, account, order_id)
                continue
            account = rng.choice(accounts)
            tif = "IOC" if rng.random() < 0.15 else "GTC"
            market = rng.choice(MARKETS)
            request = parse_order_request(
                {
                    "marketId": market,
                    "side": rng.choice(("BUY", "SELL")),
                    "type": "LIMIT",
                    "quantity": str(Decimal(rng.randint(1, 20)) / 10),
                    "price": str(rng.randint(95, 105)),
                    "timeInForce": tif,
                    **({"leverage": 5} if market.endswith("PERP") else {}),
                }
            )
            submitted = await submit_order(conn, pipeline.redis, registry, account, request)
        if tif == "GTC":
            live.append((account, int(submitted.order_id)))


async def chaos(workers: Workers, rng: random.Random) -> None:
    """Kills a random role every so often and restarts it; every role dies at least twice."""
    plan = [*ROLES, *ROLES, *rng.choices(ROLES, k=3)]
    rng.shuffle(plan)
    for role in plan:
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        workers.kill(role)
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        workers.start(role)


async def not_drained(pipeline: Pipeline, markets: tuple[str, ...] = MARKETS) -> str | None:
    """Why the pipeline has not caught up yet, or None once it has."""
    unpublished = await pipeline.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    )
    if unpublished:
        return f"{unpublished} outbox rows unpublished"
    for market in markets:
        last_command = await pipeline.redis.xrevrange(commands_stream(market), count=1)
        progress = await pipeline.redis.get(matcher_progress_key(market))
        if last_command and last_command[0][0] != progress:
            return f"{market}: matcher at {progress!r}, stream at {last_command[0][0]!r}"
        last_event = await pipeline.redis.xrevrange(events_stream(market), count=1)
        applied = await pipeline.pool.fetchval(
            "SELECT coalesce(max(last_seq), 0) FROM market_progress WHERE market_id = $1", market
        )
        if last_event and (emitted := entry_last_seq(last_event[0][1])) != applied:
            return f"{market}: persisted {applied}, events at {emitted}"
    return None


def replay(config: ordex.MarketConfig, payloads: list[bytes]) -> tuple[ordex.Engine, list[dict]]:
    """A clean replay of a command stream, dropping republished commands as the matcher does."""
    engine = ordex.Engine(config)
    seen: set[int] = set()
    fresh = []
    for raw in payloads:
        cmd_id = orjson.loads(raw).get("cmd_id")
        if isinstance(cmd_id, int):
            if cmd_id in seen:
                continue
            seen.add(cmd_id)
        fresh.append(raw)
    events = [orjson.loads(e) for e in engine.process_json(fresh)]
    return engine, [e for e in events if e["type"] == "trade"]


@pytest.mark.slow
async def test_kill_dash_nine_loses_no_order_and_doubles_no_fill(
    pipeline: Pipeline, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    accounts = [
        await pipeline.account({"USDC": "10000000", "BTC": "100000", "ETH": "100000"})
        for _ in range(8)
    ]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ORDEX_HOME": str(tmp_path / "home"),
        "ORDEX_LEASE_MS": "1000",
        "ORDEX_SNAPSHOT_EVERY": "3000",
        "LOG_LEVEL": "warning",
    }
    workers = Workers(env, tmp_path)
    for role in ROLES:
        workers.start(role)
    try:
        chaos_task = asyncio.create_task(chaos(workers, rng))
        per_producer = ORDERS // PRODUCERS
        async with pipeline.pool.acquire() as conn:
            registry = await MarketRegistry.load(conn)
        await asyncio.gather(
            *(
                produce(pipeline, registry, accounts, per_producer, random.Random(SEED + i))
                for i in range(PRODUCERS)
            )
        )
        await chaos_task
        deadline = time.monotonic() + 180
        while (reason := await not_drained(pipeline)) is not None:
            assert time.monotonic() < deadline, f"the pipeline did not catch up: {reason}"
            await asyncio.sleep(0.2)
    finally:
        workers.stop_all()
    assert set(workers.kills) == set(ROLES)
    assert len(workers.kills) >= 6

    await assert_invariants(pipeline, MARKETS)


async def assert_invariants(pipeline: Pipeline, markets: tuple[str, ...]) -> None:
    """Once drained and stopped: each engine equals a clean replay of its command stream, fills
    are exactly the replay's trades, orders agree with the engine, the ledger is balanced."""
    for market in markets:
        async with pipeline.pool.acquire() as conn:
            snap = await engine_snapshots.latest(conn, market)
        assert snap is not None
        entries = await pipeline.redis.xrange(commands_stream(market), max=snap.stream_id)
        config = pipeline.markets[market].config
        engine, trades = replay(config, [e[1][b"payload"] for e in entries])
        # The engine after crashes and recovery equals a replay from scratch.
        assert engine.state_hash() == snap.state_hash, market
        # Fills are exactly the replay's trades: none missing, none doubled.
        fills = await pipeline.pool.fetch(
            "SELECT seq, liquidity, order_id, price, quantity FROM fills WHERE market_id = $1",
            market,
        )
        by_seq: dict[int, dict[str, tuple[int, Decimal, Decimal]]] = defaultdict(dict)
        for f in fills:
            by_seq[f["seq"]][f["liquidity"]] = (f["order_id"], f["price"], f["quantity"])
        expected = {
            t["seq"]: {
                "TAKER": (t["taker_order_id"], Decimal(t["price"]), Decimal(t["qty"])),
                "MAKER": (t["maker_order_id"], Decimal(t["price"]), Decimal(t["qty"])),
            }
            for t in trades
        }
        assert dict(by_seq) == expected, market
        # Every accepted order is final or rests in the engine with the same open quantity.
        orders = await pipeline.pool.fetch(
            "SELECT id, status, quantity, filled_quantity FROM orders WHERE market_id = $1", market
        )
        for o in orders:
            live = engine.order(o["id"])
            if o["status"] in ("OPEN", "PARTIALLY_FILLED"):
                assert live is not None, o
                assert config.format_qty(live.remaining) == ordex_qty(
                    o["quantity"] - o["filled_quantity"]
                )
            else:
                assert o["status"] in ("FILLED", "CANCELLED", "REJECTED", "EXPIRED"), o
                assert live is None, o
    # Money: every asset's ledger equals its balances and its deposits; holds match live orders.
    await pipeline.ledger_matches_balances()
    held = await pipeline.pool.fetchval("SELECT coalesce(sum(held), 0) FROM balances")
    open_holds = await pipeline.pool.fetchval(
        "SELECT coalesce(sum(hold_amount - hold_released), 0) FROM orders"
        " WHERE status IN ('PENDING', 'OPEN', 'PARTIALLY_FILLED', 'UNTRIGGERED')"
    )
    assert held == open_holds
    for market in (m for m in markets if m.endswith("-PERP")):
        net = await pipeline.pool.fetchval(
            "SELECT coalesce(sum(size), 0) FROM positions WHERE market_id = $1", market
        )
        assert net == 0, market


def ordex_qty(value: Decimal) -> str:
    """A quantity as the engine formats it (no trailing zeros)."""
    text = format(value.normalize(), "f")
    return text
