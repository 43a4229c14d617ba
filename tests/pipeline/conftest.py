"""Fixtures for the exchange pipeline: a pool, a Redis client and a runtime over the seeded markets.

Orders enter as the intake writes them (order row, hold, outbox row in one transaction) through
`place`, so these tests exercise the workers on their own.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from ordex.services.markets import Market, MarketRegistry
from ordex.services.order_requests import parse_order_request
from ordex.services.orders import cancel_order, submit_order
from ordex.workers.runtime import ExchangeRuntime

_emails = itertools.count(1)


@dataclass
class Pipeline:
    pool: asyncpg.Pool
    redis: Redis
    registry: MarketRegistry
    markets: dict[str, Market]

    def runtime(self, **kwargs: Any) -> ExchangeRuntime:
        return ExchangeRuntime(self.pool, self.redis, self.markets, **kwargs)

    async def account(self, deposits: dict[str, str]) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            user_id = await conn.fetchval(
                "INSERT INTO users (email, password_hash, role, status)"
                " VALUES ($1, 'x', 'OPERATOR', 'ACTIVE') RETURNING id",
                f"trader{next(_emails)}@example.com",
            )
            account_id: int = await conn.fetchval(
                "INSERT INTO trading_accounts (user_id) VALUES ($1) RETURNING id", user_id
            )
            for asset, amount in deposits.items():
                await conn.execute(
                    "INSERT INTO balances (account_id, asset, total) VALUES ($1, $2, $3)",
                    account_id,
                    asset,
                    Decimal(amount),
                )
                await conn.execute(
                    "INSERT INTO ledger_entries (account_id, asset, kind, amount)"
                    " VALUES ($1, $2, 'DEPOSIT', $3)",
                    account_id,
                    asset,
                    Decimal(amount),
                )
        return account_id

    async def place(
        self, account_id: int, market_id: str, side: str, price: str, qty: str, *, tif: str = "GTC"
    ) -> int:
        """A limit order through the real intake: hold, order row and outbox row in one transaction."""
        request = parse_order_request(
            {
                "marketId": market_id,
                "side": side,
                "type": "LIMIT",
                "price": price,
                "quantity": qty,
                "timeInForce": tif,
            }
        )
        async with self.pool.acquire() as conn:
            submitted = await submit_order(conn, self.redis, self.registry, account_id, request)
        return int(submitted.order_id)

    async def cancel(self, account_id: int, order_id: int) -> None:
        async with self.pool.acquire() as conn:
            await cancel_order(conn, account_id, order_id)

    async def balance(self, account_id: int, asset: str) -> tuple[Decimal, Decimal]:
        row = await self.pool.fetchrow(
            "SELECT total, held FROM balances WHERE account_id = $1 AND asset = $2",
            account_id,
            asset,
        )
        return (row["total"], row["held"]) if row else (Decimal(0), Decimal(0))

    async def ledger_matches_balances(self) -> None:
        """Every asset: the ledger sums to the balances, and to the deposits (the house included)."""
        rows = await self.pool.fetch(
            "SELECT asset, sum(amount) AS ledger,"
            " sum(amount) FILTER (WHERE kind = 'DEPOSIT') AS deposits FROM ledger_entries GROUP BY asset"
        )
        for r in rows:
            total = await self.pool.fetchval(
                "SELECT coalesce(sum(total), 0) FROM balances WHERE asset = $1", r["asset"]
            )
            assert r["ledger"] == total, r["asset"]
            assert r["ledger"] == r["deposits"], r["asset"]


@pytest.fixture
async def pipeline(database_url: str, redis_url: str) -> AsyncIterator[Pipeline]:
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=8)
    redis = Redis.from_url(redis_url)
    try:
        async with pool.acquire() as conn:
            registry = await MarketRegistry.load(conn)
        yield Pipeline(pool, redis, registry, {m.id: m for m in registry.markets})
    finally:
        await redis.aclose()
        await pool.close()


__all__ = ["Pipeline"]
