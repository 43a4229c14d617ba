"""`/api/droids`: the contract's examples, validation, the role rules on `active`, ownership (404)
and history paging, over the real API, PostgreSQL and the dev chain."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from tests.droids.routes_helpers import (
    CONTRACT_CONFIG,
    CONTRACT_DROID,
    DroidApi,
    droid_row,
)
from tests.workspace.helpers import api_error

ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def same(expected: Any, got: Any) -> bool:
    """Equal as numbers (the contract writes 4000.00, ordex 4000)."""
    if isinstance(expected, bool) or not isinstance(expected, int | float | Decimal):
        return bool(expected == got)
    return Decimal(str(expected)) == Decimal(str(got))


async def test_contract_examples(api: DroidApi, db: asyncpg.Connection) -> None:
    droid_id = await api.create_droid()

    # GET /api/droids: every field of the example, with the values of the POST.
    listed = await api.ok("GET", "/api/droids")
    assert set(listed) == {"droids"} and len(listed["droids"]) == 1
    droid = listed["droids"][0]
    example_fields = {
        "id", "blockChain", "active", "poolId", "fundingUSD", "triggerType", "tickBuckets",
        "bucketOffset", "fundingCurveType", "maxBots", "maxPrice", "minPrice",
        "fallingRebalanceTrigger", "risingRebalanceTrigger", "maxGasPrice", "txPriority",
        "derivativeThreshold", "ladderPercMargin", "createdAt",
    }  # fmt: skip
    assert example_fields <= set(droid)
    assert droid["id"] == droid_id and droid["blockChain"] == "ethereum"
    assert droid["active"] == 0  # created paused
    for name, value in CONTRACT_DROID.items():
        if name != "poolId":
            assert same(value, droid[name]), name
    assert droid["poolId"] == await api.pool_id("weth_usdc_3000")
    assert ISO_MILLIS.match(droid["createdAt"])

    # PATCH active (the example), then the droid shows it.
    assert await api.ok("PATCH", f"/api/droids/{droid_id}/active", body={"active": 1}) == {
        "id": droid_id,
        "active": 1,
    }
    assert (await api.ok("GET", "/api/droids"))["droids"][0]["active"] == 1

    # GET /api/droids/{id}: droid, sessions and bots as the controller records them.
    detail = await api.ok("GET", f"/api/droids/{droid_id}")
    assert set(detail) == {"droid", "sessions", "bots"}
    assert detail["droid"]["id"] == droid_id and detail["droid"]["active"] == 1
    assert detail["sessions"] == [] and detail["bots"] == []
    old = await db.fetchval(
        "INSERT INTO droid_sessions (droid_id, status, started_at, stopped_at, cycles)"
        " VALUES ($1, 'STOPPED', now() - interval '2 hours', now() - interval '1 hour', 7)"
        " RETURNING id",
        droid_id,
    )
    running = await db.fetchval(
        "INSERT INTO droid_sessions (droid_id, last_action, gas_spent_wei)"
        " VALUES ($1, 'mint', 123456789012345678901) RETURNING id",
        droid_id,
    )
    token_id = 2**70 + 171
    await db.execute(
        "INSERT INTO droid_bots (droid_id, session_id, token_id, tick_lower, tick_upper,"
        " liquidity, rung_index, status) VALUES ($1, $2, $3, -600, 600, $4, 0, 'ACTIVE'),"
        " ($1, $2, 5, 600, 1200, 0, 1, 'CLOSED')",
        droid_id,
        running,
        Decimal(token_id),
        Decimal(10**30 + 1),
    )
    detail = await api.ok("GET", f"/api/droids/{droid_id}")
    sessions, bots = detail["sessions"], detail["bots"]
    assert [s["id"] for s in sessions] == [running, old]
    assert sessions[0]["status"] == "RUNNING" and sessions[0]["stoppedAt"] is None
    assert ISO_MILLIS.match(sessions[0]["startedAt"]) and ISO_MILLIS.match(sessions[1]["stoppedAt"])
    assert sessions[0]["gasSpentWei"] == "123456789012345678901"
    assert sessions[0]["lastAction"] == "mint" and sessions[1]["cycles"] == 7
    assert [b["status"] for b in bots] == ["ACTIVE", "CLOSED"]
    assert bots[0]["positionId"] == hex(token_id) and bots[0]["tokenId"] == str(token_id)
    assert bots[0]["liquidity"] == str(10**30 + 1)
    assert (bots[0]["tickLower"], bots[0]["tickUpper"], bots[0]["rungIndex"]) == (-600, 600, 0)

    # PATCH config: the example's answer is the example's body and the id.
    answer = await api.ok("PATCH", f"/api/droids/{droid_id}/config", body=CONTRACT_CONFIG)
    assert answer["id"] == droid_id
    for name, value in CONTRACT_CONFIG.items():
        assert same(value, answer[name]), name
    row = await droid_row(db, droid_id)
    assert row["max_bots"] == 8 and row["max_price"] == Decimal("4500")
    assert row["rising_rebalance_trigger"] == Decimal("0.06") and row["tx_priority"] == 2
    assert row["funding_usd"] == Decimal(75000)
    # Fields left out are kept.
    assert row["trigger_type"] == "EMA" and row["gas_budget_limit"] == Decimal(100)

    # GET history: the example's fields, newest first.
    for stamp, aum, price in (
        ("2026-05-01T08:00:00Z", "50980.10", "3198.00"),
        ("2026-05-01T09:00:00Z", "51240.75", "3215.50"),
    ):
        await db.execute(
            "INSERT INTO droid_history (droid_id, taken_at, aum_usd, price, token0_positions,"
            " token1_positions, eth_wallet) VALUES ($1, $2::timestamptz, $3, $4, 8.42, 24112.30,"
            " 0.18)",
            droid_id,
            _ts(stamp),
            Decimal(aum),
            Decimal(price),
        )
    history = (await api.ok("GET", f"/api/droids/{droid_id}/history"))["history"]
    assert [h["timeStamp"] for h in history] == [
        "2026-05-01T09:00:00.000Z",
        "2026-05-01T08:00:00.000Z",
    ]
    assert history[0]["id"] > history[1]["id"]
    first = history[0]
    assert first["aum"] == Decimal("51240.75") and first["price"] == Decimal("3215.5")
    assert first["token0Positions"] == Decimal("8.42")
    assert first["token1Positions"] == Decimal("24112.3") and first["ethWallet"] == Decimal("0.18")


def _ts(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_create_defaults_and_accounts(api: DroidApi, db: asyncpg.Connection) -> None:
    pool_id = await api.pool_id("weth_usdc_3000")
    minimal = {"poolId": pool_id, "fundingUSD": "1000.5", "minPrice": 1000, "maxPrice": 5000}
    created = await api.ok("POST", "/api/droids", body=minimal, status=201)
    droid = (await api.ok("GET", f"/api/droids/{created['id']}"))["droid"]
    assert droid["fundingUSD"] == Decimal("1000.5")
    assert (droid["triggerType"], droid["fundingCurveType"], droid["txPriority"]) == (
        "EMA",
        "LINEAR",
        1,
    )
    assert (droid["tickBuckets"], droid["bucketOffset"], droid["maxBots"]) == (10, 0, 5)
    assert droid["gasBudgetLimit"] is None and droid["emaLength"] == 20
    # No wallet of her own: the dev chain's shared one.
    accounts = (await api.ok("GET", "/api/droids/accounts"))["accounts"]
    shared = next(a for a in accounts if a["shared"])
    assert droid["accountId"] == shared["id"]

    # With a wallet of her own, that one is the default; one named explicitly is used.
    own = await api.ok(
        "POST", "/api/droids/accounts", body={"label": "mine", "devchainIndex": 6}, status=201
    )
    second = await api.ok("POST", "/api/droids", body=minimal, status=201)
    assert (await droid_row(db, second["id"]))["wallet_id"] == own["id"]
    third = await api.ok(
        "POST", "/api/droids", body={**minimal, "accountId": shared["id"]}, status=201
    )
    assert (await droid_row(db, third["id"]))["wallet_id"] == shared["id"]
    # Bob may not trade from Alice's wallet.
    body = api_error(
        await api.call("POST", "/api/droids", api.bob, {**minimal, "accountId": own["id"]}), 404
    )
    assert body["field"] == "accountId"
    # An unknown pool, a chain that is not the pool's.
    api_error(await api.call("POST", "/api/droids", body={**minimal, "poolId": 999_999}), 404)
    body = api_error(
        await api.call("POST", "/api/droids", body={**minimal, "blockChain": "solana"}), 400
    )
    assert body["field"] == "blockChain"
    created = await api.ok("POST", "/api/droids", body={**minimal, "active": 1}, status=201)
    assert (await droid_row(db, created["id"]))["active"] == 1


BAD_CONFIGS: list[tuple[dict[str, Any], str]] = [
    ({"minPrice": 4000}, "minPrice"),  # equal to the stored maxPrice
    ({"minPrice": 5000}, "minPrice"),  # above it
    ({"maxPrice": 2500}, "minPrice"),
    ({"minPrice": 3000, "maxPrice": 2999.99}, "minPrice"),
    ({"minPrice": -1}, "minPrice"),
    ({"fallingRebalanceTrigger": 0}, "fallingRebalanceTrigger"),
    ({"fallingRebalanceTrigger": 1}, "fallingRebalanceTrigger"),
    ({"risingRebalanceTrigger": -0.1}, "risingRebalanceTrigger"),
    ({"risingRebalanceTrigger": 1.5}, "risingRebalanceTrigger"),
    ({"maxBots": 0}, "maxBots"),
    ({"maxBots": "5"}, "maxBots"),
    ({"maxBots": True}, "maxBots"),
    ({"maxBots": 2.5}, "maxBots"),
    ({"tickBuckets": 0}, "tickBuckets"),
    ({"bucketOffset": -1}, "bucketOffset"),
    ({"fundingCurveType": "CUBIC"}, "fundingCurveType"),
    ({"triggerType": "RSI"}, "triggerType"),
    ({"txPriority": 3}, "txPriority"),
    ({"maxGasPrice": 0}, "maxGasPrice"),
    ({"fundingUSD": 0}, "fundingUSD"),
    ({"fundingUSD": None}, "fundingUSD"),
    ({"fundingUSD": "lots"}, "fundingUSD"),
    ({"fundingUSD": "1e999999"}, "fundingUSD"),
    ({"ladderPercMargin": 1}, "ladderPercMargin"),
    ({"derivativeThreshold": -0.01}, "derivativeThreshold"),
    ({"gasBudgetLimit": 0}, "gasBudgetLimit"),
    ({"emaLength": 0}, "emaLength"),
    ({"active": 1}, "active"),  # not a configuration field
    ({"colour": "red"}, "colour"),
]


async def test_config_validation(api: DroidApi, db: asyncpg.Connection) -> None:
    droid_id = await api.create_droid()
    before = await droid_row(db, droid_id)
    path = f"/api/droids/{droid_id}/config"
    for change, field in BAD_CONFIGS:
        body = api_error(await api.call("PATCH", path, body=change), 400)
        assert body.get("field") == field, (change, body)
    for raw in ({}, [], "x"):
        api_error(await api.call("PATCH", path, body=raw), 400)
    assert await droid_row(db, droid_id) == before  # nothing was written

    # Both bounds moved together; gasBudgetLimit may be cleared; bucketOffset 0 is allowed.
    answer = await api.ok(
        "PATCH",
        path,
        body={"minPrice": 5000, "maxPrice": "6000.25", "gasBudgetLimit": None, "bucketOffset": 0},
    )
    assert answer["minPrice"] == 5000 and answer["maxPrice"] == Decimal("6000.25")
    assert answer["gasBudgetLimit"] is None
    assert set(CONTRACT_CONFIG) | {"id"} <= set(answer)

    # The same rules on creation.
    pool_id = await api.pool_id("weth_usdc_3000")
    for change, field in BAD_CONFIGS[:-2]:  # `active` is a field of a new droid
        response = await api.call(
            "POST", "/api/droids", body={**CONTRACT_DROID, "poolId": pool_id, **change}
        )
        assert api_error(response, 400)["field"] == field, change
    api_error(await api.call("POST", "/api/droids", body={"fundingUSD": 1}), 400)
    assert (await api.ok("GET", "/api/droids"))["droids"][0]["id"] == droid_id
    assert len((await api.ok("GET", "/api/droids"))["droids"]) == 1


async def test_active_role_rules(api: DroidApi, db: asyncpg.Connection) -> None:
    mine = await api.create_droid(api.alice)
    path = f"/api/droids/{mine}/active"
    for value in (1, 0, 1):
        assert await api.ok("PATCH", path, api.alice, {"active": value}) == {
            "id": mine,
            "active": value,
        }
    for value in (2, 3):
        body = api_error(await api.call("PATCH", path, api.alice, {"active": value}), 403)
        assert body["code"] == "FORBIDDEN"
        assert (await droid_row(db, mine))["active"] == 1  # unchanged
    for bad in ({"active": 4}, {"active": -1}, {"active": "1"}, {"active": True}, {}):
        api_error(await api.call("PATCH", path, api.alice, bad), 400)

    theirs = await api.create_droid(api.admin)
    path = f"/api/droids/{theirs}/active"
    for value in (2, 3, 0, 1):
        assert (await api.ok("PATCH", path, api.admin, {"active": value}))["active"] == value
        assert (await droid_row(db, theirs))["active"] == value


async def test_other_users_droid_is_404(api: DroidApi) -> None:
    alices = await api.create_droid(api.alice)
    await api.create_droid(api.bob)
    for user in (api.bob, api.admin):
        listed = (await api.ok("GET", "/api/droids", user))["droids"]
        assert alices not in [d["id"] for d in listed]
        for method, path, body in (
            ("GET", f"/api/droids/{alices}", None),
            ("GET", f"/api/droids/{alices}/history", None),
            ("PATCH", f"/api/droids/{alices}/active", {"active": 0}),
            ("PATCH", f"/api/droids/{alices}/config", {"maxBots": 2}),
        ):
            body_out = api_error(await api.call(method, path, user, body), 404)
            assert body_out["code"] == "NOT_FOUND"
    for path in ("/api/droids/999999", f"/api/droids/{2**63}", "/api/droids/0"):
        assert (await api.call("GET", path)).status_code in (400, 404)
    api_error(await api.call("GET", "/api/droids/999999"), 404)
    # Unauthenticated.
    assert (await api.http.get("/api/droids")).status_code == 401


@pytest.mark.parametrize("count", [5])
async def test_history_paging(api: DroidApi, db: asyncpg.Connection, count: int) -> None:
    droid_id = await api.create_droid()
    other = await api.create_droid()
    ids = []
    for i in range(count):
        ids.append(
            await db.fetchval(
                "INSERT INTO droid_history (droid_id, aum_usd, price) VALUES ($1, $2, 3000)"
                " RETURNING id",
                droid_id,
                Decimal(i),
            )
        )
    await db.execute(
        "INSERT INTO droid_history (droid_id, aum_usd, price) VALUES ($1, 1, 1)", other
    )
    path = f"/api/droids/{droid_id}/history"
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    pages = 0
    while True:
        page = await api.ok("GET", path, **params)
        pages += 1
        seen += [h["id"] for h in page["history"]]
        if page["nextBefore"] is None:
            break
        assert page["nextBefore"] == seen[-1]
        params["before"] = page["nextBefore"]
    assert seen == sorted(ids, reverse=True) and pages == 3
    whole = await api.ok("GET", path)
    assert [h["id"] for h in whole["history"]] == seen and whole["nextBefore"] is None
    exact = await api.ok("GET", path, limit=count)
    assert len(exact["history"]) == count and exact["nextBefore"] is None
    for bad in ({"limit": 0}, {"limit": 1001}, {"before": "x"}, {"before": 0}):
        api_error(await api.call("GET", path, **bad), 400)
