"""The exchange pipeline end to end: outbox -> commands stream -> matcher -> events stream ->
persister, on real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import orjson
import pytest

import ordex
from ordex.db import orders as orders_repo
from ordex.db import outbox_publishing
from ordex.streams import commands_stream, deadletter_stream, entry_events, events_stream
from ordex.workers.matcher import Matcher
from ordex.workers.outbox import OutboxPublisher, ReplicationLagging
from tests.pipeline.conftest import Pipeline

D = Decimal


async def test_spot_trade_settles_balances_fees_and_ledger(pipeline: Pipeline) -> None:
    buyer = await pipeline.account({"USDC": "1000"})
    seller = await pipeline.account({"BTC": "1"})
    runtime = pipeline.runtime()
    await runtime.start()
    try:
        ask = await pipeline.place(seller, "BTC-USDC", "SELL", "100", "0.5")
        bid = await pipeline.place(buyer, "BTC-USDC", "BUY", "100", "0.5")
        assert (await runtime.drain())["drained"]
    finally:
        await runtime.stop()
    # Notional 50 USDC; taker (buyer) 0.05% = 0.025, maker (seller) 0.02% = 0.01.
    assert await pipeline.balance(buyer, "USDC") == (D("949.975"), 0)
    assert await pipeline.balance(buyer, "BTC") == (D("0.5"), 0)
    assert await pipeline.balance(seller, "BTC") == (D("0.5"), 0)
    assert await pipeline.balance(seller, "USDC") == (D("49.99"), 0)
    assert await pipeline.balance(1, "USDC") == (D("0.035"), 0)
    statuses = await pipeline.pool.fetch(
        "SELECT id, status, filled_quantity FROM orders ORDER BY id"
    )
    assert [(r["id"], r["status"], r["filled_quantity"]) for r in statuses] == [
        (ask, "FILLED", D("0.5")),
        (bid, "FILLED", D("0.5")),
    ]
    fills = await pipeline.pool.fetch(
        "SELECT order_id, liquidity, price, quantity, fee FROM fills ORDER BY id"
    )
    assert [tuple(f) for f in fills] == [
        (bid, "TAKER", D("100"), D("0.5"), D("0.025")),
        (ask, "MAKER", D("100"), D("0.5"), D("0.01")),
    ]
    await pipeline.ledger_matches_balances()


async def test_partial_fill_then_cancel_releases_the_rest_of_the_hold(pipeline: Pipeline) -> None:
    buyer = await pipeline.account({"USDC": "1000"})
    seller = await pipeline.account({"BTC": "1"})
    runtime = pipeline.runtime()
    await runtime.start()
    try:
        bid = await pipeline.place(buyer, "BTC-USDC", "BUY", "100", "2")
        await pipeline.place(seller, "BTC-USDC", "SELL", "100", "0.5")
        await runtime.drain()
        total, held = await pipeline.balance(buyer, "USDC")
        # 2 BTC at 100 plus the taker fee was held; a quarter of it is released by the fill.
        assert held == D("200.1") - D("50.025")
        assert total == D("1000") - D("50") - D("0.01")  # the buyer was the maker
        await pipeline.cancel(buyer, bid)
        await runtime.drain()
    finally:
        await runtime.stop()
    assert await pipeline.balance(buyer, "USDC") == (D("949.99"), 0)
    row = await pipeline.pool.fetchrow(
        "SELECT status, cancel_reason, filled_quantity FROM orders WHERE id = $1", bid
    )
    assert tuple(row) == ("CANCELLED", "USER", D("0.5"))
    await pipeline.ledger_matches_balances()


async def test_perpetual_positions_realized_pnl_and_zero_sum(pipeline: Pipeline) -> None:
    a, b, c = [await pipeline.account({"USDC": "100000"}) for _ in range(3)]
    runtime = pipeline.runtime()
    await runtime.start()
    try:
        await pipeline.place(b, "BTC-PERP", "SELL", "60000", "1")
        await pipeline.place(a, "BTC-PERP", "BUY", "60000", "1")
        await pipeline.place(c, "BTC-PERP", "BUY", "66000", "1")
        await pipeline.place(a, "BTC-PERP", "SELL", "66000", "1")
        await runtime.drain()
    finally:
        await runtime.stop()
    positions = {
        r["account_id"]: (r["size"], r["cost"], r["realized_pnl"])
        for r in await pipeline.pool.fetch("SELECT * FROM positions WHERE market_id = 'BTC-PERP'")
    }
    assert positions[a] == (0, 0, D("6000"))
    assert positions[b] == (D("-1"), D("60000"), 0)
    assert positions[c] == (D("1"), D("66000"), 0)
    assert sum(p[0] for p in positions.values()) == 0
    # a: +6000 realized, taker fees 30 (at 60000) and 33 (at 66000).
    assert await pipeline.balance(a, "USDC") == (D("100000") + D("6000") - D("30") - D("33"), 0)
    await pipeline.ledger_matches_balances()


async def test_a_replayed_event_batch_is_applied_once(pipeline: Pipeline) -> None:
    buyer = await pipeline.account({"USDC": "1000"})
    seller = await pipeline.account({"BTC": "1"})
    runtime = pipeline.runtime(roles=("outbox", "matcher"))
    await runtime.start()
    try:
        await pipeline.place(seller, "BTC-USDC", "SELL", "100", "0.5")
        await pipeline.place(buyer, "BTC-USDC", "BUY", "100", "0.5")
        matcher = runtime.matchers["BTC-USDC"]
        for _ in range(1000):
            if matcher.engine.last_seq >= 6 and await matcher.caught_up():
                break
            await asyncio.sleep(0.01)
    finally:
        await runtime.stop()
    entries = await pipeline.redis.xrange(events_stream("BTC-USDC"))
    first = await runtime.persister.apply_batch("BTC-USDC", entries)
    again = await runtime.persister.apply_batch("BTC-USDC", entries)
    assert first == sum(len(entry_events(e[1])) for e in entries) and again == 0
    assert await pipeline.pool.fetchval("SELECT count(*) FROM fills") == 2
    assert await pipeline.balance(buyer, "BTC") == (D("0.5"), 0)


async def test_matcher_recovers_from_snapshot_and_replay_without_duplicates(
    pipeline: Pipeline,
) -> None:
    market = "BTC-USDC"
    seller = await pipeline.account({"BTC": "10"})
    buyer = await pipeline.account({"USDC": "100000"})
    runtime = pipeline.runtime(roles=("outbox",))
    await runtime.start()
    try:
        for i in range(6):
            await pipeline.place(seller, market, "SELL", str(100 + i), "0.5")
        await runtime.publisher.publish_all(wait=True)
        first = Matcher(
            pipeline.pool, pipeline.redis, market, pipeline.markets[market].config, clock_ms=0
        )
        await first.recover()
        await first.step(block_ms=10)
        await first.snapshot()
        for i in range(4):
            await pipeline.place(buyer, market, "BUY", str(103 + i), "0.3")
        await runtime.publisher.publish_all(wait=True)
        await first.step(block_ms=10)
        events_before = await pipeline.redis.xlen(events_stream(market))
        # Republish a command (a publisher crash between XADD and marking it published).
        last_command = (await pipeline.redis.xrevrange(commands_stream(market), count=1))[0][1]
        await pipeline.redis.xadd(commands_stream(market), last_command)
        # A second matcher restores the snapshot and replays the rest of the stream.
        second = Matcher(
            pipeline.pool, pipeline.redis, market, pipeline.markets[market].config, clock_ms=0
        )
        await second.recover()
        assert second.engine.state_hash() == first.engine.state_hash()
        assert await pipeline.redis.xlen(events_stream(market)) == events_before
    finally:
        await runtime.stop()
    # Replaying the whole command stream from scratch gives the same engine.
    scratch = ordex.Engine(pipeline.markets[market].config)
    commands = [e[1][b"payload"] for e in await pipeline.redis.xrange(commands_stream(market))]
    seen: set[int] = set()
    fresh = []
    for raw in commands:
        cmd_id = orjson.loads(raw).get("cmd_id")
        if cmd_id not in seen:
            seen.add(cmd_id)
            fresh.append(raw)
    scratch.process_json(fresh)
    assert scratch.state_hash() == second.engine.state_hash()


async def test_malformed_commands_go_to_the_dead_letter_stream(pipeline: Pipeline) -> None:
    market = "ETH-USDC"
    matcher = Matcher(
        pipeline.pool, pipeline.redis, market, pipeline.markets[market].config, clock_ms=0
    )
    await matcher.recover()
    for payload in (b"{not json", b"[1, 2]", b'{"no_type": 1}'):
        await pipeline.redis.xadd(commands_stream(market), {"payload": payload})
    await pipeline.redis.xadd(
        commands_stream(market),
        {
            "payload": b'{"type":"place","order_id":1,"account":2,"side":"BUY","price":"1","qty":"0.0001"}'
        },
    )
    await matcher.step(block_ms=10)
    dead = await pipeline.redis.xrange(deadletter_stream(market))
    assert [d[1][b"payload"] for d in dead] == [b"{not json", b"[1, 2]", b'{"no_type": 1}']
    assert all(d[1][b"reason"] for d in dead)
    # The matcher went on: the valid command after them was applied.
    assert matcher.engine.resting_orders == 1


async def test_outbox_rounds_do_not_wait_for_the_wal_flush(pipeline: Pipeline) -> None:
    """A lost round is published again, which the matcher drops: only its transaction skips the
    synchronous commit, the connection goes back to the pool as it was."""
    async with pipeline.pool.acquire() as conn:
        # The test server runs without synchronous commits altogether: this session asks for them.
        await conn.execute("SET synchronous_commit = on")
        try:
            async with conn.transaction():
                assert await outbox_publishing.try_lock(conn)
                assert await conn.fetchval("SHOW synchronous_commit") == "off"
            assert await conn.fetchval("SHOW synchronous_commit") == "on"
        finally:
            await conn.execute("RESET synchronous_commit")


async def test_a_round_claims_nothing_while_another_publisher_holds_the_lock(
    pipeline: Pipeline,
) -> None:
    async with pipeline.pool.acquire() as conn:
        ids = [
            (await orders_repo.insert_outbox(conn, "BTC-USDC", "order.cancelled", {"n": n}))[0]
            for n in range(3)
        ]
    async with pipeline.pool.acquire() as holder, holder.transaction():
        assert await outbox_publishing.try_lock(holder)
        async with pipeline.pool.acquire() as conn, conn.transaction():
            assert await outbox_publishing.try_claim_unpublished(conn, 10) == []
    async with pipeline.pool.acquire() as conn:
        # The test server runs without synchronous commits altogether: this session asks for them.
        await conn.execute("SET synchronous_commit = on")
        async with conn.transaction():
            claimed = await outbox_publishing.try_claim_unpublished(conn, 2)
            # The round's own transaction commits without waiting for the WAL flush.
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
        await conn.execute("RESET synchronous_commit")
        assert [r.id for r in claimed] == ids[:2]
        async with conn.transaction():
            assert [r.id for r in await outbox_publishing.try_claim_unpublished(conn, 10)] == [
                ids[2]
            ]
        assert await outbox_publishing.pending_count(conn) == 0


async def test_commands_count_as_published_only_once_replicas_hold_them(
    pipeline: Pipeline,
) -> None:
    """With `wait_replicas`, a round whose append no replica acknowledged (this server has none)
    is rolled back and published again; the matcher drops the repeat by its `cmd_id`."""
    market = "BTC-USDC"
    async with pipeline.pool.acquire() as conn:
        for n in range(3):
            await orders_repo.insert_outbox(conn, market, "order.cancelled", {"n": n})
    waiting = OutboxPublisher(pipeline.pool, pipeline.redis, wait_replicas=1, wait_ms=20)
    with pytest.raises(ReplicationLagging, match="0 of 1 replicas"):
        await waiting.publish_once(wait=True)
    async with pipeline.pool.acquire() as conn:
        assert await outbox_publishing.pending_count(conn) == 3
    # The append itself happened: what the next round sends again is a repeat.
    assert await pipeline.redis.xlen(commands_stream(market)) == 3
    assert await OutboxPublisher(pipeline.pool, pipeline.redis).publish_once(wait=True) == 3
    async with pipeline.pool.acquire() as conn:
        assert await outbox_publishing.pending_count(conn) == 0
    entries = await pipeline.redis.xrange(commands_stream(market))
    payloads = [orjson.loads(fields[b"payload"]) for _, fields in entries]
    assert [p["cmd_id"] for p in payloads[:3]] == [p["cmd_id"] for p in payloads[3:]]
