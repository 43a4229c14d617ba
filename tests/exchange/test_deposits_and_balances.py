"""`POST /deposits` and `GET /balances`: a DEPOSIT ledger entry, the total up, exact decimals."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import httpx

from tests.exchange.helpers import Trader, deposit, snapshot


async def test_documented_deposit_returns_the_balance(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    assert (await client.get("/balances", headers=trader.headers)).json() == []

    first = await deposit(client, trader, "USDC", "10000")
    assert first == {"asset": "USDC", "total": "10000", "held": "0", "available": "10000"}
    second = await deposit(client, trader, "USDC", "0.000001")
    assert second["total"] == "10000.000001"
    await deposit(client, trader, "BTC", "1.5")
    await deposit(client, trader, "eth", "0.0001")  # asset names are case-insensitive

    balances = (await client.get("/balances", headers=trader.headers)).json()
    assert balances == [
        {"asset": "BTC", "total": "1.5", "held": "0", "available": "1.5"},
        {"asset": "ETH", "total": "0.0001", "held": "0", "available": "0.0001"},
        {"asset": "USDC", "total": "10000.000001", "held": "0", "available": "10000.000001"},
    ]
    ledger = await db.fetch("SELECT asset, kind, amount FROM ledger_entries ORDER BY id")
    assert [(r["asset"], r["kind"], r["amount"]) for r in ledger] == [
        ("USDC", "DEPOSIT", Decimal("10000")),
        ("USDC", "DEPOSIT", Decimal("0.000001")),
        ("BTC", "DEPOSIT", Decimal("1.5")),
        ("ETH", "DEPOSIT", Decimal("0.0001")),
    ]


async def test_bad_deposits_are_refused_and_write_nothing(
    client: httpx.AsyncClient, trader: Trader, db: asyncpg.Connection
) -> None:
    await deposit(client, trader, "USDC", "5")
    before = await snapshot(db)
    ledger_before = await db.fetchval("SELECT count(*) FROM ledger_entries")
    bad_bodies: list[object] = [
        {"asset": "USDC", "amount": "-5"},
        {"asset": "USDC", "amount": "0"},
        {"asset": "USDC", "amount": "0.0000001"},  # finer than USDC's 6 decimals
        {"asset": "USDC", "amount": "1e3"},
        {"asset": "USDC", "amount": "ten"},
        {"asset": "USDC", "amount": True},
        {"asset": "USDC"},
        {"asset": "DOGE", "amount": "1"},
        {"amount": "1"},
        ["USDC", "1"],
    ]
    for body in bad_bodies:
        response = await client.post("/deposits", json=body, headers=trader.headers)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["code"] == "VALIDATION_ERROR", body
    for raw in (b"{", b"", b'{"asset": "USDC", "amount": NaN}'):
        response = await client.post(
            "/deposits", content=raw, headers={**trader.headers, "content-type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert await snapshot(db) == before
    assert await db.fetchval("SELECT count(*) FROM ledger_entries") == ledger_before

    # A JSON number is taken exactly, not through a float.
    exact = await client.post(
        "/deposits",
        content=b'{"asset": "USDC", "amount": 0.1}',
        headers={**trader.headers, "content-type": "application/json"},
    )
    assert exact.status_code == 200
    assert exact.json()["total"] == "5.1"
