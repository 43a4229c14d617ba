"""The `orders.intake` stream: requests of a trusted producer run the same service function as
`POST /orders`, a batch commits together with a savepoint per request, answers go to the
producer's reply stream, and the orders go through the whole pipeline to fills."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from ordex.streams import INTAKE_STREAM
from ordex.workers.intake import IntakeWorker
from tests.pipeline.conftest import Pipeline

D = Decimal
REPLIES = "replies.bot-1"


async def _send(pipeline: Pipeline, **fields: Any) -> None:
    await pipeline.redis.xadd(INTAKE_STREAM, {k: str(v) for k, v in fields.items()})


async def _replies(pipeline: Pipeline) -> list[dict[str, str]]:
    entries = await pipeline.redis.xrange(REPLIES)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


def _order(market: str, side: str, qty: str, price: str, **extra: Any) -> dict[str, Any]:
    return {
        "marketId": market,
        "side": side,
        "type": "LIMIT",
        "quantity": qty,
        "price": price,
        **extra,
    }


async def test_a_batch_commits_together_and_a_refused_order_alone_is_rolled_back(
    pipeline: Pipeline,
) -> None:
    buyer = await pipeline.account({"USDC": "100"})
    worker = IntakeWorker(pipeline.pool, pipeline.redis)
    await worker.ensure_group()
    common = {"account": buyer, "reply_to": REPLIES}
    await _send(pipeline, request_id="a", **common, **_order("BTC-USDC", "BUY", "0.5", "100"))
    await _send(pipeline, request_id="b", **common, **_order("BTC-USDC", "BUY", "5", "100"))
    await _send(pipeline, request_id="c", **common, **_order("btc_usdc", "buy", "0.4", "100"))
    await _send(pipeline, request_id="d", **common, **_order("BTC-USDC", "BUY", "0.001", "1.001"))
    await _send(pipeline, request_id="e", account=999_999, reply_to=REPLIES,
                **_order("BTC-USDC", "BUY", "0.1", "100"))  # fmt: skip
    await _send(pipeline, request_id="f", account="me", reply_to=REPLIES)
    await _send(pipeline, request_id="g", action="amend", **common)
    assert await worker.step(block_ms=10) == 7
    assert await worker.caught_up()
    await worker.aclose()

    replies = {r.pop("request_id"): r for r in await _replies(pipeline)}
    assert replies["a"]["status"] == replies["c"]["status"] == "accepted"
    assert replies["a"]["orderStatus"] == "PENDING"
    assert (replies["b"]["status"], replies["b"]["code"]) == ("error", "INSUFFICIENT_MARGIN")
    assert (replies["d"]["code"], replies["d"]["field"]) == ("INVALID_ORDER", "price")
    assert (replies["e"]["code"], replies["e"]["field"]) == ("VALIDATION_ERROR", "account")
    assert (replies["f"]["code"], replies["f"]["field"]) == ("VALIDATION_ERROR", "account")
    assert (replies["g"]["code"], replies["g"]["field"]) == ("VALIDATION_ERROR", "action")

    orders = await pipeline.pool.fetch("SELECT id, quantity, status FROM orders ORDER BY id")
    assert [(str(r["id"]), r["quantity"], r["status"]) for r in orders] == [
        (replies["a"]["orderId"], D("0.5"), "PENDING"),
        (replies["c"]["orderId"], D("0.4"), "PENDING"),
    ]
    # 0.9 BTC at 100 plus the 0.05% taker fee of each order is held, nothing of the refused one.
    assert await pipeline.balance(buyer, "USDC") == (D("100"), D("50.025") + D("40.02"))
    assert await pipeline.pool.fetchval("SELECT count(*) FROM outbox") == 2


async def test_orders_and_cancels_from_the_stream_reach_the_fills(pipeline: Pipeline) -> None:
    buyer = await pipeline.account({"USDC": "1000"})
    seller = await pipeline.account({"BTC": "1"})
    runtime = pipeline.runtime()
    await runtime.start()
    try:
        await _send(pipeline, account=seller, reply_to=REPLIES, request_id="ask",
                    **_order("BTC-USDC", "SELL", "0.5", "100"))  # fmt: skip
        await _send(pipeline, account=buyer, reply_to=REPLIES, request_id="rest",
                    **_order("BTC-USDC", "BUY", "0.2", "90", clientOrderId="rest-1"))  # fmt: skip
        await _send(pipeline, account=buyer, reply_to=REPLIES, request_id="bid",
                    **_order("BTC-USDC", "BUY", "0.5", "100"))  # fmt: skip
        assert (await runtime.drain())["drained"]
        replies = {r["request_id"]: r for r in await _replies(pipeline)}
        resting = replies["rest"]["orderId"]
        await _send(pipeline, action="cancel", account=seller, orderId=resting,
                    reply_to=REPLIES, request_id="not-theirs")  # fmt: skip
        await _send(pipeline, action="cancel", account=buyer, orderId=resting,
                    reply_to=REPLIES, request_id="cancel")  # fmt: skip
        assert (await runtime.drain())["drained"]
    finally:
        await runtime.stop()
    replies = {r["request_id"]: r for r in await _replies(pipeline)}
    assert replies["not-theirs"]["code"] == "ORDER_NOT_FOUND"
    assert (replies["cancel"]["status"], replies["cancel"]["cancelRequested"]) == (
        "accepted",
        "true",
    )
    statuses = {
        str(r["id"]): r["status"]
        for r in await pipeline.pool.fetch("SELECT id, status FROM orders")
    }
    assert statuses == {
        replies["ask"]["orderId"]: "FILLED",
        replies["bid"]["orderId"]: "FILLED",
        resting: "CANCELLED",
    }
    assert await pipeline.pool.fetchval("SELECT count(*) FROM fills") == 2
    assert await pipeline.balance(buyer, "USDC") == (D("949.975"), 0)
    await pipeline.ledger_matches_balances()


async def test_requests_delivered_before_a_crash_are_handled_on_restart(
    pipeline: Pipeline,
) -> None:
    seller = await pipeline.account({"BTC": "1"})
    first = IntakeWorker(pipeline.pool, pipeline.redis)
    await first.ensure_group()
    await _send(
        pipeline, account=seller, reply_to=REPLIES, **_order("BTC-USDC", "SELL", "0.1", "100")
    )
    # Delivered to the worker, which stops before handling it.
    assert await pipeline.redis.xreadgroup("intake", "intake-1", {INTAKE_STREAM: ">"}, count=10)
    assert not await first.caught_up()
    second = IntakeWorker(pipeline.pool, pipeline.redis)
    assert await second.step(pending=True) == 1
    assert await second.caught_up()
    await first.aclose()
    await second.aclose()
    assert [r["status"] for r in await _replies(pipeline)] == ["accepted"]
    assert await pipeline.pool.fetchval("SELECT count(*) FROM orders") == 1


async def test_undecodable_and_vanished_requests_are_answered_and_acknowledged(
    pipeline: Pipeline,
) -> None:
    seller = await pipeline.account({"BTC": "1"})
    worker = IntakeWorker(pipeline.pool, pipeline.redis)
    await worker.ensure_group()
    order = _order("BTC-USDC", "SELL", "0.1", "100")
    fields: dict[str, Any] = {"account": seller, "reply_to": REPLIES, **order}
    await pipeline.redis.xadd(INTAKE_STREAM, {**fields, "request_id": "bad", "side": b"SE\xffLL"})
    await _send(pipeline, request_id="gone", **fields)
    # Delivered, then trimmed away before it was handled: the entry comes back without fields.
    [[_, delivered]] = await pipeline.redis.xreadgroup(
        "intake", "intake-1", {INTAKE_STREAM: ">"}, count=10
    )
    await pipeline.redis.xdel(INTAKE_STREAM, delivered[1][0])
    assert await worker.step(pending=True) == 2
    assert await worker.caught_up()
    await worker.aclose()

    [bad] = await _replies(pipeline)  # the vanished request names no reply stream any more
    assert (bad["request_id"], bad["code"], bad["field"]) == ("bad", "INVALID_ORDER", "side")
    assert await pipeline.pool.fetchval("SELECT count(*) FROM orders") == 0


async def test_a_running_worker_reads_ahead_and_answers_every_batch_in_order(
    pipeline: Pipeline,
) -> None:
    buyer = await pipeline.account({"USDC": "1000"})
    # Batches of 3: the next batch is read while the one before is in its transaction.
    worker = IntakeWorker(pipeline.pool, pipeline.redis, batch_size=3)
    await worker.ensure_group()
    for n in range(10):
        await _send(
            pipeline, request_id=str(n), account=buyer, reply_to=REPLIES,
            **_order("BTC-USDC", "BUY", "1", "95", clientOrderId=f"c{n % 8}"),
        )  # fmt: skip
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    for _ in range(200):
        if await worker.caught_up():
            break
        await asyncio.sleep(0.02)
    stop.set()
    await running

    replies = await _replies(pipeline)
    assert [r["request_id"] for r in replies] == [str(n) for n in range(10)]
    # 95.0475 USDC held per order: ten fit, but the client order ids c0 and c1 come back
    # while their first orders are still live.
    assert [r.get("code", r["status"]) for r in replies] == ["accepted"] * 8 + [
        "DUPLICATE_CLIENT_ORDER_ID"
    ] * 2
    held = await pipeline.balance(buyer, "USDC")
    assert held == (D("1000"), 8 * D("95.0475"))
