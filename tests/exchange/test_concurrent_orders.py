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


async def test_concurrent_perpetual_orders_stop_where_margin_runs_out(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    market = (await MarketRegistry.load(db)).resolve("ETH-PERP")
    cfg = market.config
    price, lots, leverage = cfg.price_to_ticks("3000"), cfg.qty_to_lots("1"), 10
    collateral = "1000"
    # One order after another, as the balance lock makes them: each sees the ones before it.
    expected_holds: list[int] = []
    while True:
        exposure = ordex.Exposure(
            cfg, 0, 0, price, open_buy=lots * len(expected_holds), leverage=leverage
        )
        try:
            required, _ = ordex.risk_check(
                cfg.quote_to_atoms(collateral), [exposure], 0, "BUY", lots, price
            )
        except ordex.InsufficientMarginError:
            break
        expected_holds.append(required)
    assert 0 < len(expected_holds) < ORDERS
    await deposit(client, trader, "USDC", collateral)

    body = limit_order("ETH-PERP", "BUY", "1", "3000", leverage=leverage)
    responses = await asyncio.gather(*(post_order(client, trader, body) for _ in range(ORDERS)))

    codes = [r.status_code for r in responses]
    assert codes.count(202) == len(expected_holds), codes
    assert codes.count(422) == ORDERS - len(expected_holds), codes
    _, held = await balance(db, trader.user_id, "USDC")
    assert held == Decimal(cfg.format_quote(sum(expected_holds)))
