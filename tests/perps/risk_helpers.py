"""What the liquidation and ADL tests share: leveraged orders through the real intake, marks
written as the mark worker writes them, the insurance fund's deposit and waits on the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import orjson

from ordex.services.mark_prices import MarkPrice, mark_channel, write_mark
from ordex.services.order_requests import parse_order_request
from ordex.services.orders import submit_order
from tests.pipeline.conftest import Pipeline

# Every worker but the mark worker: the tests set the marks themselves.
ROLES = ("outbox", "matcher", "persister", "risk")
FUND = 2


async def place(
    pipeline: Pipeline,
    account_id: int,
    side: str,
    price: str,
    qty: str,
    *,
    tif: str = "GTC",
    market_id: str = "BTC-PERP",
    leverage: int = 20,
) -> int:
    request = parse_order_request(
        {
            "marketId": market_id,
            "side": side,
            "type": "LIMIT",
            "price": price,
            "quantity": qty,
            "timeInForce": tif,
            "leverage": leverage,
        }
    )
    async with pipeline.pool.acquire() as conn:
        submitted = await submit_order(conn, pipeline.redis, pipeline.registry, account_id, request)
    return int(submitted.order_id)


async def set_mark(pipeline: Pipeline, price: str, market_id: str = "BTC-PERP") -> None:
    mark = MarkPrice(Decimal(price), None, None, None, int(time.time() * 1000))
    await write_mark(pipeline.redis, market_id, mark)
    await pipeline.redis.publish(mark_channel(market_id), orjson.dumps(mark.fields()))


async def fund_deposit(pipeline: Pipeline, amount: str) -> None:
    async with pipeline.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO balances (account_id, asset, total) VALUES ($1, 'USDC', $2)"
            " ON CONFLICT (account_id, asset) DO UPDATE SET total = balances.total + $2",
            FUND,
            Decimal(amount),
        )
        await conn.execute(
            "INSERT INTO ledger_entries (account_id, asset, kind, amount)"
            " VALUES ($1, 'USDC', 'DEPOSIT', $2)",
            FUND,
            Decimal(amount),
        )


async def wait_for(check: Callable[[], Awaitable[Any]], what: str, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def position(pipeline: Pipeline, account_id: int, market_id: str = "BTC-PERP") -> Decimal:
    size = await pipeline.pool.fetchval(
        "SELECT size FROM positions WHERE account_id = $1 AND market_id = $2",
        account_id,
        market_id,
    )
    return Decimal(0) if size is None else Decimal(size)


async def total(pipeline: Pipeline, account_id: int) -> Decimal:
    return (await pipeline.balance(account_id, "USDC"))[0]


async def ledger_of(pipeline: Pipeline, account_id: int, kind: str) -> Decimal:
    value = await pipeline.pool.fetchval(
        "SELECT coalesce(sum(amount), 0) FROM ledger_entries"
        " WHERE account_id = $1 AND asset = 'USDC' AND kind = $2",
        account_id,
        kind,
    )
    return Decimal(value)


async def open_long(pipeline: Pipeline, long: int, maker: int, price: str, qty: str) -> None:
    """`long` buys `qty` at `price` from a resting sell of `maker`, and both are persisted."""
    await place(pipeline, maker, "SELL", price, qty)
    await place(pipeline, long, "BUY", price, qty)

    async def opened() -> bool:
        return await position(pipeline, long) == Decimal(qty)

    await wait_for(opened, "the long to open")
