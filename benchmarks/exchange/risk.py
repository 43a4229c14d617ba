"""The liquidation check: positions re-checked after a mark move, and mark-to-liquidation latency.

1. `RiskIndex` (services/risk.py) alone, in memory: 100,000 open positions over 10,000 accounts
   (ten perpetual markets, one position per account and market, cross margin, collaterals from
   4% to 30% of the notional). Mark moves of 0.5% to 2% on the markets in turn; after each move
   the accounts found are closed, as the worker's liquidations would. The incremental move and a
   full rescan are timed in the same run, and the incremental result is checked against the
   rescan at every move. "Positions re-checked per second" is the positions a move leaves
   checked (all of them, for both) over the time the move took.
2. The real pipeline in one process (outbox, matcher, persister, risk worker over embedded
   PostgreSQL and Redis): longs with liquidation prices spaced apart; the mark is written just
   past one liquidation price at a time (as the mark worker writes and announces it) and the time
   until that liquidation's fill is persisted (`liquidations.seq` set, the order FILLED) is
   measured.

python -m benchmarks.exchange --only risk
"""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis

import ordex
from benchmarks.exchange.servers import create_accounts, embedded_servers, percentile, row
from ordex.services.mark_prices import MarkPrice, mark_channel, write_mark
from ordex.services.markets import MarketRegistry
from ordex.services.order_requests import parse_order_request
from ordex.services.orders import submit_order
from ordex.services.risk import RiskIndex
from ordex.workers.runtime import ExchangeRuntime

MARKETS = 10
ACCOUNTS = 10_000
QUICK_ACCOUNTS = 1_000
MOVES = 60
QUICK_MOVES = 10
SAMPLES = 40
QUICK_SAMPLES = 5


def _configs() -> dict[str, ordex.MarketConfig]:
    return {
        f"M{i}-PERP": ordex.MarketConfig(
            f"M{i}-PERP",
            "PERP",
            f"M{i}",
            "USDC",
            tick_size="0.1",
            lot_size="0.0001",
            quote_decimals=6,
            maintenance_margin="0.005",
            initial_margin="0.05",
            max_leverage=20,
            price_band="0.05",
            taker_fee="0.0005",
            maker_fee="0.0002",
        )
        for i in range(MARKETS)
    }


def build_index(accounts: int, seed: int = 1) -> tuple[RiskIndex, float]:
    rng = random.Random(seed)
    configs = _configs()
    index = RiskIndex(configs)
    marks = {m: rng.randint(100_000, 700_000) for m in configs}  # ticks
    for market_id, mark in marks.items():
        index.set_mark(market_id, mark)
    started = time.perf_counter()
    for account_id in range(10, 10 + accounts):
        positions = {}
        notional = 0
        for market_id, config in configs.items():
            lots = rng.randint(1, 50_000) * rng.choice((1, -1))
            entry = marks[market_id] * rng.randint(97_000, 103_000) // 100_000
            positions[market_id] = (lots, ordex.notional(config, entry, abs(lots)))
            notional += ordex.notional(config, marks[market_id], abs(lots))
        index.set_account(account_id, notional * rng.randint(40, 300) // 1000, positions)
    return index, time.perf_counter() - started


def index_rows(quick: bool) -> list[dict[str, Any]]:
    accounts = QUICK_ACCOUNTS if quick else ACCOUNTS
    moves = QUICK_MOVES if quick else MOVES
    index, build_seconds = build_index(accounts)
    positions = sum(len(a.positions) for a in index.accounts.values())
    rng = random.Random(2)
    markets = sorted(index.configs)
    incremental_seconds = 0.0
    incremental_accounts = 0
    full_seconds = 0.0
    full_positions = 0
    found_total = 0
    for move in range(moves):
        market_id = markets[move % len(markets)]
        mark = index.marks[market_id]
        step = rng.randint(5, 20) * rng.choice((1, -1))
        new_mark = max(1, mark + mark * step // 1000)
        before = index.checked
        started = time.perf_counter()
        found = index.set_mark(market_id, new_mark)
        incremental_seconds += time.perf_counter() - started
        incremental_accounts += index.checked - before
        live = sum(len(a.positions) for a in index.accounts.values())
        started = time.perf_counter()
        rescanned = index.full_scan()
        full_seconds += time.perf_counter() - started
        full_positions += live
        if found != rescanned:
            raise AssertionError(f"move {move}: incremental {found} != rescan {rescanned}")
        found_total += len(found)
        for account_id in found:
            index.set_account(
                account_id, 0, dict.fromkeys(index.accounts[account_id].positions, (0, 0))
            )
    per_position = positions / accounts
    details_positions = round(incremental_accounts * per_position / moves, 1)
    full_rate = full_positions / full_seconds
    incremental_ms = incremental_seconds / moves * 1000
    full_ms = full_seconds / moves * 1000
    details = {
        "positions": positions,
        "accounts": accounts,
        "markets": MARKETS,
        "moves": moves,
        "liquidated": found_total,
        "build_seconds": round(build_seconds, 2),
        "incremental_ms_per_move": round(incremental_ms, 3),
        "incremental_accounts_evaluated_per_move": round(incremental_accounts / moves, 1),
        "incremental_positions_evaluated_per_move": details_positions,
        "full_ms_per_move": round(full_ms, 1),
    }
    return [
        row(
            "risk: full rescan after a mark move",
            full_rate,
            "positions/s",
            f"{positions:,} positions, {full_ms:.0f} ms per move",
            None,
            **details,
        ),
        row(
            "risk: incremental re-check after a mark move",
            positions * moves / incremental_seconds if incremental_seconds else float("nan"),
            "positions/s",
            f"{incremental_ms:.2f} ms per move, "
            f"{incremental_accounts / moves:.0f} accounts evaluated",
            None,
            ratio=full_ms / incremental_ms if incremental_ms else None,
            **details,
        ),
    ]


async def _place(
    pool: asyncpg.Pool, redis: Redis, registry: MarketRegistry, account: int, side: str,
    price: str, qty: str,
) -> None:  # fmt: skip
    request = parse_order_request(
        {"marketId": "BTC-PERP", "side": side, "type": "LIMIT", "price": price,
         "quantity": qty, "timeInForce": "GTC", "leverage": 20}
    )  # fmt: skip
    async with pool.acquire() as conn:
        await submit_order(conn, redis, registry, account, request)


async def _pipeline_latency(database_url: str, redis_url: str, samples: int) -> list[float]:
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=10)
    redis = Redis.from_url(redis_url)
    try:
        async with pool.acquire() as conn:
            registry = await MarketRegistry.load(conn)
        markets = {m.id: m for m in registry.markets}
        market = markets["BTC-PERP"]
        runtime = ExchangeRuntime(
            pool, redis, markets, roles=("outbox", "matcher", "persister", "risk")
        )
        await runtime.start()
        try:
            [maker, bidder] = await create_accounts(pool, 2, {"USDC": "100000000"}, "risk-lp")
            async with pool.acquire() as conn:
                await conn.execute(
                    "INSERT INTO balances (account_id, asset, total) VALUES (2, 'USDC', 1000000)"
                )
                await conn.execute(
                    "INSERT INTO ledger_entries (account_id, asset, kind, amount)"
                    " VALUES (2, 'USDC', 'DEPOSIT', 1000000)"
                )
            longs = []
            for i in range(samples):
                # 0.01 BTC at 60,000 on 33 + 0.6 i USDC (30 of margin and up, 0.3 of fee):
                # liquidation prices about 60 apart, from 57,300 down.
                collateral = Decimal("30.3") + Decimal("0.6") * (i + 3)
                [account] = await create_accounts(pool, 1, {"USDC": str(collateral)}, f"long{i}-")
                longs.append(account)
            await _place(
                pool, redis, registry, maker, "SELL", "60000", str(Decimal("0.01") * samples)
            )
            for account in longs:
                await _place(pool, redis, registry, account, "BUY", "60000", "0.01")
            for k in range(40):
                await _place(pool, redis, registry, bidder, "BUY", str(58000 - 100 * k), "0.05")
            await runtime.drain()
            await write_mark(
                redis,
                "BTC-PERP",
                MarkPrice(Decimal(60000), None, None, None, int(time.time() * 1000)),
            )
            await _wait(
                lambda: (
                    len(runtime.risk.index.accounts) >= samples + 1
                    and runtime.risk.index.marks.get("BTC-PERP") == 600_000
                )
            )
            latencies = []
            for account in longs:
                key = runtime.risk.index.key(account, "BTC-PERP")
                assert key is not None
                price = market.ticks_to_price(key)
                mark = MarkPrice(price, None, None, None, int(time.time() * 1000))
                started = time.perf_counter()
                # As the mark worker does: the hash, then the announcement.
                await write_mark(redis, "BTC-PERP", mark)
                await redis.publish(mark_channel("BTC-PERP"), orjson.dumps(mark.fields()))
                await _wait_persisted(pool, account)
                latencies.append(time.perf_counter() - started)
            return latencies
        finally:
            await runtime.stop()
    finally:
        await redis.aclose()
        await pool.close()


async def _wait(check: Any, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark setup did not settle")
        await asyncio.sleep(0.01)


async def _wait_persisted(pool: asyncpg.Pool, account: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        done = await pool.fetchval(
            "SELECT l.seq IS NOT NULL AND o.status IN ('FILLED', 'CANCELLED')"
            " FROM liquidations l JOIN orders o ON o.id = l.order_id WHERE l.account_id = $1",
            account,
        )
        if done:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"account {account} not liquidated")
        await asyncio.sleep(0.002)


def pipeline_rows(quick: bool) -> list[dict[str, Any]]:
    samples = QUICK_SAMPLES if quick else SAMPLES
    with embedded_servers("risk") as servers:
        latencies = asyncio.run(_pipeline_latency(servers.database_url, servers.redis_url, samples))
    ordered = sorted(x * 1000 for x in latencies)
    p50, p99 = percentile(ordered, 50), percentile(ordered, 99)
    return [
        row(
            "risk: mark crossing to liquidation persisted, p50",
            p50,
            "ms",
            "mark announced on mark:{MARKET}",
            None,
            samples=samples,
            p99_ms=round(p99, 1),
            max_ms=round(ordered[-1], 1),
        ),
        row(
            "risk: mark crossing to liquidation persisted, p99",
            p99,
            "ms",
            "",
            None,
            samples=samples,
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return [*index_rows(quick), *pipeline_rows(quick)]
