"""Fixtures for the exchange pipeline: a pool, a Redis client and a runtime over the seeded markets.

Orders enter as the intake writes them (order row, hold, outbox row in one transaction) through
`place`, so these tests exercise the workers on their own.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

import ordex
from ordex.services.markets import Market
from ordex.workers.runtime import ExchangeRuntime, load_markets

_emails = itertools.count(1)


@dataclass
class Pipeline:
    pool: asyncpg.Pool
    redis: Redis
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
        self,
        account_id: int,
        market_id: str,
        side: str,
        price: str,
        qty: str,
        *,
        tif: str = "GTC",
        hold: str | None = None,
    ) -> int:
        """Inserts an order with its hold and its outbox command, as the intake does."""
        m = self.markets[market_id]
        if not m.is_perp:
            cfg = m.config
            if side == "BUY":
                atoms = ordex.spot_hold(cfg, "BUY", cfg.price_to_ticks(price), cfg.qty_to_lots(qty))
                hold_asset, hold_amount = m.row.quote_asset, Decimal(cfg.format_quote(atoms))
            else:
                hold_asset, hold_amount = m.row.base_asset, Decimal(qty)
        else:
            hold_asset, hold_amount = m.row.quote_asset, Decimal(hold or "0")
        async with self.pool.acquire() as conn, conn.transaction():
            order_id: int = await conn.fetchval(
                "INSERT INTO orders (account_id, market_id, side, type, time_in_force, price,"
                " quantity, hold_asset, hold_amount) VALUES ($1, $2, $3, 'LIMIT', $4, $5, $6, $7, $8)"
                " RETURNING id",
                account_id,
                market_id,
                side,
                tif,
                Decimal(price),
                Decimal(qty),
                hold_asset,
                hold_amount,
            )
            await conn.execute(
                "UPDATE balances SET held = held + $3 WHERE account_id = $1 AND asset = $2",
                account_id,
                hold_asset,
                hold_amount,
            )
            outbox_id = await conn.fetchval(
                "SELECT nextval(pg_get_serial_sequence('outbox', 'id'))"
            )
            command = {
                "type": "place",
                "cmd_id": outbox_id,
                "order_id": order_id,
                "account": account_id,
                "side": side,
                "order_type": "LIMIT",
                "time_in_force": tif,
                "price": price,
                "qty": qty,
            }
            await conn.execute(
                "INSERT INTO outbox (id, market_id, kind, payload)"
                " OVERRIDING SYSTEM VALUE VALUES ($1, $2, 'order.created', $3::jsonb)",
                outbox_id,
                market_id,
                json.dumps(command),
            )
            await conn.execute("NOTIFY outbox")
        return order_id

    async def cancel(self, account_id: int, market_id: str, order_id: int) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            outbox_id = await conn.fetchval(
                "SELECT nextval(pg_get_serial_sequence('outbox', 'id'))"
            )
            command = {
                "type": "cancel",
                "cmd_id": outbox_id,
                "order_id": order_id,
                "account": account_id,
            }
            await conn.execute(
                "INSERT INTO outbox (id, market_id, kind, payload)"
                " OVERRIDING SYSTEM VALUE VALUES ($1, $2, 'order.cancelled', $3::jsonb)",
                outbox_id,
                market_id,
                json.dumps(command),
            )

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
            markets = await load_markets(conn)
        yield Pipeline(pool, redis, markets)
    finally:
        await redis.aclose()
        await pool.close()


__all__ = ["Pipeline"]
