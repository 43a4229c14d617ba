"""The decision journal: what agents decided, why, at what cost, and how it turned out.

Agents write decisions (`record_decision`) and later set their outcome and actual PnL
(`set_outcome`). `cost` is the decision's tokens priced by the per-model table of
`AutomationSettings` (USD per million prompt / completion tokens); a model the table does not
know has no cost.

Similar decisions (pgvector, cosine): every decision gets a fixed-length context vector computed
here from the numeric leaves of its context by feature hashing of their key paths, so any context
dict works without a schema, and `similarity = 1 - cosine distance`. An agent may also send its
own `prompt_embedding` (ORDEX_PROMPT_EMBEDDING_DIMENSIONS long) and search by it (`by=prompt`).
Searches go through the HNSW index unless `exact` is asked for; when the index answers fewer rows
than asked (its candidates were other users' decisions, filtered out afterwards), the exact scan
of the user's own decisions answers instead.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from ordex.db import decisions as decisions_repo
from ordex.db.decisions import DecisionFilter, DecisionRow, NewDecision, SimilarRow
from ordex.db.types import Connection
from ordex.services.automation_config import AutomationSettings
from ordex.services.errors import ServiceError
from ordex.timestamps import iso_millis

# The length of the context vector (the migration's `vector(256)`). Contexts carry tens of
# numbers, four coordinates each: few of them share a coordinate.
CONTEXT_DIMENSIONS = 256
OUTCOMES = ("SUCCESS", "FAILURE", "PENDING")
MAX_LIST_LIMIT = 500
MAX_SIMILAR_LIMIT = 50
_MILLION = Decimal(1_000_000)
# Numbers written as text (`"42000.50"`): the exchange contract's way of writing them.
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

SimilarBy = Literal["context", "prompt"]


def decision_not_found() -> ServiceError:
    return ServiceError(404, "DECISION_NOT_FOUND", "decision not found")


# --- the context vector -------------------------------------------------------------------------


def numeric_leaves(context: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """(key path, value) of every finite number in the context: `indicators.rsi`, `closes[2]`.
    Booleans are not numbers here; numeric strings are."""
    pending: list[tuple[str, Any]] = [(prefix, context)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            pending.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
        elif _is_number(value):
            try:
                number = float(value)
            except OverflowError:  # an integer beyond any float
                continue
            if math.isfinite(number):
                yield path, number


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (
        isinstance(value, str) and _DECIMAL_TEXT.match(value.strip()) is not None
    )


# Each number is written as a phase, asinh(value) radians (logarithmic for large values, linear
# near zero, continuous through the sign), at two frequencies: the fine one tells 42,000 from
# 45,000; the coarse one tells apart values the fine one would confuse because their phases
# differ by a whole turn (a ratio of e^(2 pi), about 535).
_FREQUENCIES = (1.0, 0.25)


def _bucket(feature: str) -> tuple[int, float]:
    """The feature's coordinate and sign: BLAKE2b, stable across processes and versions (unlike
    `hash()`); the sign makes colliding features cancel out on average rather than add up."""
    digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
    return digest % CONTEXT_DIMENSIONS, -1.0 if digest >> 63 else 1.0


def context_vector(context: dict[str, Any]) -> list[float] | None:
    """The context's feature-hashed vector of CONTEXT_DIMENSIONS, of unit length; None when the
    context has no number (it cannot be compared with anything).

    Every numeric leaf adds the cosine and sine of its phase at each frequency to coordinates
    hashed from its key path. So each leaf weighs the same whatever its scale (a price in the tens
    of thousands does not drown an RSI, as it would if the values themselves were hashed in), and
    for two contexts with the same keys the cosine similarity is, collisions aside, the mean over
    their leaves and frequencies of cos(difference of phases): 1 for equal numbers, falling as
    they move apart relative to their size."""
    vector = [0.0] * CONTEXT_DIMENSIONS
    for path, value in numeric_leaves(context):
        phase = math.asinh(value)
        for frequency in _FREQUENCIES:
            angle = frequency * phase
            for part, amount in (("cos", math.cos(angle)), ("sin", math.sin(angle))):
                index, sign = _bucket(f"{path}\x00{frequency}\x00{part}")
                vector[index] += sign * amount
    norm = math.sqrt(math.fsum(v * v for v in vector))
    if norm == 0.0:
        return None
    return [v / norm for v in vector]


# --- cost ---------------------------------------------------------------------------------------


def decision_cost(
    settings: AutomationSettings,
    model: str | None,
    prompt_tokens: int | None,
    completion_tokens: int | None,
) -> Decimal | None:
    """USD: prompt and completion tokens at the model's prices; None for an unknown model or a
    decision without token counts."""
    price = settings.price_of(model)
    if price is None or (prompt_tokens is None and completion_tokens is None):
        return None
    spent = (prompt_tokens or 0) * price.prompt + (completion_tokens or 0) * price.completion
    return spent / _MILLION


# --- JSON shapes --------------------------------------------------------------------------------


def _num(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def decision_json(row: DecisionRow) -> dict[str, Any]:
    """A decision as the contract's list shows it, plus session, latency, cost, outcome time."""
    return {
        "id": str(row.id),
        "agent_name": row.agent_name,
        "session_id": None if row.session_id is None else str(row.session_id),
        "symbol": row.symbol,
        "decision_type": row.decision_type,
        "decision": row.decision,
        "confidence": row.confidence,
        "reasoning": row.reasoning,
        "context": row.context,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "model": row.model,
        "latency_ms": row.latency_ms,
        "cost": _num(row.cost),
        "outcome": row.outcome,
        "actual_pnl": _num(row.actual_pnl),
        "outcome_at": None if row.outcome_at is None else iso_millis(row.outcome_at),
        "created_at": iso_millis(row.created_at),
    }


def decision_detail_json(row: DecisionRow) -> dict[str, Any]:
    """Everything: the list's fields, the full prompt and response, the agent's prompt embedding
    and the context vector ordex computed."""
    return {
        **decision_json(row),
        "prompt": row.prompt,
        "response": row.response,
        "prompt_embedding": row.prompt_embedding,
        "context_embedding": row.context_vector,
    }


def similar_json(row: SimilarRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "agent_name": row.agent_name,
        "symbol": row.symbol,
        "decision_type": row.decision_type,
        "decision": row.decision,
        "confidence": row.confidence,
        "outcome": row.outcome,
        "actual_pnl": _num(row.actual_pnl),
        "similarity": row.similarity,
        "created_at": iso_millis(row.created_at),
    }


# --- writes -------------------------------------------------------------------------------------


async def record_decision(
    conn: Connection,
    settings: AutomationSettings,
    user_id: uuid.UUID,
    *,
    agent_name: str,
    symbol: str,
    decision_type: str,
    decision: str,
    context: dict[str, Any],
    confidence: float | None = None,
    reasoning: str | None = None,
    prompt: str | None = None,
    response: str | None = None,
    model: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    latency_ms: int | None = None,
    prompt_embedding: list[float] | None = None,
    session_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Write one decision (outcome PENDING) with its context vector and cost."""
    dims = settings.ordex_prompt_embedding_dimensions
    if prompt_embedding is not None:
        if len(prompt_embedding) != dims:
            raise ServiceError(
                400, "VALIDATION_ERROR",
                f"prompt_embedding must have {dims} numbers, not {len(prompt_embedding)}",
                field="prompt_embedding",
            )  # fmt: skip
        if not any(prompt_embedding):
            raise ServiceError(
                400, "VALIDATION_ERROR",
                "prompt_embedding must not be all zeros (it has no direction to compare)",
                field="prompt_embedding",
            )  # fmt: skip
    row = await decisions_repo.insert_decision(
        conn,
        user_id,
        NewDecision(
            agent_name=agent_name,
            session_id=session_id,
            symbol=symbol,
            decision_type=decision_type,
            decision=decision,
            confidence=confidence,
            reasoning=reasoning,
            context=context,
            context_vector=context_vector(context),
            prompt=prompt,
            response=response,
            prompt_embedding=prompt_embedding,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=latency_ms,
            cost=decision_cost(settings, model, prompt_tokens, completion_tokens),
        ),
    )
    return decision_detail_json(row)


async def set_outcome(
    conn: Connection, user_id: uuid.UUID, decision_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Set the outcome (SUCCESS, FAILURE or back to PENDING) and/or the actual PnL."""
    unknown = set(changes) - {"outcome", "actual_pnl"}
    if unknown or not changes:
        raise ServiceError(400, "VALIDATION_ERROR", "outcome or actual_pnl expected")
    if "outcome" in changes and changes["outcome"] not in OUTCOMES:
        raise ServiceError(400, "VALIDATION_ERROR", "invalid outcome", field="outcome")
    row = await decisions_repo.set_outcome(conn, user_id, decision_id, changes)
    if row is None:
        raise decision_not_found()
    return decision_detail_json(row)


# --- reads --------------------------------------------------------------------------------------


async def get_decision(
    conn: Connection, user_id: uuid.UUID, decision_id: uuid.UUID
) -> dict[str, Any]:
    row = await decisions_repo.get_decision(conn, user_id, decision_id)
    if row is None:
        raise decision_not_found()
    return decision_detail_json(row)


async def list_decisions(
    conn: Connection, user_id: uuid.UUID, f: DecisionFilter, *, limit: int, offset: int
) -> list[dict[str, Any]]:
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise ServiceError(400, "VALIDATION_ERROR", "limit must be 1 to 500", field="limit")
    rows = await decisions_repo.list_decisions(conn, user_id, f, limit=limit, offset=offset)
    return [decision_json(row) for row in rows]


def filter_json(f: DecisionFilter) -> dict[str, Any]:
    """The filters that were given, as the list echoes them."""
    echoed: dict[str, Any] = {}
    for key, value in asdict(f).items():
        if value is not None:
            echoed[key] = iso_millis(value) if isinstance(value, datetime) else str(value)
    return echoed


async def stats(conn: Connection, user_id: uuid.UUID, f: DecisionFilter) -> dict[str, Any]:
    """Every documented field; counts by outcome, by type (in both spellings) and by model."""
    s = await decisions_repo.stats(conn, user_id, f)
    return {
        "total_decisions": s.total,
        "by_outcome": {outcome: s.by_outcome.get(outcome, 0) for outcome in OUTCOMES},
        "by_decision_type": s.by_type,
        "by_type": s.by_type,
        "avg_confidence": s.avg_confidence,
        "success_rate": s.successes / s.resolved if s.resolved else None,
        "avg_pnl": _num(s.avg_pnl),
        "by_model": s.by_model,
        "total_cost": float(s.total_cost),
        "avg_latency_ms": s.avg_latency_ms,
    }


async def similar(
    conn: Connection,
    settings: AutomationSettings,
    user_id: uuid.UUID,
    decision_id: uuid.UUID,
    *,
    limit: int = 10,
    by: SimilarBy = "context",
    exact: bool = False,
) -> list[dict[str, Any]]:
    """The user's decisions nearest to this one, most similar first. A decision without numbers
    in its context (or, by prompt, without an embedding) has nothing to compare: []."""
    if not 1 <= limit <= MAX_SIMILAR_LIMIT:
        raise ServiceError(400, "VALIDATION_ERROR", "limit must be 1 to 50", field="limit")
    reference = await decisions_repo.get_decision(conn, user_id, decision_id)
    if reference is None:
        raise decision_not_found()
    vector = reference.context_vector if by == "context" else reference.prompt_embedding
    if vector is None:
        return []
    search = (
        decisions_repo.similar_by_context if by == "context" else decisions_repo.similar_by_prompt
    )
    ef_search = max(settings.ordex_decisions_ef_search, limit)
    rows = await search(
        conn, user_id, decision_id, vector, limit=limit, exact=exact, ef_search=ef_search
    )
    if len(rows) < limit and not exact:
        rows = await search(
            conn, user_id, decision_id, vector, limit=limit, exact=True, ef_search=ef_search
        )
    # The index ranks by its own float32 arithmetic (an inner product of normalised vectors),
    # which can swap two neighbours whose similarities differ in the 7th digit: order by the
    # similarity as returned.
    rows.sort(key=lambda row: row.similarity, reverse=True)
    return [similar_json(row) for row in rows]
