"""`/api/exchange/*`, `/api/market` and `/api/exchanges` over ccxt's real `binance` class, talking to
a local server that answers like Binance."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import httpx
import pytest

from ordex.services.market_data import map_ccxt_error
from tests.marketdata.conftest import MarketDataClient
from tests.marketdata.fake_binance import API_KEY, SECRET, FakeBinance

BINANCE = {"exchangeId": "binance", "marketType": "spot", "ccxtType": "regular"}


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["data"]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]
    return body


async def test_unified_public_methods_return_ccxt_structures(md: MarketDataClient) -> None:
    ticker = data(
        await md.post("/api/exchange/fetchTicker", {"config": BINANCE, "symbol": "BTC/USDT"})
    )
    assert ticker["symbol"] == "BTC/USDT"
    assert (ticker["last"], ticker["bid"], ticker["ask"]) == (42150.5, 42148.0, 42153.0)
    assert ticker["percentage"] == 2.345

    book = data(
        await md.post(
            "/api/exchange/fetchOrderBook", {"config": BINANCE, "symbol": "BTC/USDT", "limit": 5}
        )
    )
    assert book["bids"][0] == [42149.5, 0.5] and book["asks"][0] == [42151.5, 0.75]
    assert len(book["bids"]) == 5

    trades = data(
        await md.post(
            "/api/exchange/fetchTrades", {"config": BINANCE, "symbol": "BTC/USDT", "limit": 3}
        )
    )
    assert [t["id"] for t in trades] == ["1000", "1001", "1002"]
    assert {t["side"] for t in trades} == {"buy", "sell"}

    candles = data(
        await md.post(
            "/api/exchange/fetchOHLCV",
            {"config": BINANCE, "symbol": "ETH/USDT", "timeframe": "1m", "limit": 3},
        )
    )
    assert [c[4] for c in candles] == [42000.0, 42001.0, 42002.0]
    assert candles[1][0] - candles[0][0] == 60_000


async def test_instance_is_cached_and_markets_load_once(
    md: MarketDataClient, fake_binance: FakeBinance
) -> None:
    first = data(await md.post("/api/exchange/instance", {"config": BINANCE}))
    assert first["marketsCount"] == 2
    for _ in range(3):
        await md.post("/api/exchange/fetchTicker", {"config": BINANCE, "symbol": "ETH/USDT"})
    assert fake_binance.requests.count("/api/v3/exchangeInfo") == 1
    # Another market type is another instance, with its own markets.
    await md.post("/api/exchange/instance", {"config": {**BINANCE, "marketType": "swap"}})
    assert fake_binance.requests.count("/api/v3/exchangeInfo") == 2


async def test_capabilities_come_from_exchange_has(md: MarketDataClient) -> None:
    caps = data(await md.post("/api/exchange/capabilities", {"config": BINANCE}))
    assert caps["exchangeId"] == "binance"
    assert caps["has"]["fetchTicker"] is True and caps["has"]["fetchOHLCV"] is True
    assert "1m" in caps["timeframes"] and "1d" in caps["timeframes"]


async def test_capabilities_answer_without_the_network(
    md: MarketDataClient, fake_binance: FakeBinance
) -> None:
    """ccxt declares `has` on the class: no markets to load, so an exchange nobody can reach
    (kraken, with no network here) answers too, and binance's server is not asked."""
    before = len(fake_binance.requests)
    caps = data(
        await md.post(
            "/api/exchange/capabilities",
            {"config": {"exchangeId": "kraken", "marketType": "spot", "ccxtType": "regular"}},
        )
    )
    assert caps["exchangeId"] == "kraken" and caps["has"]["fetchOHLCV"] is True
    data(await md.post("/api/exchange/capabilities", {"config": BINANCE}))
    assert len(fake_binance.requests) == before


async def test_fetch_balance_signs_with_the_users_stored_keys(
    md: MarketDataClient, fake_binance: FakeBinance
) -> None:
    no_keys = await md.post("/api/exchange/fetchBalance", {"config": BINANCE})
    assert_error(no_keys, 400, "NO_API_KEYS")

    created = await md.post(
        "/api/accounts", {"exchange": "binance", "apiKey": API_KEY, "secret": SECRET}
    )
    assert created.status_code == 201, created.text
    balance = data(await md.post("/api/exchange/fetchBalance", {"config": BINANCE}))
    assert balance["BTC"] == {"free": 1.25, "used": 0.25, "total": 1.5}
    assert balance["total"]["USDT"] == 5000.0
    assert "/api/v3/account" in fake_binance.requests


async def test_refused_keys_are_401(md: MarketDataClient) -> None:
    wrong = await md.post("/api/accounts", {"exchange": "binance", "apiKey": "x", "secret": "y"})
    wrong_id = wrong.json()["data"]["id"]
    refused = await md.post(
        "/api/exchange/fetchBalance", {"config": {**BINANCE, "accountId": wrong_id}}
    )
    assert_error(refused, 401, "EXCHANGE_AUTHENTICATION_FAILED")
    assert SECRET not in refused.text


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (ccxt.NotSupported, 400, "NOT_SUPPORTED"),
        (ccxt.BadSymbol, 400, "BAD_SYMBOL"),
        (ccxt.AuthenticationError, 401, "EXCHANGE_AUTHENTICATION_FAILED"),
        (ccxt.PermissionDenied, 403, "EXCHANGE_PERMISSION_DENIED"),
        (ccxt.AccountSuspended, 403, "EXCHANGE_ACCOUNT_SUSPENDED"),
        (ccxt.RequestTimeout, 408, "REQUEST_TIMEOUT"),
        (ccxt.RateLimitExceeded, 429, "RATE_LIMITED"),
        (ccxt.OnMaintenance, 503, "EXCHANGE_UNAVAILABLE"),
        (ccxt.ExchangeNotAvailable, 503, "EXCHANGE_UNAVAILABLE"),
        (ccxt.InsufficientFunds, 502, "EXCHANGE_ERROR"),
    ],
)
def test_every_ccxt_error_class_has_its_status(
    error: type[Exception], status: int, code: str
) -> None:
    # Binance picks its per-market error tables by the URL's host, which the local server does
    # not have; the classes themselves are mapped here (the HTTP paths are covered above/below).
    mapped = map_ccxt_error(error("binance " + "x" * 400), "binance")
    assert (mapped.status_code, mapped.code) == (status, code)
    assert len(mapped.details) <= 303


async def test_ccxt_errors_map_to_contract_statuses(
    md: MarketDataClient, fake_binance: FakeBinance
) -> None:
    bad_symbol = await md.post(
        "/api/exchange/fetchTicker", {"config": BINANCE, "symbol": "NOPE/USDT"}
    )
    assert_error(bad_symbol, 400, "BAD_SYMBOL")

    unknown = await md.post(
        "/api/exchange/fetchTicker",
        {"config": {**BINANCE, "exchangeId": "notanexchange"}, "symbol": "BTC/USDT"},
    )
    assert_error(unknown, 400, "UNKNOWN_EXCHANGE")

    not_pro = await md.post("/api/exchange/watchTicker", {"config": BINANCE, "symbol": "BTC/USDT"})
    assert_error(not_pro, 400, "NOT_SUPPORTED")

    # Markets are loaded: from here every request reaches the ticker endpoint.
    await md.post("/api/exchange/instance", {"config": BINANCE})
    fake_binance.status_override = 503
    down = await md.post("/api/exchange/fetchTicker", {"config": BINANCE, "symbol": "BTC/USDT"})
    body = assert_error(down, 503, "EXCHANGE_UNAVAILABLE")
    assert "details" in body

    fake_binance.status_override = 429
    limited = await md.post("/api/exchange/fetchTicker", {"config": BINANCE, "symbol": "BTC/USDT"})
    assert_error(limited, 429, "RATE_LIMITED")

    fake_binance.status_override = None
    fake_binance.delay_seconds = 1.5
    slow = await md.post("/api/exchange/fetchTicker", {"config": BINANCE, "symbol": "BTC/USDT"})
    assert_error(slow, 408, "REQUEST_TIMEOUT")


async def test_bad_bodies_are_400_and_unknown_methods_404(md: MarketDataClient) -> None:
    missing = await md.post("/api/exchange/fetchTicker", {"config": BINANCE})
    assert_error(missing, 400, "VALIDATION_ERROR")
    bad_limit = await md.post(
        "/api/exchange/fetchTrades", {"config": BINANCE, "symbol": "BTC/USDT", "limit": 0}
    )
    assert_error(bad_limit, 400, "VALIDATION_ERROR")
    bad_id = await md.post("/api/exchange/capabilities", {"config": {"exchangeId": "../etc"}})
    assert_error(bad_id, 400, "VALIDATION_ERROR")
    unknown = await md.post("/api/exchange/fetchEverything", {"config": BINANCE})
    assert_error(unknown, 404, "NOT_FOUND")


async def test_market_data_needs_a_credential(md: MarketDataClient) -> None:
    response = await md.http.post(
        "/api/exchange/fetchTicker", json={"config": BINANCE, "symbol": "BTC/USDT"}
    )
    assert_error(response, 401, "UNAUTHENTICATED")
    assert (await md.http.get("/api/exchanges")).status_code == 401


async def test_market_route_lists_symbols_and_summarises_a_ticker(md: MarketDataClient) -> None:
    symbols = await md.get("/api/market", exchange="binance", action="symbols")
    assert symbols.status_code == 200, symbols.text
    assert symbols.json() == {"symbols": ["BTC/USDT", "ETH/USDT"]}

    ticker = await md.get("/api/market", exchange="binance", symbol="BTC/USDT")
    assert ticker.status_code == 200, ticker.text
    body = ticker.json()
    assert set(body) == {"symbol", "last", "bid", "ask", "volume", "change24h", "timestamp"}
    assert (body["last"], body["volume"], body["change24h"]) == (42150.5, 15234.56, 2.345)
    assert body["timestamp"].endswith("Z")

    assert_error(await md.get("/api/market", exchange="binance"), 400, "VALIDATION_ERROR")


async def test_exchanges_table_is_seeded(md: MarketDataClient) -> None:
    response = await md.get("/api/exchanges")
    assert response.status_code == 200, response.text
    exchanges = response.json()["exchanges"]
    ids = [e["id"] for e in exchanges]
    assert {"binance", "okx", "bybit", "ordex"} <= set(ids)
    binance = next(e for e in exchanges if e["id"] == "binance")
    assert binance == {
        "id": "binance",
        "name": "Binance",
        "ccxt_id": "binance",
        "is_active": True,
        "sort_order": 1,
    }
    assert [e["sort_order"] for e in exchanges] == sorted(e["sort_order"] for e in exchanges)


async def test_watch_methods_return_the_next_stream_update(md: MarketDataClient) -> None:
    pro = {**BINANCE, "ccxtType": "pro"}
    first = data(await md.post("/api/exchange/watchTrades", {"config": pro, "symbol": "BTC/USDT"}))
    again = data(await md.post("/api/exchange/watchTrades", {"config": pro, "symbol": "BTC/USDT"}))
    assert first[-1]["symbol"] == "BTC/USDT"
    assert int(again[-1]["id"]) > int(first[-1]["id"])
