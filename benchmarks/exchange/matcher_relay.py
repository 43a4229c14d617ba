"""The matcher alone, next to a plain Redis relay of the same messages in the same run.

`engine.commands.{BTC-USDC}` is filled with N engine commands first (the seeded workload of
`benchmarks.peers.workload`: resting limit orders, some priced through the book, IOC orders,
cancels and amends, each with a `cmd_id`, prices and quantities on the market's grid). Then one
`Matcher` reads it through its consumer group with its own `step()` until it has applied the last
command: XREADGROUP NOACK of 2,000 commands, the Rust engine, and one MULTI/EXEC per batch holding
**one** events entry (the batch's events as a JSON array, `docs/engine-streams.md`) with the
progress key and the top of book; no XACK. Reading the next batch, the engine and the previous
batch's write overlap. Snapshots every 20,000 events as in production.

The relay reads a copy of the same N payloads with XREADGROUP in batches of the same size,
XADDs each payload as its own entry to an output stream in one pipeline, then XACKs: the floor any
Python stream worker on this Redis pays per message. Both count input commands (messages) per
second; the matcher writes one entry per batch where the relay writes one per message.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

import asyncpg
import uvloop
from redis.asyncio import Redis

from benchmarks.exchange.servers import cpu_between, cpu_seconds, embedded_servers, row
from benchmarks.peers.base import AMEND, CANCEL, IOC, Command
from benchmarks.peers.workload import WorkloadSpec, generate
from ordex import MarketConfig
from ordex.process_tuning import settle_heap
from ordex.streams import commands_stream, entry_last_seq, events_stream
from ordex.workers.matcher import Matcher
from ordex.workers.runtime import load_markets

MARKET = "BTC-USDC"
FULL_COMMANDS = 200_000
QUICK_COMMANDS = 5_000
BATCH = 2_000
FILL_CHUNK = 5_000
RELAY_IN, RELAY_OUT, RELAY_GROUP = "bench.relay.in", "bench.relay.out", "relay"
TARGET_RATE = 100_000
TARGET_RELAY_RATIO = 0.7

Entry = tuple[bytes, dict[bytes, bytes]]


def encode_commands(config: MarketConfig, commands: Sequence[Command]) -> list[bytes]:
    """Engine `place`/`cancel`/`amend` payloads as the outbox stores them (with `cmd_id`)."""
    import orjson

    price, qty = config.format_price, config.format_qty
    payloads = []
    for cmd_id, (kind, order_id, account, is_buy, ticks, lots) in enumerate(commands, 1):
        body: dict[str, Any] = {"type": "place", "cmd_id": cmd_id, "order_id": order_id}
        body["account"] = account
        if kind == CANCEL:
            body["type"] = "cancel"
        elif kind == AMEND:
            body |= {"type": "amend", "price": price(ticks), "qty": qty(lots)}
        else:
            body |= {"side": "BUY" if is_buy else "SELL", "order_type": "LIMIT"}
            body |= {"price": price(ticks), "qty": qty(lots)}
            body["time_in_force"] = "IOC" if kind == IOC else "GTC"
        payloads.append(orjson.dumps(body))
    return payloads


async def fill_stream(redis: Redis, stream: str, payloads: Sequence[bytes]) -> None:
    for start in range(0, len(payloads), FILL_CHUNK):
        async with redis.pipeline(transaction=False) as pipe:
            for payload in payloads[start : start + FILL_CHUNK]:
                pipe.xadd(stream, {"payload": payload})
            await pipe.execute()


async def time_matcher(matcher: Matcher, redis: Redis, count: int) -> float:
    last = cast(list[Entry], await redis.xrevrange(commands_stream(MARKET), count=1))[0][0]
    started = time.perf_counter()
    while matcher.state.last_stream_id != last:
        await matcher.step(block_ms=1000)
    return time.perf_counter() - started


async def time_relay(redis: Redis) -> float:
    """XREADGROUP a batch, XADD every payload to the output in one pipeline, XACK: until empty."""
    await redis.xgroup_create(RELAY_IN, RELAY_GROUP, id="0")
    started = time.perf_counter()
    while True:
        reply = await redis.xreadgroup(RELAY_GROUP, "relay-1", {RELAY_IN: ">"}, count=BATCH)
        if not reply:
            break
        entries = cast(list[tuple[bytes, list[Entry]]], reply)[0][1]
        pipe = redis.pipeline(transaction=False)
        for _, fields in entries:
            pipe.xadd(RELAY_OUT, {"payload": fields[b"payload"]})
        await pipe.execute()
        await redis.xack(RELAY_IN, RELAY_GROUP, *[e[0] for e in entries])
    return time.perf_counter() - started


async def measure(quick: bool) -> list[dict[str, Any]]:
    count = QUICK_COMMANDS if quick else FULL_COMMANDS
    with embedded_servers("matcher") as servers:
        pool = await asyncpg.create_pool(servers.database_url, min_size=1, max_size=2)
        redis = Redis.from_url(servers.redis_url)
        try:
            async with pool.acquire() as conn:
                config = (await load_markets(conn))[MARKET].config
            payloads = encode_commands(config, generate(WorkloadSpec(commands=count)))
            # clock_ms=0: no `advance_time` ticks, so both sides move exactly the same messages.
            matcher = Matcher(pool, redis, MARKET, config, batch_size=BATCH, clock_ms=0)
            await matcher.recover()  # empty stream: creates the group, replays nothing
            await fill_stream(redis, commands_stream(MARKET), payloads)
            await fill_stream(redis, RELAY_IN, payloads)
            settle_heap()  # as `ordex worker` does once it has started
            relay_seconds = await time_relay(redis)
            cpu_before = cpu_seconds()
            matcher_seconds = await time_matcher(matcher, redis, count)
            cpu = cpu_between(cpu_before, cpu_seconds())
            newest = cast(list[Entry], await redis.xrevrange(events_stream(MARKET), count=1))
            events = entry_last_seq(newest[0][1])
            event_entries = await redis.xlen(events_stream(MARKET))
            relayed = await redis.xlen(RELAY_OUT)
        finally:
            await redis.aclose()
            await pool.close()
    assert relayed == count, (relayed, count)
    matcher_rate, relay_rate = count / matcher_seconds, count / relay_seconds
    ratio = matcher_rate / relay_rate
    return [
        row(
            "matcher: engine.commands -> engine.events, 1 market",
            matcher_rate,
            "commands/s",
            f">= {TARGET_RATE:,}/s",
            matcher_rate >= TARGET_RATE,
            commands=count,
            events=events,
            event_entries=event_entries,
            seconds=matcher_seconds,
            cpu_seconds=cpu,
        ),
        row(
            "matcher vs plain XREADGROUP/XADD relay",
            relay_rate,
            "messages/s (relay)",
            f"matcher >= {TARGET_RELAY_RATIO} x relay",
            ratio >= TARGET_RELAY_RATIO,
            ratio,
            messages=count,
            seconds=relay_seconds,
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    # uvloop, as `ordex worker` runs the matcher (the relay shares the loop).
    return uvloop.run(measure(quick))
