"""The persister alone: events per second applied to PostgreSQL from a pre-filled events stream.

For each market (BTC-USDC spot, BTC-PERP perpetual) the seeded workload of
`benchmarks.peers.workload` (limit, IOC, cancel, amend over 64 funded accounts) is turned into
order rows as the intake leaves them (PENDING, with their holds on the accounts' balances), and
into events by the Rust engine, written to `engine.events.{MARKET}` as the matcher writes them:
one entry per batch of 2,000 commands. Then one `Persister` drains the stream with its own
`step()` (one transaction per batch: order updates, fills, positions, balances, ledger, progress)
until the last event is applied; PostgreSQL commits with its default durability.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg
from redis.asyncio import Redis

import ordex
from benchmarks.exchange.matcher_relay import encode_commands
from benchmarks.exchange.servers import create_accounts, embedded_servers, row
from benchmarks.peers.base import AMEND, CANCEL, IOC, Command
from benchmarks.peers.workload import WorkloadSpec, generate
from ordex.services.markets import Market
from ordex.streams import event_batch_fields, events_stream
from ordex.workers.matcher import event_seq
from ordex.workers.persister import Persister
from ordex.workers.runtime import load_markets

MARKETS = ("BTC-USDC", "BTC-PERP")
FULL_COMMANDS = 40_000
QUICK_COMMANDS = 2_000
ACCOUNTS = 64
BATCH = 2_000
DEPOSITS = {"USDC": "1000000000", "BTC": "1000000"}
# Orders of the second market get ids past the first's.
ID_STRIDE = 10_000_000


def hold_of(market: Market, is_buy: bool, price: Decimal, qty: Decimal) -> tuple[str, Decimal]:
    """A hold as large as the intake's or larger: quote for buys and perpetuals, base for sells."""
    row = market.row
    if market.is_perp or is_buy:
        return row.quote_asset, (price * qty * Decimal("1.01")).quantize(Decimal("0.000001"))
    return row.base_asset, qty


async def insert_orders(
    pool: asyncpg.Pool, market: Market, commands: Sequence[Command], accounts: list[int]
) -> None:
    """The order rows and the holds on the balances, as `submit_order` leaves them."""
    config = market.config
    columns: list[list[Any]] = [[] for _ in range(8)]
    held: defaultdict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for kind, order_id, account, is_buy, ticks, lots in commands:
        if kind in (CANCEL, AMEND):
            continue
        price, qty = Decimal(config.format_price(ticks)), Decimal(config.format_qty(lots))
        asset, amount = hold_of(market, is_buy, price, qty)
        held[(account, asset)] += amount
        side, tif = "BUY" if is_buy else "SELL", "IOC" if kind == IOC else "GTC"
        values = (order_id, account, side, tif, price, qty, asset, amount)
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO orders (id, account_id, market_id, side, type, time_in_force, price,"
            " quantity, hold_asset, hold_amount) OVERRIDING SYSTEM VALUE"
            " SELECT u.id, u.account_id, $1, u.side, 'LIMIT', u.tif, u.price, u.qty, u.asset,"
            " u.amount FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[],"
            " $6::numeric[], $7::numeric[], $8::text[], $9::numeric[])"
            " AS u(id, account_id, side, tif, price, qty, asset, amount)",
            market.id,
            *columns,
        )
        await conn.executemany(
            "UPDATE balances SET held = held + $3 WHERE account_id = $1 AND asset = $2",
            [(a, asset, amount) for (a, asset), amount in held.items()],
        )


async def fill_events(redis: Redis, market: Market, commands: Sequence[Command]) -> int:
    """The engine's events for the commands, one stream entry per batch; returns the last seq."""
    engine = ordex.Engine(market.config)
    payloads = encode_commands(market.config, commands)
    last = 0
    for start in range(0, len(payloads), BATCH):
        events = engine.process_json(payloads[start : start + BATCH])
        if events:
            first, last = event_seq(events[0]), event_seq(events[-1])
            await redis.xadd(events_stream(market.id), event_batch_fields(events, first, last))  # type: ignore[arg-type]
    return last


async def time_persister(persister: Persister, market_id: str, last_seq: int) -> float:
    await persister.ensure_groups()
    started = time.perf_counter()
    while persister.applied_seq.get(market_id, 0) < last_seq:
        await persister.step(block_ms=1000)
    return time.perf_counter() - started


async def measure(quick: bool) -> list[dict[str, Any]]:
    count = QUICK_COMMANDS if quick else FULL_COMMANDS
    rows = []
    with embedded_servers("persister") as servers:
        pool = await asyncpg.create_pool(servers.database_url, min_size=1, max_size=4)
        redis = Redis.from_url(servers.redis_url)
        try:
            async with pool.acquire() as conn:
                markets = await load_markets(conn)
            accounts = await create_accounts(pool, ACCOUNTS, DEPOSITS, "persister")
            for index, market_id in enumerate(MARKETS):
                market = markets[market_id]
                commands = [
                    Command(c.kind, c.order_id + index * ID_STRIDE, accounts[c.account - 1],
                            c.is_buy, c.price, c.qty)
                    for c in generate(WorkloadSpec(commands=count, accounts=ACCOUNTS))
                ]  # fmt: skip
                await insert_orders(pool, market, commands, accounts)
                last_seq = await fill_events(redis, market, commands)
                persister = Persister(pool, redis, {market_id: market}, batch_size=BATCH)
                seconds = await time_persister(persister, market_id, last_seq)
                fills = await pool.fetchval(
                    "SELECT count(*) FROM fills WHERE market_id = $1", market_id
                )
                rows.append(
                    row(
                        f"persister alone: engine.events -> PostgreSQL, {market_id}",
                        last_seq / seconds,
                        "events/s",
                        "(reported)",
                        None,
                        commands=count,
                        events=last_seq,
                        fills=fills,
                        seconds=seconds,
                    )
                )
        finally:
            await redis.aclose()
            await pool.close()
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))
