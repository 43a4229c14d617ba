"""`GET /liquidations` and `GET /deleveraging`: the caller's own rows, newest first, filtered by
market, in the root family's envelope. The rows are written as the risk worker and the persister
write them (their flow is tested in test_liquidation*.py and test_adl.py)."""

from __future__ import annotations

import asyncpg
import httpx

from tests.exchange.helpers import Trader, deposit, sign_up


async def _account(conn: asyncpg.Connection, trader: Trader) -> int:
    account_id: int = await conn.fetchval(
        "SELECT id FROM trading_accounts WHERE user_id = $1::uuid", trader.user_id
    )
    return account_id


async def _liquidation(conn: asyncpg.Connection, account_id: int, mark: str) -> int:
    order_id: int = await conn.fetchval(
        "INSERT INTO orders (account_id, market_id, side, type, time_in_force, price, quantity,"
        " status, reduce_only, liquidation, hold_asset)"
        " VALUES ($1, 'BTC-PERP', 'SELL', 'LIMIT', 'IOC', 54340, 0.1, 'FILLED', true, true,"
        " 'USDC') RETURNING id",
        account_id,
    )
    await conn.execute(
        "INSERT INTO liquidations (order_id, account_id, market_id, side, quantity, mark_price,"
        " limit_price, bankruptcy_price, equity, maintenance, status, deleveraged, seq)"
        " VALUES ($1, $2, 'BTC-PERP', 'SELL', 0.1, $3::numeric, 54340, 56958.5, 20.5, 28.6,"
        " 'DONE', 0.04, 17)",
        order_id,
        account_id,
        mark,
    )
    return order_id


async def test_liquidations_and_deleveraging_of_the_caller(
    client: httpx.AsyncClient, trader: Trader, database_url: str
) -> None:
    other = await sign_up(client)
    for who in (trader, other):
        await deposit(client, who, "USDC", "100")
    conn = await asyncpg.connect(database_url)
    try:
        mine, theirs = await _account(conn, trader), await _account(conn, other)
        first = await _liquidation(conn, mine, "57200")
        second = await _liquidation(conn, mine, "57100")
        await _liquidation(conn, theirs, "57000")
        # The caller deleveraged against `other`, then `other` against the caller.
        await conn.execute(
            "INSERT INTO adl_events (market_id, seq, account_id, counterparty_id, side, quantity,"
            " price, realized_pnl, counterparty_realized, created_at) VALUES"
            " ('BTC-PERP', 20, $1, $2, 'SELL', 0.04, 56958.5, -120.2, 120.2, now() - interval '1s'),"
            " ('ETH-PERP', 30, $2, $1, 'BUY', 1, 3100, -50, 50, now())",
            mine,
            theirs,
        )
    finally:
        await conn.close()

    rows = (await client.get("/liquidations", headers=trader.headers)).json()
    assert [r["orderId"] for r in rows] == [str(second), str(first)]
    assert rows[1] == {
        "id": rows[1]["id"],
        "orderId": str(first),
        "marketId": "BTC-PERP",
        "side": "SELL",
        "quantity": "0.1",
        "markPrice": "57200",
        "limitPrice": "54340",
        "bankruptcyPrice": "56958.5",
        "equity": "20.5",
        "maintenanceMargin": "28.6",
        "status": "DONE",
        "deleveraged": "0.04",
        "createdAt": rows[1]["createdAt"],
    }
    assert (
        await client.get("/liquidations?marketId=ETH-PERP", headers=trader.headers)
    ).json() == []
    limited = await client.get("/liquidations?limit=1", headers=trader.headers)
    assert [r["orderId"] for r in limited.json()] == [str(second)]

    adl = (await client.get("/deleveraging", headers=trader.headers)).json()
    assert [(a["marketId"], a["role"], a["side"], a["realizedPnl"]) for a in adl] == [
        ("ETH-PERP", "COUNTERPARTY", "SELL", "50"),
        ("BTC-PERP", "DELEVERAGED", "SELL", "-120.2"),
    ]
    theirs_adl = (await client.get("/deleveraging?marketId=BTC-PERP", headers=other.headers)).json()
    assert [(a["role"], a["side"], a["price"]) for a in theirs_adl] == [
        ("COUNTERPARTY", "BUY", "56958.5")
    ]

    unknown = await client.get("/liquidations?marketId=DOGE-PERP", headers=trader.headers)
    assert unknown.status_code == 404 and "error" in unknown.json()
    assert (await client.get("/deleveraging")).status_code == 401
