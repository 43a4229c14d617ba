"""Concurrent orders of one account never overdraw it: the balance row lock serialises them."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import httpx

import ordex
from ordex.services.markets import MarketRegistry
from tests.exchange.helpers import Trader, balance, deposit, limit_order, post_order

ORDERS = 30
AFFORDABLE = 10


async def test_exactly_the_affordable_orders_are_accepted(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    market = (await MarketRegistry.load(db)).resolve("BTC-USDC")
    price, quantity = "50000", "0.02"
    hold_atoms = ordex.spot_hold(
        market.config,
        "BUY",
        market.config.price_to_ticks(price),
        market.config.qty_to_lots(quantity),
    )
    one_hold = Decimal(market.config.format_quote(hold_atoms))  # 1000 notional + 0.5 fee
    await deposit(client, trader, "USDC", str(one_hold * AFFORDABLE))

    body = limit_order("BTC-USDC", "BUY", quantity, price)
    responses = await asyncio.gather(*(post_order(client, trader, body) for _ in range(ORDERS)))

    codes = [r.status_code for r in responses]
    assert codes.count(202) == AFFORDABLE, codes
    assert codes.count(422) == ORDERS - AFFORDABLE, codes
    total, held = await balance(db, trader.user_id, "USDC")
    assert held == total == one_hold * AFFORDABLE
    assert await db.fetchval("SELECT count(*) FROM orders") == AFFORDABLE
    assert await db.fetchval("SELECT count(*) FROM outbox") == AFFORDABLE
    assert await db.fetchval("SELECT sum(hold_amount) FROM orders") == held
