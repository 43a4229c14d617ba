"""`POST /orders` as a route: every lookup it makes around the order (credential, markets,
trading account) shares the request's one database connection."""

from __future__ import annotations

import asyncio

import httpx

from tests.exchange.helpers import Trader, deposit, limit_order, post_order
from tests.platform.helpers import ClientFactory


async def test_an_order_needs_one_pooled_connection(
    client: httpx.AsyncClient, trader: Trader, client_factory: ClientFactory
) -> None:
    await deposit(client, trader, "USDC", "1000")
    # A fresh app: nothing cached (credential, markets, trading account), and a pool of one,
    # where a second acquire by the same request would wait forever.
    async with client_factory(db_pool_min=1, db_pool_max=1, auth_cache_seconds=0) as narrow:
        order = limit_order("BTC-USDC", "BUY", "0.001", "100")
        reply = await asyncio.wait_for(post_order(narrow, trader, order), timeout=60)
        assert reply.status_code == 202, reply.text
        again = await asyncio.wait_for(post_order(narrow, trader, order), timeout=60)
        assert again.status_code == 202, again.text
