"""Backtest fixtures: the real app with binance pointed at the local fake server, two signed-in
users, a database connection for the candle service, and helpers that store flows and ordex
trades the way the platform does."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from asgi_lifespan import LifespanManager

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.services.market_data import CcxtExchanges, MarketDataService
from ordex.services.trading_accounts import ensure_trading_account
from tests.marketdata.conftest import fake_binance  # noqa: F401  (fixture)
from tests.marketdata.fake_binance import FakeBinance
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.workspace.helpers import User, sign_up


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def exchanges(fake_binance: FakeBinance) -> AsyncIterator[CcxtExchanges]:  # noqa: F811
    instances = CcxtExchanges(base_urls={"binance": fake_binance.url}, timeout_ms=2000)
    try:
        yield instances
    finally:
        await instances.close()


@dataclass
class BacktestApi:
    http: httpx.AsyncClient
    alice: User
    bob: User

    async def post(self, user: User, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post("/api/engine/backtest", json=body, headers=user.headers)

    async def get(self, user: User, path: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=user.headers)


@pytest.fixture
async def api(
    settings: Settings,  # noqa: F811
    fake_binance: FakeBinance,  # noqa: F811
) -> AsyncIterator[BacktestApi]:
    app = create_app(settings.model_copy(update={"registration_mode": "open"}))
    app.state.market_data = MarketDataService(
        CcxtExchanges(base_urls={"binance": fake_binance.url}, timeout_ms=2000)
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            alice = await sign_up(http, "alice@example.com")
            bob = await sign_up(http, "bob@example.com")
            yield BacktestApi(http, alice, bob)


async def insert_user(conn: asyncpg.Connection, email: str) -> uuid.UUID:
    user_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO users (email, password_hash, role, status) "
        "VALUES ($1, 'not-a-hash', 'OPERATOR', 'ACTIVE') RETURNING id",
        email,
    )
    return user_id


async def insert_flow(
    conn: asyncpg.Connection, user_id: uuid.UUID, document: dict[str, Any]
) -> uuid.UUID:
    """A stored flow as the flows table holds it (documents are validated on the way in by the
    flow routes; a test may store one that no longer validates)."""
    flow_id: uuid.UUID = await conn.fetchval(
        """
        INSERT INTO flows (user_id, name, schema_version, settings, nodes, edges)
        VALUES ($1, 'test flow', $2, $3::jsonb, $4::jsonb, $5::jsonb) RETURNING id
        """,
        user_id,
        document["schemaVersion"],
        orjson.dumps(document["settings"]).decode(),
        orjson.dumps(document["nodes"]).decode(),
        orjson.dumps(document["edges"]).decode(),
    )
    return flow_id


async def insert_ordex_trades(
    conn: asyncpg.Connection,
    user_id: uuid.UUID,
    trades: Sequence[tuple[datetime, str, str]],
    market_id: str = "BTC-USDC",
) -> None:
    """Trades of an ordex market at given times: (time, price, quantity), each written as the
    persister writes an engine trade (a taker and a maker fill)."""
    account = await ensure_trading_account(conn, user_id)
    order_id = await conn.fetchval(
        """
        INSERT INTO orders (account_id, market_id, side, type, time_in_force, price, quantity,
                            status, hold_asset)
        VALUES ($1, $2, 'BUY', 'LIMIT', 'GTC', 100000, 1000, 'OPEN', 'USDC') RETURNING id
        """,
        account,
        market_id,
    )
    for seq, (moment, price, quantity) in enumerate(trades, start=1):
        for liquidity in ("TAKER", "MAKER"):
            await conn.execute(
                """
                INSERT INTO fills (market_id, seq, order_id, account_id, side, liquidity, price,
                                   quantity, fee, fee_asset, created_at)
                VALUES ($1, $2, $3, $4, 'BUY', $5, $6, $7, 0, 'USDC', $8)
                """,
                market_id, seq, order_id, account, liquidity, Decimal(price), Decimal(quantity),
                moment,
            )  # fmt: skip
