"""The wait for the engine's answer: woken by the engine's events, bounded by
ORDEX_ORDER_WAIT_MS, and no error when it runs out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.manual_orders import EngineAnswers
from ordex.streams import event_batch_fields, events_stream
from ordex.workers.runtime import ExchangeRuntime, load_markets
from tests.exchange.helpers import Trader, deposit, sign_up
from tests.manual_orders.helpers import exact, fetch, manual_order, place
from tests.platform.helpers import ClientFactory


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def test_no_answer_in_time_is_pending_not_an_error(
    client_factory: ClientFactory, monkeypatch: pytest.MonkeyPatch, db: asyncpg.Connection
) -> None:
    """No matcher runs: the order is committed and queued, the route answers 202 PENDING once
    the wait runs out; a cancel likewise answers 202 with the order still live."""
    monkeypatch.setenv("ORDEX_ORDER_WAIT_MS", "300")
    async with client_factory(registration_mode="open") as client:
        await sign_up(client)
        trader = await sign_up(client)
        await deposit(client, trader, "USDC", "10000")
        started = time.monotonic()
        response = await client.post(
            "/api/orders",
            json=manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000),
            headers=trader.headers,
        )
        waited = time.monotonic() - started
        assert response.status_code == 202, response.text
        order = exact(response)["order"]
        assert (order["status"], order["filledQuantity"]) == ("PENDING", 0)
        assert 0.3 <= waited < 5
        assert await fetch(client, trader, order["orderId"]) == order
        # Held and queued exactly as an answered order would be.
        kinds = await db.fetch("SELECT kind FROM outbox ORDER BY id")
        assert [r["kind"] for r in kinds] == ["order.created"]

        cancel = await client.delete(f"/api/orders/{order['orderId']}", headers=trader.headers)
        assert cancel.status_code == 202, cancel.text
        assert exact(cancel)["order"]["status"] == "PENDING"
        kinds = await db.fetch("SELECT kind FROM outbox ORDER BY id")
        assert [r["kind"] for r in kinds] == ["order.created", "order.cancelled"]


async def test_no_wait_at_all(
    client_factory: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDEX_ORDER_WAIT_MS", "0")
    async with client_factory(registration_mode="open") as client:
        await sign_up(client)
        trader = await sign_up(client)
        await deposit(client, trader, "USDC", "10000")
        started = time.monotonic()
        response = await client.post(
            "/api/orders",
            json=manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000),
            headers=trader.headers,
        )
        assert response.status_code == 202, response.text
        assert exact(response)["order"]["status"] == "PENDING"
        assert time.monotonic() - started < 2


async def test_answer_before_the_persister_is_the_stored_outcome(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matchers run but the persister does not: the route answers with the engine's verdict,
    computed as the persister will store it, and the stored row later agrees to the digit."""
    monkeypatch.setenv("ORDEX_ORDER_WAIT_MS", "500")
    app = create_app(settings.model_copy(update={"registration_mode": "open"}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        async with app.state.pool.acquire() as conn:
            markets = await load_markets(conn)
        engine = ExchangeRuntime(
            app.state.pool, app.state.redis, markets, roles=("outbox", "matcher")
        )
        await engine.start()
        try:
            await sign_up(client)
            maker, taker = await sign_up(client), await sign_up(client)
            await deposit(client, maker, "ETH", "3")
            await deposit(client, taker, "USDC", "20000")
            for price in ("3200.01", "3200.02", "3200.04"):
                await place(client, maker, manual_order("ETH_USDC", "SELL", "LIMIT", 1, price))
            taken = await place(
                client, taker, manual_order("ETH_USDC", "BUY", "LIMIT", 3, "3200.04")
            )
            # 9600.07 / 3, to the persister's 12 decimals.
            assert (taken["status"], taken["filledQuantity"]) == ("FILLED", 3)
            assert taken["averagePrice"] == Decimal("3200.023333333333")
            assert (await fetch(client, taker, taken["orderId"]))["status"] == "PENDING"
        finally:
            await engine.stop()
        persister = ExchangeRuntime(app.state.pool, app.state.redis, markets, roles=("persister",))
        await persister.start()
        try:
            deadline = time.monotonic() + 10
            while (stored := await fetch(client, taker, taken["orderId"]))["status"] == "PENDING":
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        finally:
            await persister.stop()
            await client.aclose()
        assert {k: v for k, v in stored.items() if k != "updatedAt"} == {
            k: v for k, v in taken.items() if k != "updatedAt"
        }


async def _publish(redis: Redis, market: str, *events: dict[str, object]) -> None:
    payloads = [orjson.dumps(e) for e in events]
    seqs = [int(e["seq"]) for e in events]  # type: ignore[call-overload]
    await redis.xadd(events_stream(market), event_batch_fields(payloads, seqs[0], seqs[-1]))  # type: ignore[arg-type]


async def test_waiter_is_woken_by_the_events_stream(redis: Redis) -> None:
    # A block far longer than the wake-up it measures (and below redis-py's 5 s socket timeout).
    answers = EngineAnswers(redis, block_ms=2000)
    try:
        async with answers.expecting(7, "ETH-USDC"):
            waiting = asyncio.create_task(answers.wait("ETH-USDC", 41, 30.0))
            await asyncio.sleep(0.05)
            started = time.monotonic()
            await _publish(
                redis,
                "ETH-USDC",
                {"seq": 1, "type": "accepted", "cmd_id": 40, "order_id": 1, "account": 7},
                {"seq": 2, "type": "accepted", "cmd_id": 41, "order_id": 2, "account": 7},
                {"seq": 3, "type": "book_delta", "cmd_id": 41, "side": "BUY"},
            )
            answer = await waiting
            # Woken by the entry, long before the reader's block or the wait would end.
            assert time.monotonic() - started < 0.5
        assert answer is not None
        assert [e["seq"] for e in answer.events] == [2, 3]
        assert (answer.last_seq, answer.stored) == (3, False)  # no database to tell
    finally:
        await answers.close()


async def test_answer_arriving_before_its_waiter_is_kept(redis: Redis) -> None:
    answers = EngineAnswers(redis)
    try:
        async with answers.expecting(7, "ETH-USDC"):
            # The command's events come while the submitting request is still on its way
            # back from the database: they wait for it.
            await _publish(
                redis,
                "ETH-USDC",
                {"seq": 1, "type": "accepted", "cmd_id": 9, "order_id": 3, "account": 7},
                {"seq": 2, "type": "accepted", "cmd_id": 10, "order_id": 4, "account": 8},
            )
            await asyncio.sleep(0.3)
            answer = await answers.wait("ETH-USDC", 9, 0.0)
            assert answer is not None and [e["order_id"] for e in answer.events] == [3]
            # Another account's answers are not kept for nobody.
            assert await answers.wait("ETH-USDC", 10, 0.0) is None
            started = time.monotonic()
            assert await answers.wait("ETH-USDC", 11, 0.2) is None
            assert 0.2 <= time.monotonic() - started < 2
    finally:
        await answers.close()


async def test_reader_stops_when_idle_and_starts_again(redis: Redis) -> None:
    answers = EngineAnswers(redis, block_ms=50, linger_seconds=0.1)
    try:
        async with answers.expecting(7, "ETH-USDC"):
            assert answers.running
        deadline = time.monotonic() + 5
        while answers.running:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        async with answers.expecting(7, "ETH-USDC"):
            assert answers.running
            await _publish(
                redis,
                "ETH-USDC",
                {"seq": 1, "type": "rejected", "cmd_id": 5, "order_id": 5, "account": 7},
            )
            answer = await answers.wait("ETH-USDC", 5, 5.0)
            assert answer is not None and answer.events[0]["type"] == "rejected"
    finally:
        await answers.close()


async def test_place_sees_its_fill_numbers_from_another_account(
    client: httpx.AsyncClient, admin: Trader, trader: Trader
) -> None:
    """Concurrent orders of several accounts each get their own answer."""
    makers = [await sign_up(client) for _ in range(3)]
    for maker in makers:
        await deposit(client, maker, "ETH", "1")
    await deposit(client, trader, "USDC", "20000")
    resting = await asyncio.gather(
        *(
            place(client, m, manual_order("ETH_USDC", "SELL", "LIMIT", 1, 3200 + i))
            for i, m in enumerate(makers)
        )
    )
    assert [o["status"] for o in resting] == ["OPEN"] * 3
    taken = await place(client, trader, manual_order("ETH_USDC", "BUY", "MARKET", 3))
    assert (taken["status"], taken["filledQuantity"], taken["averagePrice"]) == (
        "FILLED", 3, 3201,
    )  # fmt: skip


async def test_persister_commits_are_announced_only_under_a_lease(database_url: str) -> None:
    """The trigger's NOTIFY costs the persister PostgreSQL's notify lock: only while a process
    holds a lease (it listens), and then at the commit of each batch."""
    import uuid

    from ordex.db.manual_orders import drop_progress_lease, hold_progress_lease

    listener = await asyncpg.connect(database_url)
    writer = await asyncpg.connect(database_url)
    heard: asyncio.Queue[str] = asyncio.Queue()
    try:
        await listener.add_listener("market_progress", lambda *a: heard.put_nowait(str(a[3])))
        await writer.execute("INSERT INTO market_progress (market_id) VALUES ('ETH-USDC')")

        async def advance(seq: int) -> None:
            await writer.execute(
                "UPDATE market_progress SET last_seq = $1 WHERE market_id = 'ETH-USDC'", seq
            )

        await advance(1)
        lease = uuid.uuid4()
        await hold_progress_lease(listener, lease, 60)
        async with writer.transaction():
            await advance(2)
            await advance(2)  # no progress: nothing to announce
            await asyncio.sleep(0.1)
            assert heard.empty()  # delivered at commit, not before
        assert await asyncio.wait_for(heard.get(), 5) == "ETH-USDC:2"
        await drop_progress_lease(listener, lease)
        await advance(3)
        await asyncio.sleep(0.2)
        assert heard.empty()
    finally:
        await listener.close()
        await writer.close()
