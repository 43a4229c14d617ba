"""`POST /api/exchange-keys/validate` and `GET /api/dashboard/balance` through ccxt against the
local server that answers like Binance (signed private endpoints, apiRestrictions)."""

from __future__ import annotations

from typing import Any

import pytest

from ordex.services import exchange_balances
from ordex.services.errors import ServiceError
from ordex.services.exchange_accounts import Credentials
from ordex.services.market_data import CcxtExchanges
from tests.marketdata.fake_binance import API_KEY, RESTRICTED_KEY, SECRET
from tests.notifications.helpers import store_key
from tests.realtime.conftest import free_port
from tests.sessions.helpers import SessionsApi, error


async def _validate(api: SessionsApi, **body: Any) -> Any:
    return await api.post("/api/exchange-keys/validate", body)


async def test_a_good_key_is_valid_with_permissions_and_balance_and_not_saved(
    api: SessionsApi,
) -> None:
    answer = await _validate(
        api, exchange="binance", apiKey=API_KEY, secret=SECRET, label="Main Account"
    )
    assert answer.status_code == 200, answer.text
    # The contract's example shape; only stablecoins count (5000 USDT; the BTC does not).
    assert answer.json() == {
        "valid": True,
        "permissions": ["read", "trade"],
        "account": {"balance": 5000.0},
    }
    assert any(r.path == "/sapi/v1/account/apiRestrictions" for r in api.fake.signed_requests)
    assert (await api.get("/api/exchange-keys")).json() == {"keys": []}

    api.fake.key_restrictions.update(enableFutures=True, enableWithdrawals=True)
    api.fake.balances["USDC"] = ("234.5", "0")
    answer = await _validate(api, exchange="BINANCE", apiKey=API_KEY, secret=SECRET)
    assert answer.json()["permissions"] == ["read", "trade", "futures", "withdraw"]
    assert answer.json()["account"] == {"balance": 5234.5}


async def test_a_refused_key_is_valid_false(api: SessionsApi) -> None:
    for api_key, secret in (
        (API_KEY, "wrong-secret"),
        ("unknown-key", SECRET),
        (RESTRICTED_KEY, SECRET),
    ):
        answer = await _validate(api, exchange="binance", apiKey=api_key, secret=secret)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["valid"], body["permissions"], body["account"]) == (False, [], None)
        assert isinstance(body["error"], str) and body["code"].startswith("EXCHANGE_")


async def test_an_unreachable_exchange_is_a_503(api: SessionsApi) -> None:
    api.fake.status_override = 503
    answer = await _validate(api, exchange="binance", apiKey=API_KEY, secret=SECRET)
    body = error(answer, 503, "EXCHANGE_UNAVAILABLE")
    assert set(body) <= {"error", "code", "details", "field"}


async def test_a_bad_body_is_a_400_naming_the_field(api: SessionsApi) -> None:
    error(await _validate(api, exchange="binance", apiKey=API_KEY), 400, field="secret")
    error(await _validate(api, exchange="nope", apiKey="a", secret="b"), 400, field="exchange")
    error(await _validate(api, exchange="okx", apiKey="a", secret="b"), 400)
    error(await _validate(api, exchange="binance", apiKey="", secret="b"), 400, field="apiKey")
    assert api.fake.signed_requests == []


async def test_dashboard_balance_sums_stablecoins_of_every_key_and_ordex(
    api: SessionsApi,
) -> None:
    main = await store_key(api, label="Main Account")
    deposited = await api.http.post(
        "/deposits", json={"asset": "USDC", "amount": "250.25"}, headers=api.alice.headers
    )
    assert deposited.status_code in (200, 201), deposited.text
    answer = await api.get("/api/dashboard/balance")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "totalUsd": 5250.25,
        "exchanges": [
            {
                "id": main,
                "exchange": "binance",
                "label": "Main Account",
                "balanceUsd": 5000.0,
                "status": "ok",
            },
            {
                "id": None,
                "exchange": "ordex",
                "label": "ordex",
                "balanceUsd": 250.25,
                "status": "ok",
            },
        ],
        "failed": 0,
    }
    # Bob has no keys and no ordex balance.
    bobs = (await api.get("/api/dashboard/balance", api.bob)).json()
    assert bobs["totalUsd"] == 0 and [e["exchange"] for e in bobs["exchanges"]] == ["ordex"]


async def test_a_failing_exchange_is_reported_not_fatal(api: SessionsApi) -> None:
    good = await store_key(api, label="Main Account")
    refused = await store_key(api, secret="not-the-secret", label="Old key")
    answer = await api.get("/api/dashboard/balance")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    by_id = {e["id"]: e for e in body["exchanges"]}
    assert by_id[good]["balanceUsd"] == 5000.0 and by_id[good]["status"] == "ok"
    failed = by_id[refused]
    assert (failed["status"], failed["balanceUsd"], failed["label"]) == ("error", 0.0, "Old key")
    assert failed["code"].startswith("EXCHANGE_") and failed["error"]
    assert (body["failed"], body["totalUsd"]) == (1, 5000.0)

    api.fake.status_override = 503  # the exchange goes down: every key fails, the answer stands
    body = (await api.get("/api/dashboard/balance")).json()
    assert body["failed"] == 2 and body["totalUsd"] == 0.0
    assert {by["code"] for by in body["exchanges"] if by["status"] == "error"} <= {
        "EXCHANGE_UNAVAILABLE", "EXCHANGE_ERROR", "EXCHANGE_AUTHENTICATION_FAILED",
    }  # fmt: skip


async def test_a_slow_exchange_times_out_per_account(api: SessionsApi) -> None:
    await store_key(api)
    api.fake.delay_seconds = 1.0
    app = api.http._transport.app  # type: ignore[attr-defined]
    async with app.state.pool.acquire() as conn:
        body = await exchange_balances.dashboard_balance(
            conn,
            app.state.secret_box,
            app.state.market_data.exchanges,
            api.alice.id,
            timeout_seconds=0.2,
        )
    [binance, ordex] = body["exchanges"]
    assert (binance["status"], binance["code"]) == ("error", "EXCHANGE_TIMEOUT")
    assert ordex["status"] == "ok" and body["failed"] == 1


async def test_a_closed_port_is_unreachable_too() -> None:
    """Nothing listening at all (connection refused), not only a 503 answer."""
    exchanges = CcxtExchanges(base_urls={"binance": f"http://127.0.0.1:{free_port()}"})
    with pytest.raises(ServiceError) as raised:
        await exchange_balances.validate_key(
            exchanges, "binance", Credentials(API_KEY, SECRET, None), timeout_seconds=5
        )
    assert (raised.value.status_code, raised.value.code) == (503, "EXCHANGE_UNAVAILABLE")
    assert exchanges.cached_count() == 0  # tried keys leave no instance behind
