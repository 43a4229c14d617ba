"""`/api/v1/decisions/{id}/similar`: nearest contexts first with falling similarity, through the
HNSW index or an exact scan (same answer on a small journal), by ordex's context vector or the
agents' prompt embeddings; and the context vector itself (feature hashing of key paths)."""

from __future__ import annotations

import math
import random
from typing import Any

import httpx
import pytest

from ordex.services.decisions import CONTEXT_DIMENSIONS, context_vector
from tests.agents.helpers import write_decision
from tests.workspace.helpers import User, api_error

REFERENCE = {"price": 42000.0, "rsi": 30.0, "macd": 100.0, "indicators": {"ema_50": 41000.0}}
# From nearest to farthest, by how far the numbers moved.
NEIGHBOURS = [
    {"price": 42050.0, "rsi": 31.0, "macd": 101.0, "indicators": {"ema_50": 41010.0}},
    {"price": 42500.0, "rsi": 36.0, "macd": 90.0, "indicators": {"ema_50": 41200.0}},
    {"price": 45000.0, "rsi": 55.0, "macd": 20.0, "indicators": {"ema_50": 43000.0}},
    {"price": 30000.0, "rsi": 80.0, "macd": -150.0, "indicators": {"ema_50": 35000.0}},
]


def _cosine(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def test_context_vector_is_a_stable_unit_vector_of_the_numbers() -> None:
    vector = context_vector(REFERENCE)
    assert vector is not None and len(vector) == CONTEXT_DIMENSIONS
    assert math.fsum(v * v for v in vector) == pytest.approx(1.0)
    # Key order, numbers written as text and non-numbers change nothing.
    same = context_vector({"indicators": {"ema_50": "41000"}, "macd": 100, "rsi": 30.0,
                           "price": "42000.0", "trend": "up", "confirmed": True})  # fmt: skip
    assert same == pytest.approx(vector)
    # The key path matters, not only the value: the same number elsewhere is another feature.
    moved = context_vector({**REFERENCE, "indicators": {}, "ema_50": 41000.0})
    assert moved is not None and _cosine(vector, moved) < 0.999
    assert context_vector({}) is None
    assert context_vector({"note": "no numbers", "flag": False, "nan": float("nan")}) is None


async def test_similar_decisions_come_nearest_first(
    client: httpx.AsyncClient, agent_token: dict[str, str], bob: User
) -> None:
    reference = await write_decision(client, agent_token, context=REFERENCE)
    written = []
    for i, context in enumerate(reversed(NEIGHBOURS)):  # written farthest first
        written.append(await write_decision(client, agent_token, context=context,
                                            decision="BUY" if i % 2 else "SELL"))  # fmt: skip
    await write_decision(client, agent_token, context={"comment": "no numbers"})
    await write_decision(client, bob.headers, context=REFERENCE)  # Bob's twin: never Alice's
    nearest_first = list(reversed(written))

    response = await client.get(
        f"/api/v1/decisions/{reference['id']}/similar", params={"limit": 5}, headers=agent_token
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision_id"] == reference["id"]
    assert body["count"] == len(body["similar"]) == 4
    assert [s["id"] for s in body["similar"]] == [w["id"] for w in nearest_first]
    similarities = [s["similarity"] for s in body["similar"]]
    assert similarities == sorted(similarities, reverse=True)
    assert len(set(similarities)) == 4 and all(-1 <= s <= 1 for s in similarities)
    item = body["similar"][0]
    assert {"id", "symbol", "decision", "confidence", "outcome", "similarity", "created_at"} <= (
        item.keys()
    )
    # similarity = 1 - cosine distance of the stored vectors (float32 in pgvector)
    ref_vector = context_vector(REFERENCE)
    assert ref_vector is not None
    for found, context in zip(body["similar"], NEIGHBOURS, strict=True):
        vector = context_vector(context)
        assert vector is not None
        assert found["similarity"] == pytest.approx(_cosine(ref_vector, vector), abs=1e-5)

    exact = await client.get(
        f"/api/v1/decisions/{reference['id']}/similar",
        params={"limit": 5, "exact": "true"}, headers=agent_token,
    )  # fmt: skip
    assert [s["id"] for s in exact.json()["similar"]] == [s["id"] for s in body["similar"]]
    assert [s["similarity"] for s in exact.json()["similar"]] == pytest.approx(similarities)

    top2 = await client.get(f"/api/v1/decisions/{reference['id']}/similar?limit=2",
                            headers=agent_token)  # fmt: skip
    assert [s["id"] for s in top2.json()["similar"]] == [w["id"] for w in nearest_first[:2]]
    default = await client.get(f"/api/v1/decisions/{reference['id']}/similar",
                               headers=agent_token)  # fmt: skip
    assert default.json()["count"] == 4  # default limit 10


async def test_a_context_without_numbers_has_no_neighbours(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    await write_decision(client, agent_token, context=REFERENCE)
    lonely = await write_decision(client, agent_token, context={"comment": "no numbers"})
    response = await client.get(f"/api/v1/decisions/{lonely['id']}/similar", headers=agent_token)
    assert response.json() == {"decision_id": lonely["id"], "similar": [], "count": 0}


def _embedding(base: list[float], noise: float, rng: random.Random) -> list[float]:
    return [b + rng.gauss(0, noise) for b in base]


async def test_similar_by_prompt_embedding(
    client: httpx.AsyncClient, agent_token: dict[str, str]
) -> None:
    rng = random.Random(7)
    base = [rng.gauss(0, 1) for _ in range(1536)]
    reference = await write_decision(client, agent_token, prompt_embedding=base,
                                     context=REFERENCE)  # fmt: skip
    noises = [0.1, 0.5, 1.0, 3.0]
    written = [
        await write_decision(client, agent_token, prompt_embedding=_embedding(base, n, rng))
        for n in reversed(noises)
    ]
    await write_decision(client, agent_token)  # no embedding: not a candidate
    detail = (await client.get(f"/api/v1/decisions/{reference['id']}", headers=agent_token)).json()
    assert detail["prompt_embedding"] == pytest.approx(base, rel=1e-6)

    path = f"/api/v1/decisions/{reference['id']}/similar"
    for params in ({"by": "prompt"}, {"by": "prompt", "exact": "true"}):
        body = (await client.get(path, params=params, headers=agent_token)).json()
        assert [s["id"] for s in body["similar"]] == [w["id"] for w in reversed(written)]
        similarities = [s["similarity"] for s in body["similar"]]
        assert similarities == sorted(similarities, reverse=True) and similarities[0] > 0.99

    plain = await write_decision(client, agent_token)
    nothing = await client.get(f"/api/v1/decisions/{plain['id']}/similar?by=prompt",
                               headers=agent_token)  # fmt: skip
    assert nothing.json()["similar"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 51}, "limit"), ({"limit": 0}, "limit"), ({"by": "vibes"}, "by"),
     ({"exact": "perhaps"}, "exact")],
)  # fmt: skip
async def test_bad_similar_parameters(
    client: httpx.AsyncClient, agent_token: dict[str, str], params: dict[str, Any], field: str
) -> None:
    reference = await write_decision(client, agent_token)
    response = await client.get(
        f"/api/v1/decisions/{reference['id']}/similar", params=params, headers=agent_token
    )
    assert api_error(response, 400)["field"] == field
