"""Funding through the real pipeline: the mark worker's step with an explicit clock and one-second
intervals, the outbox, the matcher's engine and the persister; payments checked by hand, zero-sum
per settlement, never doubled (a second worker, a republished command, a persister cancelled
inside its transaction)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
import pytest

from ordex.db import funding as funding_db
from ordex.services import funding, mark_prices
from ordex.services.markets import Market
from ordex.streams import commands_stream
from ordex.workers.mark_funding import MarkFundingWorker
from ordex.workers.persister import Persister
from ordex.workers.runtime import ExchangeRuntime
from tests.pipeline.conftest import Pipeline

D = Decimal
T0 = 1_800_000_000_000  # ms, on a one-second boundary
# The book below: impact bid 65200, impact ask 65300 (mid 65250), last trade 65000: the mark is
# their median (two inputs: the mean) 65125. Premium against it: (65200 - 65125) / 65125 =
# 0.001151631478 (12 places); the rate to 8 places 0.00115163. A 0.1 BTC position is worth
# 6512.5 USDC at the mark: 6512.5 * 0.00115163 = 7.499990375, paid up (7.499991) by the long,
# received down (7.49999) by the short, 0.000001 to the house.
MARK = D("65125")
RATE = D("0.00115163")
LONG_PAYS = D("-7.499991")
SHORT_GETS = D("7.49999")
HOUSE_GETS = D("0.000001")


@dataclass
class Book:
    long: int
    short: int
    maker: int
    market: Market


@pytest.fixture(autouse=True)
def one_second_intervals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(funding.INTERVAL_ENV, "1")


async def make_book(pipeline: Pipeline) -> Book:
    long = await pipeline.account({"USDC": "10000"})
    short = await pipeline.account({"USDC": "10000"})
    maker = await pipeline.account({"USDC": "300000"})
    await pipeline.place(short, "BTC-PERP", "SELL", "65000", "0.1")
    await pipeline.place(long, "BTC-PERP", "BUY", "65000", "0.1")
    await pipeline.place(maker, "BTC-PERP", "BUY", "65200", "1")
    await pipeline.place(maker, "BTC-PERP", "SELL", "65300", "1")
    return Book(long, short, maker, pipeline.markets["BTC-PERP"])


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def persisted(pipeline: Pipeline, runtime: ExchangeRuntime) -> bool:
    """Every outbox row published, the BTC-PERP matcher caught up and its events persisted."""
    matcher = runtime.matchers["BTC-PERP"]
    unpublished = await pipeline.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE published_at IS NULL"
    )
    applied = await pipeline.pool.fetchval(
        "SELECT coalesce(max(last_seq), 0) FROM market_progress WHERE market_id = 'BTC-PERP'"
    )
    return unpublished == 0 and await matcher.caught_up() and applied >= matcher.engine.last_seq


@pytest.fixture
async def runtime(pipeline: Pipeline) -> AsyncIterator[ExchangeRuntime]:
    rt = pipeline.runtime(roles=("outbox", "matcher", "persister"), lease_ms=2000)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


async def payments(pipeline: Pipeline) -> list[tuple[int, int, Decimal]]:
    rows = await pipeline.pool.fetch(
        "SELECT interval_end, account_id, amount FROM funding_payments ORDER BY 1, 2"
    )
    return [(funding.datetime_to_ms(r[0]) - T0, r[1], r[2]) for r in rows]


async def funding_ledger(pipeline: Pipeline) -> dict[int, Decimal]:
    rows = await pipeline.pool.fetch(
        "SELECT account_id, sum(amount) AS amount FROM ledger_entries"
        " WHERE kind = 'FUNDING' GROUP BY account_id"
    )
    return {r["account_id"]: r["amount"] for r in rows}


async def test_funding_over_three_intervals_is_paid_once_and_sums_to_zero(
    pipeline: Pipeline, runtime: ExchangeRuntime
) -> None:
    book = await make_book(pipeline)
    await wait_for(lambda: persisted(pipeline, runtime))
    before = {a: (await pipeline.balance(a, "USDC"))[0] for a in (book.long, book.short)}
    worker = MarkFundingWorker(pipeline.pool, pipeline.redis, pipeline.markets.values())
    market = book.market

    mark = await worker.step(market, T0 + 500)
    assert mark is not None and mark.price == MARK
    assert (mark.mid, mark.last, mark.index) == (D("65250"), D("65000"), None)
    assert await mark_prices.read_mark(pipeline.redis, market.id) == mark
    sent_mark = await pipeline.pool.fetchval(
        "SELECT payload->>'price' FROM outbox WHERE kind = 'engine.mark' ORDER BY id DESC LIMIT 1"
    )
    assert sent_mark == "65125"
    for t in (1200, 2200, 3200):  # each settles the interval before
        await worker.step(market, T0 + t)
    await wait_for(lambda: persisted(pipeline, runtime))

    settlements = await pipeline.pool.fetch(
        "SELECT interval_end, rate, mark_price, status, house_amount, samples"
        " FROM funding_settlements ORDER BY interval_end"
    )
    assert [(funding.datetime_to_ms(s[0]) - T0, *s[1:]) for s in settlements] == [
        (end, RATE, MARK, "SETTLED", HOUSE_GETS, 1) for end in (1000, 2000, 3000)
    ]
    assert await payments(pipeline) == [
        (end, account, amount)
        for end in (1000, 2000, 3000)
        for account, amount in sorted([(book.long, LONG_PAYS), (book.short, SHORT_GETS)])
    ]
    ledger = await funding_ledger(pipeline)
    assert ledger == {book.long: 3 * LONG_PAYS, book.short: 3 * SHORT_GETS, 1: 3 * HOUSE_GETS}
    assert sum(ledger.values()) == 0
    after = {a: (await pipeline.balance(a, "USDC"))[0] for a in (book.long, book.short)}
    assert after[book.long] - before[book.long] == 3 * LONG_PAYS
    assert after[book.short] - before[book.short] == 3 * SHORT_GETS
    await pipeline.ledger_matches_balances()

    # Two workers on the same interval at once: one row, one command, one payment each.
    other = MarkFundingWorker(pipeline.pool, pipeline.redis, pipeline.markets.values())
    await asyncio.gather(worker.step(market, T0 + 4200), other.step(market, T0 + 4200))
    # Sending an interval again (a restart that kept its samples) sends nothing.
    async with pipeline.pool.acquire() as conn:
        again = await funding.send_settlement(conn, market, T0 + 1000, [D("0.001")], MARK)
    assert again.outbox_id is None
    # A funding command published twice (the engine ignores an interval it settled).
    replay: dict[str, Any] = {"type": "funding", "cmd_id": 10**9, "interval": T0 + 2000,
                              "rate": "0.001", "mark": "65125"}  # fmt: skip
    await pipeline.redis.xadd(commands_stream(market.id), {"payload": orjson.dumps(replay)})
    await wait_for(lambda: persisted(pipeline, runtime))
    sent = await pipeline.pool.fetchval("SELECT count(*) FROM outbox WHERE kind = 'engine.funding'")
    assert sent == 4
    rows = await payments(pipeline)
    assert len(rows) == 8 and rows[-2:] == [
        (4000, a, x) for a, x in sorted([(book.long, LONG_PAYS), (book.short, SHORT_GETS)])
    ]
    ledger = await funding_ledger(pipeline)
    assert ledger[book.long] == 4 * LONG_PAYS and sum(ledger.values()) == 0
    await pipeline.ledger_matches_balances()

    # The worker was down after 4.2 s (the interval ending at 5 s has the two samples of then)
    # and through the intervals ending at 6 and 7 s: its next round settles each of them (the
    # unsampled ones at the premium it sees now), so nothing is skipped.
    await worker.step(market, T0 + 7500)
    await wait_for(lambda: persisted(pipeline, runtime))
    caught_up = await pipeline.pool.fetch(
        "SELECT interval_end, rate, status, samples FROM funding_settlements"
        " WHERE interval_end > $1 ORDER BY interval_end",
        funding.ms_to_datetime(T0 + 4000),
    )
    assert [(funding.datetime_to_ms(r[0]) - T0, *r[1:]) for r in caught_up] == [
        (end, RATE, "SETTLED", samples) for end, samples in ((5000, 2), (6000, 1), (7000, 1))
    ]
    ledger = await funding_ledger(pipeline)
    assert ledger[book.long] == 7 * LONG_PAYS and sum(ledger.values()) == 0
    await pipeline.ledger_matches_balances()


async def test_a_persister_stopped_inside_the_settlement_books_it_once_after_restart(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = pipeline.runtime(roles=("outbox", "matcher"), lease_ms=2000)
    await rt.start()
    stop = asyncio.Event()

    def start_persister() -> asyncio.Task[None]:
        persister = Persister(pipeline.pool, pipeline.redis, pipeline.markets, lease_ms=2000)
        return asyncio.create_task(persister.run(stop))

    async def stopped(task: asyncio.Task[None]) -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    try:
        first = start_persister()
        book = await make_book(pipeline)
        await wait_for(lambda: persisted(pipeline, rt))
        await stopped(first)

        # The next persister stops for good inside the funding batch's transaction, once the
        # payments are written and before the commit.
        real_write = funding_db.write_settled
        inside = asyncio.Event()

        async def write_then_hang(*args: Any) -> None:
            await real_write(*args)
            inside.set()
            await asyncio.Event().wait()

        monkeypatch.setattr(funding_db, "write_settled", write_then_hang)
        hanging = start_persister()
        worker = MarkFundingWorker(pipeline.pool, pipeline.redis, pipeline.markets.values())
        await worker.step(book.market, T0 + 500)
        await worker.step(book.market, T0 + 1200)
        status = await pipeline.pool.fetchval("SELECT status FROM funding_settlements")
        assert status == "SENT"
        await asyncio.wait_for(inside.wait(), 20)
        await stopped(hanging)
        assert await payments(pipeline) == []
        assert await pipeline.pool.fetchval("SELECT status FROM funding_settlements") == "SENT"

        monkeypatch.setattr(funding_db, "write_settled", real_write)
        restarted = start_persister()
        await wait_for(lambda: persisted(pipeline, rt))
        assert await pipeline.pool.fetchval("SELECT status FROM funding_settlements") == "SETTLED"
        assert await payments(pipeline) == sorted(
            [(1000, book.long, LONG_PAYS), (1000, book.short, SHORT_GETS)]
        )
        assert await funding_ledger(pipeline) == {
            book.long: LONG_PAYS,
            book.short: SHORT_GETS,
            1: HOUSE_GETS,
        }
        await pipeline.ledger_matches_balances()
        await stopped(restarted)
    finally:
        stop.set()
        await rt.stop()


async def test_the_mark_role_marks_and_settles_on_its_own(pipeline: Pipeline) -> None:
    """The runtime's `mark` role on the real clock: the mark in Redis and on its channel, the
    engine told, and one-second intervals settled with the hand-checked payments."""
    rt = pipeline.runtime(roles=("outbox", "matcher", "persister", "mark"), lease_ms=2000)
    channel = pipeline.redis.pubsub()
    await channel.subscribe(mark_prices.mark_channel("BTC-PERP"))
    await rt.start()
    try:
        book = await make_book(pipeline)

        async def marked() -> bool:
            mark = await mark_prices.read_mark(pipeline.redis, "BTC-PERP")
            return mark is not None and mark.price == MARK

        await wait_for(marked)
        announced: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not announced or announced[-1]["price"] != "65125":
            assert time.monotonic() < deadline, announced
            # None for the subscription's own confirmation (ignored) or when nothing came.
            message = await channel.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                announced.append(orjson.loads(message["data"]))
        assert announced[-1]["mid"] == "65250" and announced[-1]["last"] == "65000"

        async def settled() -> bool:
            count = await pipeline.pool.fetchval(
                "SELECT count(*) FROM funding_settlements WHERE status = 'SETTLED'"
                " AND rate = $1 AND mark_price = $2",
                RATE,
                MARK,
            )
            return bool(count >= 1)

        await wait_for(settled)
        # Stopped anywhere: what the persister committed is whole (rows, ledger and balances
        # move in one transaction).
        await rt.stop()
        rows = await pipeline.pool.fetch(
            "SELECT p.account_id, p.amount, s.rate FROM funding_payments p"
            " JOIN funding_settlements s USING (market_id, interval_end)"
        )
        assert any(rate == RATE for _, _, rate in rows)
        for account_id, amount, rate in rows:
            if rate == RATE:
                assert amount == {book.long: LONG_PAYS, book.short: SHORT_GETS}[account_id]
        ledger = await funding_ledger(pipeline)
        assert sum(ledger.values()) == 0
        await pipeline.ledger_matches_balances()
    finally:
        await rt.stop()
        await channel.aclose()


async def test_funding_events_reach_the_owners_live(pipeline: Pipeline) -> None:
    from ordex.services.live_messages import UserMessages

    long = await pipeline.account({"USDC": "10"})
    short = await pipeline.account({"USDC": "10"})
    delivered: list[tuple[Any, dict[str, Any]]] = []

    async def sink(user: Any, message: dict[str, Any]) -> None:
        delivered.append((user, message))

    messages = UserMessages(pipeline.pool, pipeline.redis, pipeline.registry, lambda _: True)
    messages.add_sink(sink)
    event = {"seq": 9, "type": "funding", "market": "BTC-PERP", "interval": T0 + 1000,
             "rate": "0.00115163", "mark": "65125", "house": "0.000001",
             "payments": [[long, "-7.499991"], [short, "7.49999"]]}  # fmt: skip
    await messages.on_engine_events("BTC-PERP", [event])
    owners = dict(
        await pipeline.pool.fetch(
            "SELECT id, user_id FROM trading_accounts WHERE id = ANY($1::bigint[])", [long, short]
        )
    )
    assert [(user, m["type"], m["data"]["amount"]) for user, m in delivered] == [
        (owners[long], "funding", -7.499991),
        (owners[short], "funding", 7.49999),
    ]
    assert delivered[0][1]["data"]["funding_time"] == "2027-01-15T08:00:01.000Z"
    assert delivered[0][1]["data"]["symbol"] == "BTC/USDC:USDC"
    await messages.close()


async def test_the_index_joins_the_mark_and_caps_the_rate(pipeline: Pipeline) -> None:
    """With an index (the fake Binance's BTC/USDT, 42150.5) the mark is the median of three and
    the premium is taken against the index: far above the cap here."""
    from ordex.services.mark_prices import IndexPrices, IndexSource
    from ordex.streams import top_of_book_key
    from tests.marketdata.fake_binance import start_fake_binance

    fake, runner = await start_fake_binance()
    index = IndexPrices(
        [IndexSource("binance", "USDT")], base_urls={"binance": fake.url}, timeout_ms=2000
    )
    worker = MarkFundingWorker(
        pipeline.pool, pipeline.redis, pipeline.markets.values(), index=index
    )
    market = pipeline.markets["BTC-PERP"]
    try:
        await pipeline.redis.hset(
            top_of_book_key(market.id),
            mapping={"bid": "65200", "ask": "65300", "last": "65000",
                     "impact_bid": "65200", "impact_ask": "65300"},
        )  # fmt: skip
        mark = await worker.step(market, T0 + 500)
        assert mark is not None
        assert (mark.price, mark.mid, mark.last, mark.index) == (
            D("65000"), D("65250"), D("65000"), D("42150.5")
        )  # fmt: skip
        await worker.step(market, T0 + 1200)
        row = await pipeline.pool.fetchrow("SELECT rate, premium, status FROM funding_settlements")
        # (65200 - 42150.5) / 42150.5 = 0.546838... per interval: clamped to the cap.
        assert row["premium"] == D("0.546838115799")
        assert (row["rate"], row["status"]) == (D("0.00375"), "SENT")
    finally:
        await worker.close()
        await runner.cleanup()
