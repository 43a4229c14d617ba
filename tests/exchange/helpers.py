"""Helpers of the exchange tests: sign-up through the root contract, deposits, orders, SQL peeks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from ordex.streams import top_of_book_key

PASSWORD = "long-password"
_emails = itertools.count(1)


@dataclass(frozen=True)
class Trader:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(client: httpx.AsyncClient, email: str | None = None) -> Trader:
    email = email or f"trader{next(_emails)}@example.com"
    registered = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    logged_in = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    client.cookies.clear()
    body = logged_in.json()
    return Trader(user_id=body["userId"], token=body["token"])


async def deposit(
    client: httpx.AsyncClient, trader: Trader, asset: str, amount: str
) -> dict[str, Any]:
    response = await client.post(
        "/deposits", json={"asset": asset, "amount": amount}, headers=trader.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def limit_order(
    market_id: str, side: str, quantity: str, price: str, **extra: Any
) -> dict[str, Any]:
    return {
        "marketId": market_id,
        "side": side,
        "type": "LIMIT",
        "quantity": quantity,
        "price": price,
        **extra,
    }


async def post_order(client: httpx.AsyncClient, trader: Trader, body: Any) -> httpx.Response:
    return await client.post("/orders", json=body, headers=trader.headers)


async def set_top_of_book(
    redis: Redis, market_id: str, *, bid: str = "", ask: str = "", last: str = ""
) -> None:
    """What the matcher publishes after each batch."""
    await redis.hset(top_of_book_key(market_id), mapping={"bid": bid, "ask": ask, "last": last})


@dataclass(frozen=True)
class Snapshot:
    """Rows an order intake writes, to show an error wrote none of them."""

    orders: int
    outbox: int
    balances: dict[tuple[int, str], tuple[Decimal, Decimal]]


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    rows = await conn.fetch("SELECT account_id, asset, total, held FROM balances")
    return Snapshot(
        orders=await conn.fetchval("SELECT count(*) FROM orders"),
        outbox=await conn.fetchval("SELECT count(*) FROM outbox"),
        balances={(r["account_id"], r["asset"]): (r["total"], r["held"]) for r in rows},
    )


async def balance(conn: asyncpg.Connection, user_id: str, asset: str) -> tuple[Decimal, Decimal]:
    row = await conn.fetchrow(
        """
        SELECT b.total, b.held FROM balances b
        JOIN trading_accounts a ON a.id = b.account_id
        WHERE a.user_id = $1::uuid AND b.asset = $2
        """,
        user_id,
        asset,
    )
    assert row is not None
    return row["total"], row["held"]
