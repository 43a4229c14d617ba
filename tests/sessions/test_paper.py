"""The paper venue: fills against the local exchange's real book and trades through the Rust
engine, a simulated balance from initial_capital, ccxt's fee rates, and paper trading against
ordex's own books without touching them."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg
import httpx

from tests.sessions.helpers import SessionsApi, dec, error, live_messages, until

TAKER = MAKER = Decimal("0.001")  # ccxt's binance rates (the local server lists none of its own)


async def test_a_market_order_walks_three_levels_at_their_volume_weighted_price_plus_fees(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    """The local book has 0.75 at 42151.5, 42152.5, 42153.5, ...: buying 2 takes two levels whole
    and half of the third."""
    session_id = await api.start(initial_capital=100_000)
    levels = [(Decimal("42151.5"), Decimal("0.75")), (Decimal("42152.5"), Decimal("0.75")),
              (Decimal("42153.5"), Decimal("0.5"))]  # fmt: skip
    notional = sum((p * q for p, q in levels), Decimal(0))
    fees = sum((p * q * TAKER for p, q in levels), Decimal(0))
    vwap = notional / 2

    async with live_messages(api.redis_url, api.alice.id) as inbox:
        order = await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity=2)
        assert (order["status"], order["session_id"], order["venue"]) == (
            "FILLED", session_id, "paper",
        )  # fmt: skip
        assert dec(order["executed_quantity"]) == 2
        assert dec(order["executed_quote_quantity"]) == notional
        assert dec(order["fees"]) == fees
        assert order["filled_at"] is not None and order["exchange_order_id"].startswith("PAPER-")

        trades = [(await inbox.wait_for("trade", lambda d, n=n: d["price"] == float(levels[n][0])))
                  for n in range(3)]  # fmt: skip
        assert [(dec(t["data"]["price"]), dec(t["data"]["quantity"])) for t in trades] == levels
        update = await inbox.wait_for("order_update", lambda d: d["order_id"] == order["id"])
        assert update["data"]["status"] == "FILLED" and update["data"]["executed_quantity"] == 2
        position = await inbox.wait_for("position_update")
        assert position["data"]["side"] == "LONG" and position["data"]["quantity"] == 2

    rows = await db.fetch(
        "SELECT price, quantity, fee, liquidity FROM session_fills WHERE session_order_id = $1"
        " ORDER BY price",
        uuid.UUID(order["id"]),
    )
    assert [(r["price"], r["quantity"], r["fee"], r["liquidity"]) for r in rows] == [
        (p, q, p * q * TAKER, "TAKER") for p, q in levels
    ]
    [position] = (await api.get("/api/v1/positions", session_id=session_id)).json()["positions"]
    assert dec(position["entry_price"]) == vwap
    assert dec(position["fees"]) == fees
    balances = dict(
        await db.fetch(
            "SELECT asset, total FROM session_balances WHERE session_id = $1",
            uuid.UUID(session_id),
        )
    )
    assert balances == {"USDT": 100_000 - notional - fees, "BTC": 2}


async def test_a_resting_limit_fills_when_a_trade_prints_through_it(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    """The local server prints trades of 0.01 at last, last + 1, ... and shows asks from
    last + 1: with last half a tick under the limit, one print goes through it and the book
    never crosses it."""
    session_id = await api.start(initial_capital=10_000)
    order = await api.order(
        symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="0.02", price="42000"
    )
    assert order["status"] == "NEW" and order["executed_quantity"] == 0
    cost = Decimal("0.02") * 42000
    held = await db.fetchval(
        "SELECT held FROM session_balances WHERE session_id = $1 AND asset = 'USDT'",
        uuid.UUID(session_id),
    )
    assert held == cost * (1 + MAKER)

    # The watcher has looked at the market (what printed before is not through the order).
    seen = api.fake.requests.count("/api/v3/aggTrades")
    await until(lambda: _true(api.fake.requests.count("/api/v3/aggTrades") > seen + 1))
    assert (await api.order_by_id(order["id"]))["status"] == "NEW"

    async with live_messages(api.redis_url, api.alice.id) as inbox:
        api.fake.last_price = 41999.5
        api.fake.trade_id += 100
        first = api.fake.trade_id
        half = await api.wait_order(order["id"], lambda o: o["status"] == "PARTIALLY_FILLED")
        assert dec(half["executed_quantity"]) == Decimal("0.01")
        api.fake.trade_id += 100
        second = api.fake.trade_id
        filled = await api.wait_order(order["id"], lambda o: o["status"] == "FILLED")
        await inbox.wait_for("order_update", lambda d: d["status"] == "FILLED")
        assert [t["data"]["price"] for t in inbox.of("trade")] == [42000, 42000]
    assert dec(filled["executed_quote_quantity"]) == cost
    assert dec(filled["fees"]) == cost * MAKER
    fills = await db.fetch(
        "SELECT exchange_trade_id, price, quantity, liquidity FROM session_fills"
        " WHERE session_order_id = $1 ORDER BY id",
        uuid.UUID(order["id"]),
    )
    assert [(f["exchange_trade_id"], f["price"], f["quantity"], f["liquidity"]) for f in fills] == [
        (f"print:{trade}", 42000, Decimal("0.01"), "MAKER") for trade in (first, second)
    ]
    balances = dict(
        await db.fetch(
            "SELECT asset, total - held FROM session_balances WHERE session_id = $1",
            uuid.UUID(session_id),
        )
    )
    assert balances == {"USDT": 10_000 - cost - cost * MAKER, "BTC": Decimal("0.02")}


async def _true(value: bool) -> bool:
    return value


async def test_a_limit_that_crosses_takes_what_crosses_and_rests_the_rest(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    await api.start(initial_capital=100_000)
    order = await api.order(
        symbol="BTC/USDT", side="BUY", type="LIMIT", quantity="2", price="42152.5"
    )
    assert order["status"] == "PARTIALLY_FILLED"
    assert dec(order["executed_quantity"]) == Decimal("1.5")
    cancelled = await api.delete(f"/api/v1/orders/{order['id']}")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["message"] == "Order cancelled successfully"
    assert body["order"]["status"] == "CANCELED" and body["order"]["canceled_at"]
    held = await db.fetchval("SELECT sum(held) FROM session_balances")
    assert held == 0
    again = await api.delete(f"/api/v1/orders/{order['id']}")
    error(again, 400, "ORDER_NOT_CANCELLABLE")


async def test_the_simulated_balance_refuses_what_it_cannot_pay(
    api: SessionsApi, db: asyncpg.Connection
) -> None:
    await api.start(initial_capital=1000)
    refused = await api.post(
        "/api/v1/orders", {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": 1}
    )
    error(refused, 400, "INSUFFICIENT_BALANCE", "quantity")
    no_base = await api.post(
        "/api/v1/orders",
        {"symbol": "BTC/USDT", "side": "SELL", "type": "LIMIT", "quantity": 1, "price": 50000},
    )
    error(no_base, 400, "INSUFFICIENT_BALANCE", "quantity")
    off_grid = await api.post(
        "/api/v1/orders",
        {"symbol": "BTC/USDT", "side": "BUY", "type": "LIMIT", "quantity": "0.000001",
         "price": 40000},
    )  # fmt: skip
    error(off_grid, 400, "VALIDATION_ERROR", "quantity")
    assert await db.fetchval("SELECT count(*) FROM session_orders") == 0
    assert await db.fetchval("SELECT count(*) FROM session_fills") == 0


async def test_a_stop_loss_triggers_on_a_print_and_sells_at_the_book(api: SessionsApi) -> None:
    session_id = await api.start(initial_capital=100_000)
    await api.order(symbol="BTC/USDT", side="BUY", type="MARKET", quantity="0.5", reason="breakout")
    stop = await api.order(
        symbol="BTC/USDT", side="SELL", type="STOP_LOSS", quantity="0.5", stop_price="41000",
        reason="stop hit",
    )  # fmt: skip
    assert stop["status"] == "NEW"
    [position] = (await api.get("/api/v1/positions")).json()["positions"]
    assert (position["stop_loss"], position["entry_reason"]) == (41000, "breakout")

    seen = api.fake.requests.count("/api/v3/aggTrades")
    await until(lambda: _true(api.fake.requests.count("/api/v3/aggTrades") > seen + 1))
    api.fake.last_price = 40900.0
    api.fake.trade_id += 100
    sold = await api.wait_order(stop["id"], lambda o: o["status"] == "FILLED")
    # Sold into the bids under the new price (0.5 at 40899, the best).
    assert dec(sold["executed_quote_quantity"]) == Decimal("0.5") * 40899
    positions = (await api.get("/api/v1/positions", session_id=session_id)).json()["positions"]
    assert [(p["side"], p["exit_price"], p["exit_reason"]) for p in positions] == [
        ("LONG", 40899, "stop hit")
    ]
    assert (await api.get("/api/v1/positions")).json() == {"positions": [], "count": 0}


async def test_paper_trading_against_ordex_walks_its_book_without_touching_it(
    api: SessionsApi, db: asyncpg.Connection, exchange_runtime: object
) -> None:
    """`exchange: ordex`: offline paper trading on ordex's own (persisted) book."""
    maker = api.bob
    deposit = await api.http.post(
        "/deposits", json={"asset": "BTC", "amount": "3"}, headers=maker.headers
    )
    assert deposit.status_code == 200, deposit.text
    for price in ("65000", "65010", "65020"):
        placed = await api.http.post(
            "/orders",
            json={"marketId": "BTC-USDC", "side": "SELL", "type": "LIMIT", "quantity": "1",
                  "price": price},
            headers=maker.headers,
        )  # fmt: skip
        assert placed.status_code == 202, placed.text
    await _drain(api.http, api.alice.headers)
    await until(lambda: _count_open(db, 3))

    session_id = await api.start(exchange="ordex", symbol="BTC/USDC", initial_capital=1_000_000)
    order = await api.order(symbol="BTC/USDC", side="BUY", type="MARKET", quantity="2.5")
    assert order["status"] == "FILLED"
    notional = Decimal(65000) + Decimal(65010) + Decimal("0.5") * 65020
    assert dec(order["executed_quote_quantity"]) == notional
    assert dec(order["fees"]) == notional * Decimal("0.0005")  # BTC-USDC's taker rate
    session = (await api.get(f"/api/v1/trade/sessions/{session_id}")).json()["session"]
    assert (session["venue"], session["exchange"]) == ("paper", "ordex")
    # ordex's book is as it was.
    assert await _count_open(db, 3)
    assert await db.fetchval("SELECT count(*) FROM fills") == 0


async def _count_open(db: asyncpg.Connection, expected: int) -> bool:
    found = await db.fetchval(
        "SELECT count(*) FROM orders WHERE status = 'OPEN' AND filled_quantity = 0"
    )
    return bool(found == expected)


async def _drain(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.post("/admin/drain", headers=headers)
    assert response.status_code == 200, response.text
