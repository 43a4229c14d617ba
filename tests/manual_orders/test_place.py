"""`POST /api/orders` through the running pipeline: the answer is the engine's, and the stored
order agrees with it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx

from tests.exchange.helpers import Trader, balance, deposit, sign_up
from tests.manual_orders.helpers import drain, fetch, manual_order, place


async def test_resting_limit_order_is_open(
    client: httpx.AsyncClient, admin: Trader, trader: Trader
) -> None:
    await deposit(client, trader, "USDC", "10000")
    order = await place(client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 1.5, 3000))
    assert (order["status"], order["filledQuantity"], order["averagePrice"]) == ("OPEN", 0, None)
    assert (order["timeInForce"], order["market"], order["userId"]) == (
        "GTC", "ETH_USDC", trader.user_id,
    )  # fmt: skip
    # The answer is what is stored: the persister committed it before the route answered.
    assert await fetch(client, trader, order["orderId"]) == order


async def test_marketable_orders_fill(
    client: httpx.AsyncClient, admin: Trader, trader: Trader, db: asyncpg.Connection
) -> None:
    maker = await sign_up(client)
    await deposit(client, maker, "ETH", "5")
    await deposit(client, trader, "USDC", "10000")
    resting = await place(client, maker, manual_order("ETH-USDC", "SELL", "LIMIT", "2", "3200"))
    assert resting["status"] == "OPEN"

    # A limit buy through the ask trades at the maker's price.
    taken = await place(client, trader, manual_order("ETH/USDC", "BUY", "LIMIT", 1.5, 3210))
    assert (taken["status"], taken["filledQuantity"], taken["averagePrice"]) == (
        "FILLED", Decimal("1.5"), 3200,
    )  # fmt: skip
    assert (taken["quantity"], taken["price"]) == (Decimal("1.5"), 3210)
    assert await fetch(client, trader, taken["orderId"]) == taken
    maker_order = await fetch(client, maker, resting["orderId"])
    assert (maker_order["status"], maker_order["filledQuantity"]) == (
        "PARTIALLY_FILLED", Decimal("1.5"),
    )  # fmt: skip

    # A market buy takes the rest; a market order is IOC and has no price of its own.
    market = await place(client, trader, manual_order("ETH_USDC", "BUY", "MARKET", 0.5))
    assert (market["status"], market["filledQuantity"], market["averagePrice"]) == (
        "FILLED", Decimal("0.5"), 3200,
    )  # fmt: skip
    assert (market["price"], market["timeInForce"], market["orderType"]) == (None, "IOC", "MARKET")

    # An IOC order with more than the book holds: the fill, then the remainder cancelled.
    await place(client, maker, manual_order("ETH_USDC", "SELL", "LIMIT", 0.5, 3250))
    ioc = await place(
        client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3250, timeInForce="IOC")
    )
    assert (ioc["status"], ioc["filledQuantity"], ioc["averagePrice"], ioc["reason"]) == (
        "CANCELLED", Decimal("0.5"), 3250, "IOC_REMAINDER",
    )  # fmt: skip
    assert await fetch(client, trader, ioc["orderId"]) == ioc

    await drain(client, admin)
    # 2 ETH at 3200 and 0.5 at 3250, each with the 0.05% taker fee; no hold left behind.
    spent = Decimal(2 * 3200) + Decimal("0.5") * 3250
    fees = spent * Decimal("0.0005")
    assert await balance(db, trader.user_id, "USDC") == (Decimal(10000) - spent - fees, Decimal(0))
    assert await balance(db, trader.user_id, "ETH") == (Decimal("2.5"), Decimal(0))


async def test_post_only_that_would_take_is_rejected(
    client: httpx.AsyncClient, admin: Trader, trader: Trader
) -> None:
    maker = await sign_up(client)
    await deposit(client, maker, "ETH", "1")
    await deposit(client, trader, "USDC", "10000")
    await place(client, maker, manual_order("ETH_USDC", "SELL", "LIMIT", 1, 3200))
    order = await place(
        client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3200, postOnly=True)
    )
    assert (order["status"], order["reason"], order["filledQuantity"]) == (
        "REJECTED", "POST_ONLY_WOULD_TAKE", 0,
    )  # fmt: skip


async def test_gtd_order_expires_at_expires_at(
    client: httpx.AsyncClient, admin: Trader, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "10000")
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    spelled = expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    order = await place(
        client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000, expiresAt=spelled)
    )
    # expiresAt alone makes the order GTD.
    assert (order["status"], order["timeInForce"], order["expiresAt"]) == ("OPEN", "GTD", spelled)
    # Epoch milliseconds are read too, and answered as the same ISO time.
    millis = int(expiry.timestamp()) * 1000 + 60_000
    later = await place(
        client,
        trader,
        manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3000, timeInForce="GTD", expiresAt=millis),
    )
    assert later["expiresAt"] == (expiry + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    # The matchers' clock reaches the expiry: the engine expires the order, its hold is freed.
    deadline = time.monotonic() + 15
    while (current := await fetch(client, trader, order["orderId"]))["status"] != "EXPIRED":
        assert time.monotonic() < deadline, current
        await asyncio.sleep(0.2)
    assert current["expiresAt"] == spelled
    assert datetime.now(UTC) >= expiry
    assert (await fetch(client, trader, later["orderId"]))["status"] == "OPEN"
    await drain(client, admin)
    total, held = await balance(db, trader.user_id, "USDC")
    assert (total, held) == (Decimal(10000), Decimal(3000) * Decimal("1.0005"))


async def test_stop_orders_wait_for_their_price(
    client: httpx.AsyncClient, admin: Trader, trader: Trader
) -> None:
    maker, other = await sign_up(client), await sign_up(client)
    await deposit(client, maker, "ETH", "5")
    await deposit(client, trader, "USDC", "10000")
    await deposit(client, other, "USDC", "10000")
    await place(client, maker, manual_order("ETH_USDC", "SELL", "LIMIT", 1, 3200))
    await place(client, maker, manual_order("ETH_USDC", "SELL", "LIMIT", 2, 3300))
    first = await place(client, trader, manual_order("ETH_USDC", "BUY", "LIMIT", 0.1, 3200))
    assert first["status"] == "FILLED"  # the last price is now 3200

    stop_limit = await place(
        client,
        trader,
        manual_order("ETH_USDC", "BUY", "STOP_LOSS_LIMIT", 0.5, 3300, stopPrice=3250),
    )
    assert (stop_limit["status"], stop_limit["stopPrice"], stop_limit["price"]) == (
        "UNTRIGGERED", 3250, 3300,
    )  # fmt: skip
    # STOP is the trading app's spelling of a stop-market order.
    stop = await place(
        client, trader, manual_order("ETH_USDC", "BUY", "STOP", "0.2", stopPrice="3250")
    )
    assert (stop["status"], stop["orderType"], stop["stopPrice"], stop["timeInForce"]) == (
        "UNTRIGGERED", "STOP_LOSS", 3250, "IOC",
    )  # fmt: skip

    # Another buyer lifts the offers through 3250: both stops fire and buy at 3300.
    lifted = await place(client, other, manual_order("ETH_USDC", "BUY", "LIMIT", 1, 3300))
    assert (lifted["status"], lifted["averagePrice"]) == ("FILLED", Decimal("3210"))
    await drain(client, admin)
    for order in (stop_limit, stop):
        fired = await fetch(client, trader, order["orderId"])
        assert (fired["status"], fired["averagePrice"], fired["filledQuantity"]) == (
            "FILLED", 3300, order["quantity"],
        )  # fmt: skip
