"""`/api/v1/config`: the contract's sections and defaults, the documented PATCH, ranges, all or
nothing, per user, and shared by every API process (it lives in PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ordex.version import VERSION
from tests.platform.helpers import ClientFactory
from tests.workspace.helpers import User, api_error

DOCUMENTED_PATCH = {
    "trading_mode": "paper",
    "max_position_size": 0.15,
    "default_stop_loss": 0.03,
    "llm_temperature": 0.8,
}


async def _config(client: httpx.AsyncClient, user: User) -> dict[str, Any]:
    response = await client.get("/api/v1/config", headers=user.headers)
    assert response.status_code == 200, response.text
    config: dict[str, Any] = response.json()["config"]
    return config


async def test_defaults_have_the_documented_sections(
    client: httpx.AsyncClient, alice: User
) -> None:
    config = await _config(client, alice)
    assert config == {
        "app": {"name": "ordex", "version": VERSION, "environment": "development",
                "log_level": "info"},
        "trading": {"mode": "paper", "symbols": ["BTC/USDT", "ETH/USDT"], "exchange": "PAPER",
                    "initial_capital": 10000.0, "max_positions": 3, "default_quantity": 0.1},
        "risk": {"max_position_size": 0.2, "max_daily_loss": 0.05, "max_drawdown": 0.15,
                 "default_stop_loss": 0.02, "default_take_profit": 0.05,
                 "llm_approval_required": True, "min_confidence": 0.7},
        "llm": {"gateway": "anthropic", "primary_model": "claude-sonnet-4",
                "fallback_model": "gpt-4-turbo", "temperature": 0.7, "max_tokens": 2000,
                "enable_caching": True},
    }  # fmt: skip


async def test_the_documented_patches(
    client_factory: ClientFactory, client: httpx.AsyncClient, alice: User, bob: User
) -> None:
    response = await client.patch("/api/v1/config", json=DOCUMENTED_PATCH, headers=alice.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Configuration updated successfully"
    assert body["updates"] == DOCUMENTED_PATCH
    assert isinstance(body["note"], str)
    # The "Update configuration" example of the contract, on top of the first.
    example = {"max_position_size": 0.15, "default_stop_loss": 0.03,
               "default_take_profit": 0.06, "min_confidence": 0.75}  # fmt: skip
    second = await client.patch("/api/v1/config", json=example, headers=alice.headers)
    assert second.json()["updates"] == example

    config = await _config(client, alice)
    assert config["risk"] | example == config["risk"]
    assert config["llm"]["temperature"] == 0.8
    assert config["risk"]["max_daily_loss"] == 0.05  # untouched stays the default

    # Another API process (another app on the same database) answers the same; Bob has his own.
    async with client_factory(registration_mode="open") as other:
        assert await _config(other, alice) == config
        assert (await _config(other, bob))["risk"]["max_position_size"] == 0.2

    live = await client.patch(
        "/api/v1/config",
        json={"trading_mode": "LIVE", "initial_capital": "25000.50", "max_positions": 5,
              "llm_approval_required": False, "llm_max_tokens": 4000},
        headers=alice.headers,
    )  # fmt: skip
    assert live.status_code == 200, live.text
    assert live.json()["updates"]["trading_mode"] == "live"
    trading = (await _config(client, alice))["trading"]
    assert (trading["mode"], trading["exchange"], trading["initial_capital"]) == (
        "live", "LIVE", 25000.5,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"max_position_size": 1.5}, "max_position_size"),
        ({"max_position_size": 0}, "max_position_size"),
        ({"max_daily_loss": -0.1}, "max_daily_loss"),
        ({"max_drawdown": "lots"}, "max_drawdown"),
        ({"default_stop_loss": 1}, "default_stop_loss"),
        ({"default_take_profit": 11}, "default_take_profit"),
        ({"min_confidence": 1.01}, "min_confidence"),
        ({"llm_temperature": 2.5}, "llm_temperature"),
        ({"llm_max_tokens": 0}, "llm_max_tokens"),
        ({"llm_max_tokens": 1.5}, "llm_max_tokens"),
        ({"max_positions": 0}, "max_positions"),
        ({"initial_capital": 0}, "initial_capital"),
        ({"trading_mode": "yolo"}, "trading_mode"),
        ({"llm_approval_required": "yes"}, "llm_approval_required"),
        ({"max_position_size": True}, "max_position_size"),
        ({"min_confidence": None}, "min_confidence"),
        ({"log_level": "debug"}, "log_level"),  # not updatable
    ],
)
async def test_one_bad_field_changes_nothing(
    client: httpx.AsyncClient, alice: User, bad: dict[str, Any], field: str
) -> None:
    before = await _config(client, alice)
    # Good fields first and after: none of them may land.
    body = {"max_position_size": 0.1, "llm_temperature": 0.9, **bad, "min_confidence": 0.5}
    if field == "min_confidence":
        body["min_confidence"] = bad["min_confidence"]
    response = await client.patch("/api/v1/config", json=body, headers=alice.headers)
    error = api_error(response, 400, "VALIDATION_ERROR")
    assert error["field"] == field, error
    assert await _config(client, alice) == before


async def test_an_empty_patch_is_refused(client: httpx.AsyncClient, alice: User) -> None:
    for body in ({}, [], "paper"):
        api_error(await client.patch("/api/v1/config", json=body, headers=alice.headers), 400)
    api_error(await client.get("/api/v1/config"), 401)
