"""`/api/engine/backtest` and `/api/engine/backtests`: the contract's request and response, the
stored backtest read back, the cache on reruns, ordex's own market, and the errors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

import ordex
from ordex.services.candles import CandleQuery, load_candles
from ordex.services.market_data import CcxtExchanges
from tests.backtests.conftest import BacktestApi, insert_flow, insert_ordex_trades
from tests.flows.examples import EXAMPLE_FLOW
from tests.marketdata.fake_binance import FakeBinance

JANUARY = {
    "exchange": "binance",
    "symbol": "BTC/USDT",
    "timeframe": "1h",
    "startDate": "2024-01-01T00:00:00Z",
    "endDate": "2024-02-01T00:00:00Z",
}
CONTRACT_METRICS = {
    "pnl", "pnlPercent", "winRate", "maxDrawdown", "maxDrawdownPercent", "sharpeRatio",
    "profitFactor", "totalTrades", "winningTrades", "losingTrades",
}  # fmt: skip


def klines_requests(fake: FakeBinance) -> int:
    return fake.requests.count("/api/v3/klines")


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code and isinstance(body["error"], str) and body["error"]
    return body


@pytest.fixture
async def flow_id(api: BacktestApi, conn: asyncpg.Connection) -> str:
    return str(await insert_flow(conn, api.alice.id, EXAMPLE_FLOW()))


async def test_run_answers_the_contract_shape(
    api: BacktestApi, flow_id: str, fake_binance: FakeBinance
) -> None:
    body = ok(await api.post(api.alice, {"flowId": flow_id, **JANUARY}))
    assert set(body) == {
        "backtestId",
        "status",
        "metrics",
        "equityCurve",
        "bars",
        "finalEquity",
        "fees",
    }
    assert body["status"] == "completed"
    uuid.UUID(body["backtestId"])
    metrics = body["metrics"]
    assert set(metrics) == CONTRACT_METRICS
    assert body["bars"] == 31 * 24
    assert metrics["totalTrades"] > 0, "the fake's price waves should make the RSI flow trade"
    assert metrics["totalTrades"] == metrics["winningTrades"] + metrics["losingTrades"]
    assert metrics["pnl"] == pytest.approx(body["finalEquity"] - 10_000)
    assert metrics["pnlPercent"] == pytest.approx(metrics["pnl"] / 10_000 * 100)
    assert 0 <= metrics["winRate"] <= 1 and metrics["maxDrawdown"] >= 0
    assert body["fees"] > 0
    curve = body["equityCurve"]
    assert [p["timestamp"] for p in curve] == [f"2024-01-{d:02d}T00:00:00Z" for d in range(1, 32)]
    assert curve[-1]["equity"] == pytest.approx(body["finalEquity"])
    assert all(isinstance(p["equity"], float | int) for p in curve)

    # The rerun reads the cached candles: no call reaches the exchange, same result.
    requests = len(fake_binance.requests)
    again = ok(await api.post(api.alice, {"flowId": flow_id, **JANUARY}))
    assert len(fake_binance.requests) == requests
    assert again["backtestId"] != body["backtestId"]
    assert again["metrics"] == metrics and again["equityCurve"] == curve


async def test_stored_backtest_reads_back_with_its_trades(
    api: BacktestApi, conn: asyncpg.Connection, flow_id: str, fake_binance: FakeBinance
) -> None:
    run = ok(
        await api.post(
            api.alice, {"flowId": flow_id, **JANUARY, "initialCapital": 5000, "feeBps": 20}
        )
    )
    stored = ok(await api.get(api.alice, f"/api/engine/backtests/{run['backtestId']}"))
    assert stored["backtestId"] == run["backtestId"] and stored["flowId"] == flow_id
    assert (stored["exchange"], stored["symbol"], stored["timeframe"]) == (
        "binance", "BTC/USDT", "1h",
    )  # fmt: skip
    assert (stored["startDate"], stored["endDate"]) == (JANUARY["startDate"], JANUARY["endDate"])
    assert stored["metrics"] == run["metrics"] and stored["equityCurve"] == run["equityCurve"]
    assert stored["bars"] == run["bars"] and stored["status"] == "completed"
    assert stored["createdAt"].endswith("Z")
    settings = stored["flow"]["settings"]
    assert (settings["initialCapital"], settings["feeBps"], settings["slippageBps"]) == (
        5000,
        20,
        5,
    )
    assert run["metrics"]["pnl"] == pytest.approx(run["finalEquity"] - 5000)

    # The stored trades are the evaluator's own over the same candles.
    exchanges = CcxtExchanges(base_urls={"binance": fake_binance.url})
    try:
        candles = await load_candles(
            CandleQuery(
                "binance", "BTC/USDT", "1h",
                datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC),
            ),
            exchanges=exchanges,
            conn=conn,
        )  # fmt: skip
    finally:
        await exchanges.close()
    direct = ordex.backtest(stored["flow"], candles.as_mapping())
    trades = stored["trades"]
    assert len(trades) == len(direct.trades) == run["metrics"]["totalTrades"]
    assert [t["seq"] for t in trades] == list(range(1, len(trades) + 1))
    for mine, theirs in zip(trades, direct.trades, strict=True):
        assert mine["side"] == theirs["side"] and mine["exitReason"] == theirs["exitReason"]
        assert (mine["entryBar"], mine["exitBar"]) == (theirs["entryBar"], theirs["exitBar"])
        assert mine["pnl"] == float(theirs["pnl"]) and mine["fees"] == float(theirs["fees"])
        assert mine["entryPrice"] == float(theirs["entryPrice"])
        entry = datetime.fromtimestamp(theirs["entryTime"] / 1000, tz=UTC)
        assert mine["entryTime"] == entry.strftime("%Y-%m-%dT%H:%M:%SZ")
    stored_pnl = await conn.fetchval(
        "SELECT sum(pnl) FROM backtest_trades WHERE backtest_id = $1",
        uuid.UUID(run["backtestId"]),
    )
    assert float(stored_pnl) == pytest.approx(sum(t["pnl"] for t in trades))


async def test_list_newest_first_with_flow_filter_and_paging(
    api: BacktestApi, conn: asyncpg.Connection, flow_id: str
) -> None:
    other_flow = str(await insert_flow(conn, api.alice.id, EXAMPLE_FLOW()))
    first = ok(await api.post(api.alice, {"flowId": flow_id, **JANUARY}))["backtestId"]
    second = ok(await api.post(api.alice, {"flowId": other_flow, **JANUARY}))["backtestId"]
    third = ok(await api.post(api.alice, {"flowId": flow_id, **JANUARY}))["backtestId"]

    listed = ok(await api.get(api.alice, "/api/engine/backtests"))
    assert [b["backtestId"] for b in listed["backtests"]] == [third, second, first]
    assert listed["total"] == 3
    assert "trades" not in listed["backtests"][0] and "equityCurve" not in listed["backtests"][0]

    of_flow = ok(await api.get(api.alice, "/api/engine/backtests", flowId=flow_id))
    assert [b["backtestId"] for b in of_flow["backtests"]] == [third, first]
    page = ok(await api.get(api.alice, "/api/engine/backtests", limit=1, offset=1))
    assert [b["backtestId"] for b in page["backtests"]] == [second] and page["total"] == 3
    past_the_end = ok(await api.get(api.alice, "/api/engine/backtests", offset=10))
    assert past_the_end == {"backtests": [], "total": 3}
    not_an_id = ok(await api.get(api.alice, "/api/engine/backtests", flowId="nope"))
    assert not_an_id == {"backtests": [], "total": 0}
    refused(await api.get(api.alice, "/api/engine/backtests", limit=0), 400, "VALIDATION_ERROR")


async def test_another_users_backtest_and_flow_are_not_found(
    api: BacktestApi, flow_id: str
) -> None:
    run = ok(await api.post(api.alice, {"flowId": flow_id, **JANUARY}))
    path = f"/api/engine/backtests/{run['backtestId']}"
    refused(await api.get(api.bob, path), 404, "BACKTEST_NOT_FOUND")
    assert ok(await api.get(api.bob, "/api/engine/backtests")) == {"backtests": [], "total": 0}
    refused(await api.post(api.bob, {"flowId": flow_id, **JANUARY}), 404, "FLOW_NOT_FOUND")
    refused(await api.get(api.alice, "/api/engine/backtests/not-a-uuid"), 404, "BACKTEST_NOT_FOUND")
    refused(await api.get(api.alice, f"/api/engine/backtests/{uuid.uuid4()}"), 404, "BACKTEST_NOT_FOUND")  # fmt: skip


async def test_unknown_flow_is_404(api: BacktestApi) -> None:
    refused(await api.post(api.alice, {"flowId": str(uuid.uuid4()), **JANUARY}), 404, "FLOW_NOT_FOUND")  # fmt: skip
    refused(await api.post(api.alice, {"flowId": "flow_xyz", **JANUARY}), 404, "FLOW_NOT_FOUND")


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"endDate": "2023-12-01T00:00:00Z"}, "INVALID_DATE_RANGE", "endDate"),
        ({"endDate": JANUARY["startDate"]}, "INVALID_DATE_RANGE", "endDate"),
        ({"timeframe": "3m"}, "VALIDATION_ERROR", "timeframe"),
        ({"timeframe": "1w"}, "VALIDATION_ERROR", "timeframe"),
        ({"startDate": "last tuesday"}, "VALIDATION_ERROR", "startDate"),
        ({"timeframe": "1m", "endDate": "2029-01-01"}, "RANGE_TOO_LARGE", "endDate"),
        ({"feeBps": 5000}, "VALIDATION_ERROR", "feeBps"),
        ({"initialCapital": 0}, "VALIDATION_ERROR", "initialCapital"),
        ({"exchange": "Not An Exchange"}, "VALIDATION_ERROR", "exchange"),
        ({"exchange": "nosuchexchange"}, "UNKNOWN_EXCHANGE", "exchange"),
        ({"symbol": "BTCUSDT"}, "BAD_SYMBOL", "symbol"),
        ({"colour": "red"}, "VALIDATION_ERROR", "colour"),
    ],
)
async def test_bad_requests_are_400(
    api: BacktestApi,
    flow_id: str,
    fake_binance: FakeBinance,
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    body = refused(await api.post(api.alice, {"flowId": flow_id, **JANUARY, **changes}), 400, code)
    assert body.get("field") == field
    assert klines_requests(fake_binance) == 0


async def test_missing_fields_are_400(api: BacktestApi, flow_id: str) -> None:
    for name in ("flowId", "exchange", "symbol", "timeframe", "startDate", "endDate"):
        body = {"flowId": flow_id, **JANUARY}
        del body[name]
        assert refused(await api.post(api.alice, body), 400, "VALIDATION_ERROR")["field"] == name


async def test_a_flow_that_no_longer_validates_is_400(
    api: BacktestApi, conn: asyncpg.Connection, fake_binance: FakeBinance
) -> None:
    flow = EXAMPLE_FLOW()
    flow["nodes"][1]["params"]["period"] = 1  # the RSI's least period is 2
    stale = await insert_flow(conn, api.alice.id, flow)
    body = refused(
        await api.post(api.alice, {"flowId": str(stale), **JANUARY}), 400, "INVALID_FLOW"
    )
    assert body["details"]["node"] == "rsi" and body["details"]["param"] == "period"
    assert klines_requests(fake_binance) == 0  # refused before any download


async def test_no_candles_in_range_is_422(
    api: BacktestApi, flow_id: str, fake_binance: FakeBinance
) -> None:
    fake_binance.klines_listed_at = int(datetime(2024, 6, 1, tzinfo=UTC).timestamp() * 1000)
    body = refused(await api.post(api.alice, {"flowId": flow_id, **JANUARY}), 422, "NO_CANDLES")
    assert "BTC/USDT" in body["error"]
    future = {"startDate": "2099-01-01", "endDate": "2099-01-02"}
    refused(await api.post(api.alice, {"flowId": flow_id, **JANUARY, **future}), 422, "NO_CANDLES")
    listed = ok(await api.get(api.alice, "/api/engine/backtests"))
    assert listed["total"] == 0


@pytest.mark.parametrize(("status", "code"), [(429, "RATE_LIMITED"), (503, "EXCHANGE_UNAVAILABLE")])
async def test_exchange_errors_map_like_market_data(
    api: BacktestApi, flow_id: str, fake_binance: FakeBinance, status: int, code: str
) -> None:
    fake_binance.status_override = status
    refused(await api.post(api.alice, {"flowId": flow_id, **JANUARY}), status, code)


async def test_ordex_market_from_its_own_trades(
    api: BacktestApi, conn: asyncpg.Connection, flow_id: str
) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    trades = []
    for hour in range(72):
        price = 65_000 + (1_500 if (hour // 12) % 2 else -1_500) * ((hour % 12) / 12)
        trades.append((start + timedelta(hours=hour, minutes=10), f"{price:.1f}", "0.1"))
    await insert_ordex_trades(conn, api.alice.id, trades)
    body = ok(
        await api.post(
            api.alice,
            {
                "flowId": flow_id,
                "exchange": "ordex",
                "symbol": "BTC/USDC",
                "timeframe": "1h",
                "startDate": "2024-05-01",
                "endDate": "2024-05-05",
            },
        )
    )
    assert body["bars"] == 72
    assert [p["timestamp"][:10] for p in body["equityCurve"]] == [
        "2024-05-01", "2024-05-02", "2024-05-03",
    ]  # fmt: skip
    refused(
        await api.post(
            api.alice, {"flowId": flow_id, **JANUARY, "exchange": "ordex", "symbol": "DOGE/USDC"}
        ),
        400,
        "BAD_SYMBOL",
    )


async def test_deleting_the_flow_keeps_its_backtests(
    api: BacktestApi, conn: asyncpg.Connection, flow_id: str
) -> None:
    run = ok(await api.post(api.alice, {"flowId": flow_id, **JANUARY}))
    await conn.execute("DELETE FROM flows WHERE id = $1", uuid.UUID(flow_id))
    stored = ok(await api.get(api.alice, f"/api/engine/backtests/{run['backtestId']}"))
    assert stored["flowId"] is None and stored["metrics"] == run["metrics"]
    assert stored["flow"]["nodes"] == EXAMPLE_FLOW()["nodes"]
