"""`submit_orders`: a batch behaves exactly like its orders submitted one after another.

The differential test sends one seeded sequence of orders (spot and perpetual, limit and market,
leverage changes, reduce-only, client order ids, off-grid and unaffordable ones) twice with the
same funds and positions: one order per call for one account, one batch for a twin account. The
outcomes, the holds and the final balances must be the same.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from ordex.services import orders as orders_service
from ordex.services.exchange_errors import ExchangeError
from ordex.services.markets import MarketRegistry
from ordex.services.order_batcher import OrderBatcher
from ordex.services.order_requests import parse_order_request
from ordex.services.orders import OrderSubmission
from tests.exchange.helpers import deposit, set_top_of_book, sign_up

FUNDS = {"USDC": "20000", "BTC": "0.05", "ETH": "2"}


async def _account(
    client: httpx.AsyncClient, db: asyncpg.Connection, **funds: str
) -> tuple[int, MarketRegistry]:
    """A new trader's trading account with `funds` deposited, and the market registry."""
    trader = await sign_up(client)
    for asset, amount in funds.items():
        await deposit(client, trader, asset, amount)
    account_id: int = await db.fetchval(
        "SELECT id FROM trading_accounts WHERE user_id = $1::uuid", trader.user_id
    )
    return account_id, await MarketRegistry.load(db)


async def _funded_account(client: httpx.AsyncClient, db: asyncpg.Connection) -> int:
    account_id, _ = await _account(client, db, **FUNDS)
    # An open short on BTC-PERP, so the risk check has a position to value as well.
    await db.execute(
        "INSERT INTO positions (account_id, market_id, size, cost) VALUES ($1, 'BTC-PERP', -0.01, 650)",
        account_id,
    )
    return account_id


def _orders(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for n in range(count):
        market = rng.choice(["BTC-USDC", "ETH-USDC", "BTC-PERP", "ETH-PERP", "ETH_USDC"])
        spot = market.endswith("USDC")
        side = rng.choice(["BUY", "SELL"])
        base = {"BTC": 65000, "ETH": 3000}[market[:3]]
        order: dict[str, Any] = {"marketId": market, "side": side, "type": "LIMIT"}
        kind = rng.random()
        if kind < 0.15:
            order["type"] = "MARKET"
        else:
            order["price"] = str(base + rng.randint(-300, 300))
        lot = "0.001" if market.startswith("ETH") else "0.0001"
        order["quantity"] = str(Decimal(lot) * rng.choice([1, 5, 50, 200, 2000]))
        if kind > 0.95:
            order["quantity"] = "0.00001"  # off the lot grid: refused before any lock
        if not spot:
            order["leverage"] = rng.choice([1, 2, 5, 10, 20, 50])
            if rng.random() < 0.1:
                order["reduceOnly"] = True
        if rng.random() < 0.2:
            order["clientOrderId"] = f"cid-{rng.randint(0, 4)}"
        if rng.random() < 0.05 and order["type"] == "LIMIT":
            order["postOnly"] = True
        out.append(order | {"n": n})
    return out


def _outcome(result: object) -> tuple[str, ...]:
    if isinstance(result, ExchangeError):
        return ("error", result.code, result.field or "")
    assert isinstance(result, orders_service.SubmittedOrder)
    order = result.order
    return ("accepted", order.status, order.hold_asset, str(order.hold_amount), order.market_id)


async def _balances(db: asyncpg.Connection, account_id: int) -> dict[str, tuple[Decimal, Decimal]]:
    rows = await db.fetch(
        "SELECT asset, total, held FROM balances WHERE account_id = $1", account_id
    )
    return {r["asset"]: (r["total"], r["held"]) for r in rows}


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_batch_decides_like_one_order_after_another(
    client: httpx.AsyncClient, db: asyncpg.Connection, redis: Redis, seed: int
) -> None:
    await set_top_of_book(redis, "BTC-USDC", bid="64990", ask="65010", last="65000")
    await set_top_of_book(redis, "ETH-PERP", last="3000")  # BTC-PERP has no mark: the fallbacks
    one_by_one, batched = await _funded_account(client, db), await _funded_account(client, db)
    registry = await MarketRegistry.load(db)
    orders = _orders(seed, 60)

    singles: list[object] = []
    for body in orders:
        request = parse_order_request({k: v for k, v in body.items() if k != "n"})
        try:
            singles.append(
                await orders_service.submit_order(db, redis, registry, one_by_one, request)
            )
        except ExchangeError as error:
            singles.append(error)
    submissions = [
        OrderSubmission(batched, parse_order_request({k: v for k, v in b.items() if k != "n"}))
        for b in orders
    ]
    batch = await orders_service.submit_orders(db, redis, registry, submissions)

    assert [_outcome(r) for r in batch] == [_outcome(r) for r in singles]
    accepted = sum(1 for r in batch if isinstance(r, orders_service.SubmittedOrder))
    refused = len(batch) - accepted
    assert accepted > 5 and refused > 5  # the sequence exercises both
    assert await _balances(db, batched) == await _balances(db, one_by_one)
    # Commands are queued in request order: ascending outbox ids, one per accepted order.
    ids = [r.outbox_id for r in batch if isinstance(r, orders_service.SubmittedOrder)]
    assert ids == sorted(ids) and len(set(ids)) == accepted


async def test_batch_refuses_what_the_earlier_orders_of_the_batch_used_up(
    client: httpx.AsyncClient, db: asyncpg.Connection, redis: Redis
) -> None:
    account_id, registry = await _account(client, db, USDC="1000")
    # Each buy holds 100.05 (0.001 BTC at 100000 plus the taker fee): nine fit in 1000.
    buy = {"marketId": "BTC-USDC", "side": "BUY", "type": "LIMIT", "quantity": "0.001"}
    submissions = [
        OrderSubmission(account_id, parse_order_request(buy | {"price": "100000"}))
        for _ in range(12)
    ]
    submissions.insert(
        3, OrderSubmission(account_id, parse_order_request(buy | {"price": "1.001"}))
    )
    submissions.append(OrderSubmission(999_999, parse_order_request(buy | {"price": "1"})))
    outcomes = await orders_service.submit_orders(db, redis, registry, submissions)
    codes = [o.code if isinstance(o, ExchangeError) else "OK" for o in outcomes]
    assert codes == ["OK"] * 3 + ["INVALID_ORDER"] + ["OK"] * 6 + ["INSUFFICIENT_MARGIN"] * 3 + [
        "VALIDATION_ERROR"
    ]
    assert (await _balances(db, account_id))["USDC"] == (Decimal("1000"), Decimal("900.45"))
    assert await db.fetchval("SELECT count(*) FROM balances WHERE account_id = 999999") == 0


async def test_duplicate_client_order_ids_within_a_batch(
    client: httpx.AsyncClient, db: asyncpg.Connection, redis: Redis
) -> None:
    account_id, registry = await _account(client, db, USDC="1000", BTC="1")
    order = {"marketId": "BTC-USDC", "type": "LIMIT", "quantity": "0.001", "price": "100"}
    submissions = [
        # The buy is refused (no funds for it): its id stays free for the sell after it.
        OrderSubmission(account_id, parse_order_request(order | {"side": "BUY", "quantity": "100", "clientOrderId": "a"})),
        OrderSubmission(account_id, parse_order_request(order | {"side": "SELL", "clientOrderId": "a"})),
        OrderSubmission(account_id, parse_order_request(order | {"side": "BUY", "clientOrderId": "a"})),
        OrderSubmission(account_id, parse_order_request(order | {"side": "BUY", "clientOrderId": "b"})),
    ]  # fmt: skip
    outcomes = await orders_service.submit_orders(db, redis, registry, submissions)
    codes = [o.code if isinstance(o, ExchangeError) else "OK" for o in outcomes]
    assert codes == ["INSUFFICIENT_MARGIN", "OK", "DUPLICATE_CLIENT_ORDER_ID", "OK"]


async def test_a_client_order_id_taken_concurrently_costs_the_batch_only_that_order(
    client: httpx.AsyncClient, db: asyncpg.Connection, redis: Redis, database_url: str
) -> None:
    """Another transaction inserts the same client order id after the batch's check: the
    unique index refuses the batch's insert, and the batch is submitted again order by order."""
    account_id, registry = await _account(client, db, USDC="1000", BTC="1")
    other = await asyncpg.connect(database_url)
    try:
        racing = other.transaction()
        await racing.start()
        # A SELL holds BTC, the batch's BUYs hold USDC: no common balance lock orders them.
        await other.execute(
            "INSERT INTO orders (account_id, market_id, side, type, time_in_force, price, quantity,"
            " client_order_id, hold_asset) VALUES ($1, 'BTC-USDC', 'SELL', 'LIMIT', 'GTC', 100,"
            " 0.001, 'racing', 'BTC')",
            account_id,
        )
        order = {"marketId": "BTC-USDC", "side": "BUY", "type": "LIMIT", "quantity": "0.001"}
        submissions = [
            OrderSubmission(account_id, parse_order_request(order | {"price": "100", "clientOrderId": "racing"})),
            OrderSubmission(account_id, parse_order_request(order | {"price": "101"})),
        ]  # fmt: skip
        batch = asyncio.create_task(orders_service.submit_orders(db, redis, registry, submissions))
        await asyncio.sleep(0.3)  # the batch's insert now waits on the racing row
        assert not batch.done()
        await racing.commit()
        outcomes = await asyncio.wait_for(batch, 10)
    finally:
        await other.close()
    assert isinstance(outcomes[0], ExchangeError)
    assert outcomes[0].code == "DUPLICATE_CLIENT_ORDER_ID"
    assert isinstance(outcomes[1], orders_service.SubmittedOrder)
    # Only the second order holds: 0.001 x 101 plus the taker fee.
    assert (await _balances(db, account_id))["USDC"] == (Decimal("1000"), Decimal("0.101051"))


async def test_order_batcher_groups_concurrent_orders_and_answers_each(
    client: httpx.AsyncClient, db: asyncpg.Connection, redis: Redis, database_url: str
) -> None:
    account_id, registry = await _account(client, db, USDC="1000")
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    batcher = OrderBatcher(pool, redis, concurrency=1, max_batch=16)
    buy = {"marketId": "BTC-USDC", "side": "BUY", "type": "LIMIT", "quantity": "0.001"}
    try:
        # 40 buys holding 100.05 each: the first nine (in arrival order) fit in 1000.
        results = await asyncio.gather(
            *(
                batcher.submit(registry, account_id, parse_order_request(buy | {"price": "100000"}))
                for _ in range(40)
            ),
            return_exceptions=True,
        )
    finally:
        await batcher.close()
        await pool.close()
    codes = [r.code if isinstance(r, ExchangeError) else "OK" for r in results]
    assert codes == ["OK"] * 9 + ["INSUFFICIENT_MARGIN"] * 31
    assert 1 < batcher.batches < 40 and batcher.largest_batch == 16
    assert (await _balances(db, account_id))["USDC"] == (Decimal("1000"), Decimal("900.45"))
    with pytest.raises(RuntimeError):
        await batcher.submit(registry, account_id, parse_order_request(buy | {"price": "1"}))
