"""`/api/v1/decisions`: agents write decisions and outcomes; the contract's list (every filter,
limit, offset), detail, similar and stats; isolation and bad input."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.agents.helpers import decision_body, write_decision
from tests.workspace.helpers import User, api_error

LIST_FIELDS = {
    "id", "agent_name", "symbol", "decision_type", "decision", "confidence", "reasoning",
    "context", "prompt_tokens", "completion_tokens", "model", "outcome", "actual_pnl",
    "created_at",
}  # fmt: skip
DETAIL_FIELDS = LIST_FIELDS | {"prompt", "response", "prompt_embedding"}


async def _list(
    client: httpx.AsyncClient, headers: dict[str, str], **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v1/decisions", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["count"] == len(body["decisions"])
    return body


async def test_the_documented_decision_round_trip(
    client: httpx.AsyncClient, agent_token: dict[str, str], alice: User
) -> None:
    written = await write_decision(client, agent_token)
    assert written["outcome"] == "PENDING" and written["actual_pnl"] is None
    # claude-sonnet-4: 1250 prompt tokens at $3/M + 180 completion tokens at $15/M
    assert written["cost"] == pytest.approx(0.00645)
    assert written["latency_ms"] == 1250

    outcome = await client.patch(
        f"/api/v1/decisions/{written['id']}",
        json={"outcome": "SUCCESS", "actual_pnl": 250.50},
        headers=agent_token,
    )
    assert outcome.status_code == 200, outcome.text
    assert outcome.json()["decision"]["outcome"] == "SUCCESS"
    assert outcome.json()["decision"]["outcome_at"] is not None

    # "Get recent decisions": GET /api/v1/decisions?limit=10 (a person's session token works too)
    listed = await _list(client, alice.headers, limit=10)
    assert listed["count"] == 1 and listed["filter"] == {"limit": 10, "offset": 0}
    item = listed["decisions"][0]
    assert item.keys() >= LIST_FIELDS
    assert "prompt" not in item and "prompt_embedding" not in item
    expected = decision_body()
    assert item == item | {
        "agent_name": "trend-agent",
        "symbol": "BTC/USDT",
        "decision_type": "signal",
        "decision": "BUY",
        "confidence": 0.85,
        "reasoning": expected["reasoning"],
        "context": {"price": 42000.00, "rsi": 35.2, "macd": 120.5, "volume_24h": 1500000000},
        "prompt_tokens": 1250,
        "completion_tokens": 180,
        "model": "claude-sonnet-4",
        "outcome": "SUCCESS",
        "actual_pnl": 250.50,
    }
    assert item["created_at"].endswith("Z")

    detail = await client.get(f"/api/v1/decisions/{written['id']}", headers=alice.headers)
    assert detail.status_code == 200, detail.text
    full = detail.json()
    assert full.keys() >= DETAIL_FIELDS
    assert full["prompt"] == "Full LLM prompt text..."
    assert full["response"] == "Full LLM response text..."
    assert full["prompt_embedding"] is None
    assert len(full["context_embedding"]) == 256
    assert math.fsum(v * v for v in full["context_embedding"]) == pytest.approx(1, abs=1e-5)


async def test_both_spellings_of_the_body_are_accepted(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    body = decision_body()
    for short, long in (("agent", "agent_name"), ("type", "decision_type"),
                        ("latency", "latency_ms")):  # fmt: skip
        body[long] = body.pop(short)
    body.pop("tokens")
    body.update(prompt_tokens=1000, completion_tokens=2000, model="gpt-4-turbo-2024-04-09")
    response = await client.post("/api/v1/decisions", json=body, headers=agent_token)
    assert response.status_code == 201, response.text
    written = response.json()["decision"]
    assert (written["agent_name"], written["decision_type"]) == ("trend-agent", "signal")
    # priced as gpt-4-turbo (the longest entry the name starts with): $10/M and $30/M
    assert written["cost"] == pytest.approx(0.07)
    unknown = await write_decision(client, agent_token, model="home-made-llm")
    assert unknown["cost"] is None
    bare = {k: decision_body()[k] for k in ("agent", "symbol", "type", "decision")}
    minimal = await client.post("/api/v1/decisions", json=bare, headers=agent_token)
    assert minimal.status_code == 201, minimal.text
    assert minimal.json()["decision"]["context"] == {}
    assert minimal.json()["decision"]["cost"] is None


async def test_every_filter_combines_with_and(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    session = str(uuid.uuid4())
    a = await write_decision(client, agent_token)
    b = await write_decision(client, agent_token, symbol="ETH/USDT", session_id=session)
    c = await write_decision(client, agent_token, type="risk_approval", decision="APPROVE",
                             model="gpt-4-turbo")  # fmt: skip
    d = await write_decision(client, agent_token, agent="technical-agent", session_id=session)
    await client.patch(f"/api/v1/decisions/{c['id']}", json={"outcome": "FAILURE"},
                       headers=agent_token)  # fmt: skip

    def ids(body: dict[str, Any]) -> list[str]:
        return [x["id"] for x in body["decisions"]]

    everything = await _list(client, agent_token)
    assert ids(everything) == [d["id"], c["id"], b["id"], a["id"]]  # newest first
    assert ids(await _list(client, agent_token, symbol="ETH/USDT")) == [b["id"]]
    assert ids(await _list(client, agent_token, decision_type="risk_approval")) == [c["id"]]
    assert ids(await _list(client, agent_token, outcome="failure")) == [c["id"]]
    assert ids(await _list(client, agent_token, outcome="PENDING")) == [d["id"], b["id"], a["id"]]
    assert ids(await _list(client, agent_token, model="gpt-4-turbo")) == [c["id"]]
    assert ids(await _list(client, agent_token, agent="technical-agent")) == [d["id"]]
    assert ids(await _list(client, agent_token, session_id=session)) == [d["id"], b["id"]]
    both = await _list(client, agent_token, session_id=session, symbol="BTC/USDT")
    assert ids(both) == [d["id"]]
    assert both["filter"] == {"session_id": session, "symbol": "BTC/USDT", "limit": 50,
                              "offset": 0}  # fmt: skip

    # Dates: from is inclusive, to is inclusive.
    assert ids(await _list(client, agent_token, from_date=c["created_at"])) == [d["id"], c["id"]]
    assert ids(await _list(client, agent_token, to_date=b["created_at"])) == [b["id"], a["id"]]
    window = await _list(client, agent_token, from_date=b["created_at"], to_date=c["created_at"])
    assert ids(window) == [c["id"], b["id"]]
    assert window["filter"]["from_date"] == b["created_at"]

    page = await _list(client, agent_token, limit=2, offset=1)
    assert ids(page) == [c["id"], b["id"]] and page["filter"] == {"limit": 2, "offset": 1}
    assert ids(await _list(client, agent_token, limit=500, offset=4)) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "ten"}, "limit"),
        ({"outcome": "MAYBE"}, "outcome"),
        ({"from_date": "2025-01-15T00:00:00"}, "from_date"),  # no time zone
        ({"to_date": "yesterday"}, "to_date"),
        ({"to_date": "0.5"}, "to_date"),  # a number, not RFC 3339
        ({"session_id": "session-456"}, "session_id"),
    ],
)
async def test_bad_list_parameters_are_400_naming_the_field(
    client: httpx.AsyncClient, agent_token: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = await client.get("/api/v1/decisions", params=params, headers=agent_token)
    assert api_error(response, 400)["field"] == field


async def test_a_reversed_date_range_finds_nothing(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    params = {"from_date": "2025-02-01T00:00:00Z", "to_date": "2025-01-01T00:00:00Z"}
    response = await client.get("/api/v1/decisions", params=params, headers=agent_token)
    assert response.status_code == 200 and response.json()["count"] == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agent": ""}, "agent"),
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": True}, "confidence"),
        ({"context": [1, 2]}, "context"),
        ({"context": {"blob": "x" * 70_000}}, "context"),
        ({"context": {"huge": 10**30}}, "context"),
        ({"tokens": {"prompt": -1}}, "tokens.prompt"),
        ({"prompt_tokens": 5}, "prompt_tokens"),  # with tokens as well
        ({"latency": "slow"}, "latency"),  # named as sent
        ({"prompt_embedding": [0.1, 0.2]}, "prompt_embedding"),  # not 1536 numbers
        ({"prompt_embedding": [0.0] * 1536}, "prompt_embedding"),
        ({"session_id": "nope"}, "session_id"),
        ({"sentiment": "bullish"}, "sentiment"),
    ],
)
async def test_bad_decisions_are_400_naming_the_field(
    client: httpx.AsyncClient, agent_token: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v1/decisions", json=decision_body(**overrides), headers=agent_token
    )
    error = api_error(response, 400)
    assert error["field"] == field, error
    assert (await _list(client, agent_token))["count"] == 0


async def test_missing_fields_are_named(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    for missing in ("agent", "symbol", "type", "decision"):
        body = decision_body()
        body.pop(missing)
        error = api_error(
            await client.post("/api/v1/decisions", json=body, headers=agent_token), 400
        )
        assert error["field"] == missing, error


async def test_outcomes(client: httpx.AsyncClient, agent_token: dict[str, str]) -> None:
    written = await write_decision(client, agent_token)
    path = f"/api/v1/decisions/{written['id']}"
    pnl = await client.patch(path, json={"pnl": "-12.75"}, headers=agent_token)
    assert pnl.status_code == 200, pnl.text
    assert pnl.json()["decision"]["actual_pnl"] == -12.75
    assert pnl.json()["decision"]["outcome"] == "PENDING"
    both = await client.patch(path, json={"outcome": "failure", "actual_pnl": None},
                              headers=agent_token)  # fmt: skip
    assert both.json()["decision"]["outcome"] == "FAILURE"
    assert both.json()["decision"]["actual_pnl"] is None
    for body, field in (
        ({"outcome": "WIN"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"actual_pnl": "lots"}, "actual_pnl"),
        ({"confidence": 1}, "confidence"),
        ({}, None),
    ):
        error = api_error(await client.patch(path, json=body, headers=agent_token), 400)
        assert error.get("field") == field, (body, error)
    assert (await client.get(path, headers=agent_token)).json()["outcome"] == "FAILURE"


async def test_ids_and_isolation(
    client: httpx.AsyncClient, agent_token: dict[str, str], bob: User
) -> None:
    written = await write_decision(client, agent_token)
    base = f"/api/v1/decisions/{written['id']}"
    for request in (
        client.get(base, headers=bob.headers),
        client.get(f"{base}/similar", headers=bob.headers),
        client.patch(base, json={"outcome": "SUCCESS"}, headers=bob.headers),
    ):
        api_error(await request, 404, "DECISION_NOT_FOUND")
    assert (await _list(client, bob.headers))["count"] == 0
    stats = await client.get("/api/v1/decisions/stats", headers=bob.headers)
    assert stats.json()["total_decisions"] == 0
    unknown = f"/api/v1/decisions/{uuid.uuid4()}"
    api_error(await client.get(unknown, headers=agent_token), 404, "DECISION_NOT_FOUND")
    for path in ("/api/v1/decisions/dec-123", "/api/v1/decisions/dec-123/similar"):
        error = api_error(await client.get(path, headers=agent_token), 400, "INVALID_ID")
        assert error["error"] == "invalid decision ID"
    api_error(
        await client.patch("/api/v1/decisions/dec-123", json={"outcome": "SUCCESS"},
                           headers=agent_token), 400, "INVALID_ID",
    )  # fmt: skip


async def test_stats_add_up(
    client: httpx.AsyncClient, agent_token: dict[str, str], bob: User
) -> None:
    plan = [
        # (type, model, outcome, pnl, prompt, completion, latency, confidence)
        ("signal", "claude-sonnet-4", "SUCCESS", "100", 1000, 100, 1000, 0.9),
        ("signal", "claude-sonnet-4", "SUCCESS", "50.5", 2000, 200, 1500, 0.8),
        ("signal", "gpt-4-turbo", "FAILURE", "-30", 500, 50, 500, 0.6),
        ("risk_approval", "claude-sonnet-4", None, None, 100, 10, 2000, 0.7),
        ("risk_approval", None, None, None, None, None, None, None),
    ]
    costs = []
    for kind, model, outcome, pnl, prompt, completion, latency, confidence in plan:
        body: dict[str, Any] = {"type": kind, "model": model, "latency": latency,
                                "confidence": confidence, "tokens": None}  # fmt: skip
        if prompt is not None:
            body["tokens"] = {"prompt": prompt, "completion": completion}
        written = await write_decision(client, agent_token, **body)
        costs.append(written["cost"] or 0)
        if outcome is not None:
            patched = await client.patch(
                f"/api/v1/decisions/{written['id']}",
                json={"outcome": outcome, "pnl": pnl},
                headers=agent_token,
            )
            assert patched.status_code == 200
    await write_decision(client, bob.headers)  # not Alice's

    response = await client.get("/api/v1/decisions/stats", headers=agent_token)
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats.keys() == {
        "total_decisions", "by_outcome", "by_decision_type", "by_type", "avg_confidence",
        "success_rate", "avg_pnl", "by_model", "total_cost", "avg_latency_ms",
    }  # fmt: skip
    assert stats["total_decisions"] == 5
    assert stats["by_outcome"] == {"SUCCESS": 2, "FAILURE": 1, "PENDING": 2}
    assert sum(stats["by_outcome"].values()) == stats["total_decisions"]
    assert stats["by_decision_type"] == stats["by_type"] == {"signal": 3, "risk_approval": 2}
    assert sum(stats["by_type"].values()) == stats["total_decisions"]
    assert stats["by_model"] == {"claude-sonnet-4": 3, "gpt-4-turbo": 1}
    assert stats["success_rate"] == pytest.approx(2 / 3)  # SUCCESS / decisions with an outcome
    assert stats["avg_pnl"] == pytest.approx((100 + 50.5 - 30) / 3)
    assert stats["avg_confidence"] == pytest.approx((0.9 + 0.8 + 0.6 + 0.7) / 4)
    assert stats["avg_latency_ms"] == pytest.approx((1000 + 1500 + 500 + 2000) / 4)
    assert stats["total_cost"] == pytest.approx(math.fsum(costs))
    expected_cost = (
        Decimal(3000 * 3 + 300 * 15 + 100 * 3 + 10 * 15) + Decimal(500 * 10 + 50 * 30)
    ) / 1_000_000
    assert stats["total_cost"] == pytest.approx(float(expected_cost))

    signals = (await client.get("/api/v1/decisions/stats", params={"decision_type": "signal"},
                                headers=agent_token)).json()  # fmt: skip
    assert signals["total_decisions"] == 3 and signals["by_type"] == {"signal": 3}
    assert signals["by_outcome"] == {"SUCCESS": 2, "FAILURE": 1, "PENDING": 0}
    empty = (await client.get("/api/v1/decisions/stats", params={"symbol": "DOGE/USDT"},
                              headers=agent_token)).json()  # fmt: skip
    assert empty["total_decisions"] == 0 and empty["success_rate"] is None
    assert empty["total_cost"] == 0 and empty["by_type"] == {}
    bad = await client.get("/api/v1/decisions/stats", params={"from_date": "soon"},
                           headers=agent_token)  # fmt: skip
    assert api_error(bad, 400)["field"] == "from_date"
