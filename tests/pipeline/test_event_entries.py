"""Events-stream entries: the matcher's one entry per batch, the older one event per entry, and
how the matcher (NOACK reads, replay after a crash) and the persister handle them."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from redis.exceptions import ResponseError

from ordex.streams import (
    MATCHER_GROUP,
    commands_stream,
    entry_events,
    entry_last_seq,
    entry_size,
    event_batch_fields,
    events_stream,
)
from ordex.workers.matcher import Matcher
from ordex.workers.persister import Persister
from tests.pipeline.conftest import Pipeline

D = Decimal


def test_entry_events_reads_both_forms() -> None:
    first = {"seq": 7, "type": "accepted", "order_id": 1}
    second = {"seq": 8, "type": "book_delta", "side": "BUY"}
    payloads = [orjson.dumps(first), orjson.dumps(second)]
    # As Redis gives the entry back: every field and value bytes.
    batch = {
        k.encode(): v if isinstance(v, bytes) else str(v).encode()
        for k, v in event_batch_fields(payloads, 7, 8).items()
    }
    assert entry_events(batch) == [first, second]
    assert entry_last_seq(batch) == 8 and entry_size(batch) == 2
    single = {b"payload": orjson.dumps(first)}
    assert entry_events(single) == [first]
    assert entry_last_seq(single) == 7 and entry_size(single) == 1
    for broken in ({b"payload": b"{not json"}, {b"events": b'{"seq": 1}'}, {b"other": b"1"}):
        with pytest.raises(ValueError):
            entry_events(broken)


async def _publish(pipeline: Pipeline, count: int) -> None:
    seller = await pipeline.account({"BTC": "10"})
    runtime = pipeline.runtime(roles=("outbox",))
    await runtime.start()
    try:
        for i in range(count):
            await pipeline.place(seller, "BTC-USDC", "SELL", str(100 + i), "0.1")
        await runtime.publisher.publish_all(wait=True)
    finally:
        await runtime.stop()


def _matcher(pipeline: Pipeline, batch_size: int) -> Matcher:
    config = pipeline.markets["BTC-USDC"].config
    return Matcher(
        pipeline.pool, pipeline.redis, "BTC-USDC", config, batch_size=batch_size, clock_ms=0
    )


async def test_matcher_writes_one_entry_per_batch_and_keeps_no_pending_entries(
    pipeline: Pipeline,
) -> None:
    await _publish(pipeline, 5)
    matcher = _matcher(pipeline, batch_size=2)
    await matcher.recover()
    while await matcher.step(block_ms=10):
        pass
    assert await matcher.caught_up()
    entries = await pipeline.redis.xrange(events_stream("BTC-USDC"))
    # Batches of 2, 2 and 1 commands; each place makes an `accepted` and a `book_delta`.
    assert [entry_size(e[1]) for e in entries] == [4, 4, 2]
    seqs = [event["seq"] for e in entries for event in entry_events(e[1])]
    assert seqs == list(range(1, 11))
    # NOACK: the consumer group holds nothing to acknowledge.
    pending = await pipeline.redis.xpending(commands_stream("BTC-USDC"), MATCHER_GROUP)
    assert pending["pending"] == 0


async def test_a_batch_replayed_after_a_crash_appends_only_what_is_missing(
    pipeline: Pipeline,
) -> None:
    await _publish(pipeline, 6)
    first = _matcher(pipeline, batch_size=2)
    await first.recover()
    await first.snapshot()  # before any command: a recovery replays everything
    await first.step(block_ms=10)
    await first.step(block_ms=10)
    await first.flush()  # its writes landed before it died
    # The first matcher dies here, its events of 4 commands in the stream. The next replays all
    # six commands in one batch, whose first 8 events are in the stream already.
    second = _matcher(pipeline, batch_size=2000)
    await second.recover()
    assert await second.caught_up()
    entries = await pipeline.redis.xrange(events_stream("BTC-USDC"))
    assert [(e[1][b"first_seq"], e[1][b"last_seq"]) for e in entries] == [
        (b"1", b"4"),
        (b"5", b"8"),
        (b"9", b"12"),
    ]
    seqs = [event["seq"] for e in entries for event in entry_events(e[1])]
    assert seqs == list(range(1, 13))
    # Recovering again from the same snapshot appends nothing.
    third = _matcher(pipeline, batch_size=3)
    await third.recover()
    assert await pipeline.redis.xlen(events_stream("BTC-USDC")) == 3
    assert third.engine.state_hash() == second.engine.state_hash()


async def test_persister_applies_single_event_and_batch_entries_alike(pipeline: Pipeline) -> None:
    buyer = await pipeline.account({"USDC": "1000"})
    seller = await pipeline.account({"BTC": "1"})
    runtime = pipeline.runtime(roles=("outbox",))
    await runtime.start()
    try:
        await pipeline.place(seller, "BTC-USDC", "SELL", "100", "0.5")
        await pipeline.place(seller, "BTC-USDC", "SELL", "101", "0.5")
        await pipeline.place(buyer, "BTC-USDC", "BUY", "101", "0.8")
        await runtime.publisher.publish_all(wait=True)
    finally:
        await runtime.stop()
    matcher = _matcher(pipeline, batch_size=2000)
    await matcher.recover()
    await matcher.step(block_ms=10)
    stream = events_stream("BTC-USDC")
    events = [event for e in await pipeline.redis.xrange(stream) for event in entry_events(e[1])]
    assert sum(e["type"] == "trade" for e in events) == 2
    # The same events again, the first three as single-event entries and the rest as two
    # batches: the persister sees one stream of events either way.
    await pipeline.redis.delete(stream)
    for event in events[:3]:
        await pipeline.redis.xadd(stream, {"payload": orjson.dumps(event)})
    for part in (events[3:6], events[6:]):
        payloads = [orjson.dumps(e) for e in part]
        fields = event_batch_fields(payloads, part[0]["seq"], part[-1]["seq"])
        await pipeline.redis.xadd(stream, fields)  # type: ignore[arg-type]
    persister = Persister(pipeline.pool, pipeline.redis, {"BTC-USDC": pipeline.markets["BTC-USDC"]})
    await persister.ensure_groups()
    while persister.applied_seq.get("BTC-USDC", 0) < events[-1]["seq"]:
        assert await persister.step(block_ms=10)
    assert await persister.step(block_ms=10) == 0
    fills = await pipeline.pool.fetch(
        "SELECT liquidity, price, quantity FROM fills ORDER BY seq, liquidity"
    )
    assert [tuple(f) for f in fills] == [
        ("MAKER", D("100"), D("0.5")),
        ("TAKER", D("100"), D("0.5")),
        ("MAKER", D("101"), D("0.3")),
        ("TAKER", D("101"), D("0.3")),
    ]
    statuses = await pipeline.pool.fetch("SELECT status FROM orders ORDER BY id")
    assert [r["status"] for r in statuses] == ["FILLED", "PARTIALLY_FILLED", "FILLED"]
    assert await pipeline.balance(buyer, "BTC") == (D("0.8"), 0)
    await pipeline.ledger_matches_balances()


async def test_a_failed_write_makes_the_next_step_recover(pipeline: Pipeline) -> None:
    matcher = _matcher(pipeline, batch_size=2000)
    await matcher.recover()
    await _publish(pipeline, 3)
    stream = events_stream("BTC-USDC")
    # A key of the wrong type makes the batch's XADD fail inside its MULTI/EXEC.
    await pipeline.redis.set(stream, "not a stream")
    with pytest.raises(ResponseError):
        await matcher.step(block_ms=10)
    await pipeline.redis.delete(stream)
    # The engine had applied the batch; the next step replays it instead of going on from there.
    await matcher.step(block_ms=10)
    assert await matcher.caught_up()
    entries = await pipeline.redis.xrange(stream)
    seqs = [event["seq"] for e in entries for event in entry_events(e[1])]
    assert seqs == list(range(1, 7))
    assert matcher.engine.last_seq == 6
