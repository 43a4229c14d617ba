"""The `/api/droids` route tests' app: the real API on a real database, Redis and the dev chain,
with an ADMIN and two OPERATORs signed in."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from ordex.api.app import create_app
from ordex.config import Settings
from ordex.devchain import DevChain
from tests.workspace.helpers import User, sign_up

# The contract's POST /api/droids example body.
CONTRACT_DROID: dict[str, Any] = {
    "poolId": 42,
    "fundingUSD": 50000,
    "triggerType": "EMA",
    "tickBuckets": 10,
    "bucketOffset": 0,
    "fundingCurveType": "LINEAR",
    "maxBots": 5,
    "maxPrice": 4000.00,
    "minPrice": 2500.00,
    "gasBudgetLimit": 100,
    "maxGasPrice": 50,
    "txPriority": 1,
    "derivativeThreshold": 0.01,
    "ladderPercMargin": 0.02,
    "fallingRebalanceTrigger": 0.03,
    "risingRebalanceTrigger": 0.05,
}
# The contract's PATCH /api/droids/{id}/config example body.
CONTRACT_CONFIG: dict[str, Any] = {
    "fallingRebalanceTrigger": 0.03,
    "risingRebalanceTrigger": 0.06,
    "maxBots": 8,
    "maxPrice": 4500.00,
    "minPrice": 2000.00,
    "maxGasPrice": 60,
    "txPriority": 2,
    "fundingUSD": 75000,
    "derivativeThreshold": 0.01,
    "ladderPercMargin": 0.02,
}


@dataclass
class DroidApi:
    http: httpx.AsyncClient
    app: FastAPI
    chain: DevChain
    admin: User
    alice: User  # OPERATOR
    bob: User  # OPERATOR

    async def call(
        self, method: str, path: str, user: User | None = None, body: Any = None, **params: Any
    ) -> httpx.Response:
        return await self.http.request(
            method,
            path,
            headers=(user or self.alice).headers,
            json=body,
            params=params or None,
        )

    async def ok(
        self,
        method: str,
        path: str,
        user: User | None = None,
        body: Any = None,
        status: int = 200,
        **params: Any,
    ) -> Any:
        response = await self.call(method, path, user, body, **params)
        assert response.status_code == status, response.text
        return exact_json(response)

    async def pool_id(self, key: str) -> int:
        """The id of a dev chain pool (registered at start) by its dev chain key."""
        address = self.chain.pools[key].address.lower()
        pools = (await self.ok("GET", "/api/droids/pools"))["pools"]
        return next(p["id"] for p in pools if p["poolAddress"] == address)

    async def create_droid(self, user: User | None = None, **fields: Any) -> int:
        if "poolId" not in fields:
            fields["poolId"] = await self.pool_id("weth_usdc_3000")
        body = {**CONTRACT_DROID, **fields}
        created = await self.ok("POST", "/api/droids", user, body, status=201)
        assert set(created) == {"id"}
        droid_id: int = created["id"]
        return droid_id


def exact_json(response: httpx.Response) -> Any:
    """The body with fractions as Decimal, to compare numbers exactly as written."""
    return json.loads(response.content, parse_float=Decimal)


def api_settings(settings: Settings, chain: DevChain | None) -> Settings:
    return settings.model_copy(
        update={"registration_mode": "open", "eth_rpc_url": None if chain is None else chain.url}
    )


@pytest.fixture
async def api(settings: Settings, devchain: DevChain) -> AsyncIterator[DroidApi]:
    app = create_app(api_settings(settings, devchain))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            admin = await sign_up(http, "admin@example.com")
            alice = await sign_up(http, "alice@example.com")
            bob = await sign_up(http, "bob@example.com")
            yield DroidApi(http, app, devchain, admin, alice, bob)


async def droid_row(db: asyncpg.Connection, droid_id: int) -> dict[str, Any]:
    record = await db.fetchrow("SELECT * FROM droids WHERE id = $1", droid_id)
    assert record is not None
    return dict(record)
