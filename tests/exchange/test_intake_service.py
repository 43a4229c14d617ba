"""The service functions the `orders.intake` worker calls, without HTTP: stream-style string
fields, domain errors with the contract codes, and the perpetual risk check across markets."""

from __future__ import annotations

import json
from decimal import Decimal

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from ordex.services import orders as orders_service
from ordex.services.exchange_errors import ExchangeError
from ordex.services.markets import MarketRegistry
from ordex.services.order_requests import parse_order_request
from tests.exchange.helpers import Trader, deposit, limit_order, post_order, set_top_of_book


async def _account_id(db: asyncpg.Connection, trader: Trader) -> int:
    account_id: int = await db.fetchval(
        "SELECT id FROM trading_accounts WHERE user_id = $1::uuid", trader.user_id
    )
    return account_id


async def test_submit_and_cancel_from_stream_fields(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection, redis: Redis
) -> None:
    await deposit(client, trader, "USDC", "5000")
    account_id = await _account_id(db, trader)
    registry = await MarketRegistry.load(db)
    fields = {
        "marketId": "ETH_PERP",
        "side": "sell",
        "type": "limit",
        "quantity": "0.5",
        "price": "3000.25",
        "leverage": "5",
        "postOnly": "true",
        "clientOrderId": "bot-1",
    }
    submitted = await orders_service.submit_order(
        db, redis, registry, account_id, parse_order_request(fields)
    )
    assert submitted.status == "PENDING"
    assert submitted.order.market_id == "ETH-PERP"
    assert submitted.order.hold_amount == Decimal("300.775063")  # 1500.125 / 5 + fee rounded up
    command = json.loads(submitted.command)
    assert (command["cmd_id"], command["order_id"]) == (submitted.outbox_id, submitted.order.id)
    assert (command["side"], command["price"], command["post_only"]) == ("SELL", "3000.25", True)

    with pytest.raises(ExchangeError) as duplicate:
        await orders_service.submit_order(
            db, redis, registry, account_id, parse_order_request(fields)
        )
    assert (duplicate.value.code, duplicate.value.status_code) == ("DUPLICATE_CLIENT_ORDER_ID", 409)
    with pytest.raises(ExchangeError) as invalid:
        parse_order_request({**fields, "quantity": "1e2"})
    assert invalid.value.code == "INVALID_ORDER"
    assert invalid.value.field == "quantity"

    requested = await orders_service.cancel_order(db, account_id, submitted.order.id)
    assert json.loads(requested.command)["type"] == "cancel"
    with pytest.raises(ExchangeError) as missing:
        await orders_service.cancel_order(db, account_id + 1000, submitted.order.id)
    assert missing.value.code == "ORDER_NOT_FOUND"


async def test_perpetual_risk_counts_positions_and_orders_in_every_market(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection, redis: Redis
) -> None:
    await deposit(client, trader, "USDC", "5000")
    account_id = await _account_id(db, trader)
    # A long 0.5 BTC-PERP entered at 65000, now marked at 60000: 2500 unrealized loss.
    await db.execute(
        "INSERT INTO positions (account_id, market_id, size, cost) VALUES ($1, 'BTC-PERP', 0.5, 32500)",
        account_id,
    )
    await set_top_of_book(redis, "BTC-PERP", last="60000")
    # Without an order in BTC-PERP its leverage is 1: the position's 30000 margin exceeds equity.
    eth = limit_order("ETH-PERP", "BUY", "0.1", "3000", leverage=10)
    assert (await post_order(client, trader, eth)).status_code == 422

    # The account's last BTC-PERP order set 20x: margin 1500, equity 2500, 1000 available.
    filled_id = await db.fetchval(
        """
        INSERT INTO orders (account_id, market_id, side, type, time_in_force, price, quantity,
                            filled_quantity, status, leverage, hold_asset)
        VALUES ($1, 'BTC-PERP', 'BUY', 'LIMIT', 'GTC', 65000, 0.5, 0.5, 'FILLED', 20, 'USDC')
        RETURNING id
        """,
        account_id,
    )
    await db.execute(
        """
        INSERT INTO fills (market_id, seq, order_id, account_id, side, liquidity, price, quantity,
                           fee, fee_asset)
        VALUES ('BTC-PERP', 4, $1, $2, 'BUY', 'TAKER', 65000, 0.5, 16.25, 'USDC')
        """,
        filled_id,
        account_id,
    )
    fits = await post_order(client, trader, {**eth, "quantity": "3"})  # 900 + 4.5 fee
    assert fits.status_code == 202, fits.text
    too_much = await post_order(client, trader, {**eth, "quantity": "0.4"})  # 120 + fee > 100
    assert too_much.status_code == 422
    small = await post_order(client, trader, {**eth, "quantity": "0.3"})  # 90 + 0.45 fee
    assert small.status_code == 202, small.text

    positions = (await client.get("/positions", headers=trader.headers)).json()
    assert [
        (p["marketId"], p["side"], p["size"], p["cost"], p["entryPrice"]) for p in positions
    ] == [("BTC-PERP", "LONG", "0.5", "32500", "65000")]

    fills = (await client.get("/fills?marketId=BTC_PERP", headers=trader.headers)).json()
    assert [{k: f[k] for k in ("orderId", "side", "liquidity", "price", "quantity", "fee")}
            for f in fills] == [
        {"orderId": str(filled_id), "side": "BUY", "liquidity": "TAKER", "price": "65000",
         "quantity": "0.5", "fee": "16.25"}
    ]  # fmt: skip
    assert fills[0]["feeAsset"] == "USDC"
    by_order = await client.get(f"/fills?orderId={filled_id}", headers=trader.headers)
    assert len(by_order.json()) == 1
    assert (await client.get("/fills?marketId=ETH-PERP", headers=trader.headers)).json() == []
