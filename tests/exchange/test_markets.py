"""`GET /markets` and `GET /markets/{marketId}`: the documented fields, aliases, errors."""

from __future__ import annotations

import httpx

from tests.exchange.helpers import Trader, sign_up

EXCHANGE_ROUTES = [
    ("GET", "/markets"),
    ("GET", "/markets/BTC-PERP"),
    ("POST", "/deposits"),
    ("POST", "/orders"),
    ("DELETE", "/orders/1"),
    ("GET", "/orders"),
    ("GET", "/orders/1"),
    ("GET", "/balances"),
    ("GET", "/positions"),
    ("GET", "/fills"),
    ("POST", "/admin/drain"),
]


async def test_documented_market_fields_list_and_aliases(
    client: httpx.AsyncClient, trader: Trader
) -> None:
    response = await client.get("/markets/BTC-PERP", headers=trader.headers)
    assert response.status_code == 200
    body = response.json()
    documented = {
        "id": "BTC-PERP",
        "symbol": "BTC-PERP",
        "baseAsset": "BTC",
        "quoteAsset": "USDC",
        "maxLeverage": 20,
        "initialMarginRate": "0.05",
        "maintenanceMarginRate": "0.005",
        "makerFeeRate": "0.0002",
        "takerFeeRate": "0.0005",
        "fundingIntervalHours": 8,
        "fundingRateCap": "0.00375",
        "status": "ACTIVE",
    }
    assert {k: body[k] for k in documented} == documented
    assert body["kind"] == "PERP"
    assert (body["tickSize"], body["lotSize"], body["minQuantity"]) == ("0.1", "0.0001", "0.0001")
    assert body["priceBand"] == "0.05"
    assert "BTC/USDC:USDC" in body["aliases"]

    listed = await client.get("/markets", headers=trader.headers)
    assert listed.status_code == 200
    markets = {m["id"]: m for m in listed.json()}
    assert set(markets) == {"BTC-PERP", "ETH-PERP", "BTC-USDC", "ETH-USDC"}
    assert markets["BTC-PERP"] == body
    assert (markets["ETH-PERP"]["tickSize"], markets["ETH-PERP"]["lotSize"]) == ("0.01", "0.001")
    assert markets["ETH-USDC"]["kind"] == "SPOT"
    assert markets["ETH-USDC"]["maxLeverage"] == 1
    assert markets["ETH-USDC"]["initialMarginRate"] == "0"
    assert {"ETH_USDC", "ETH/USDC"} <= set(markets["ETH-USDC"]["aliases"])

    for alias in ("ETH-USDC", "ETH_USDC", "ETH/USDC", "eth_usdc"):
        resolved = await client.get(f"/markets/{alias}", headers=trader.headers)
        assert resolved.status_code == 200, (alias, resolved.text)
        assert resolved.json()["id"] == "ETH-USDC"


async def test_unknown_market_and_missing_credentials(client: httpx.AsyncClient) -> None:
    for method, path in EXCHANGE_ROUTES:
        for headers in ({}, {"Authorization": "Bearer nope"}):
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path)
            assert response.json()["error"]["code"] == "UNAUTHENTICATED"

    trader = await sign_up(client)
    response = await client.get("/markets/DOGE-PERP", headers=trader.headers)
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "MARKET_NOT_FOUND", "message": "Market 'DOGE-PERP' not found"}
    }
