"""SQL for the decision journal: writes, filtered lists, stats and similarity search (pgvector).

Every query names the owner, so another user's decision is simply not found. Vectors travel
through pgvector's asyncpg codec (registered on every pooled connection, `db.pool`): lists of
floats in, `pgvector.Vector` out.

Similarity is cosine: `<=>` is pgvector's cosine distance and `similarity = 1 - distance`.
`ORDER BY vector <=> $1` is the form the HNSW index answers (approximately, nearest first);
the exact scan orders by the similarity expression instead, which no index can answer, so the
same rows are compared one by one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from pgvector import Vector

from ordex.db import jsonb
from ordex.db.types import Connection

_SUMMARY = (
    "id, agent_name, session_id, symbol, decision_type, decision, confidence, reasoning, "
    "context::text, model, prompt_tokens, completion_tokens, latency_ms, cost, outcome, "
    "actual_pnl, outcome_at, created_at"
)
_DETAIL = f"{_SUMMARY}, prompt, response, prompt_embedding, context_vector"
_SIMILAR = (
    "id, agent_name, symbol, decision_type, decision, confidence, outcome, actual_pnl, created_at"
)


@dataclass(frozen=True, slots=True)
class DecisionRow:
    id: uuid.UUID
    agent_name: str
    session_id: uuid.UUID | None
    symbol: str
    decision_type: str
    decision: str
    confidence: float | None
    reasoning: str | None
    context: dict[str, Any]
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    cost: Decimal | None
    outcome: str
    actual_pnl: Decimal | None
    outcome_at: datetime | None
    created_at: datetime
    # Only read for one decision's detail:
    prompt: str | None = None
    response: str | None = None
    prompt_embedding: list[float] | None = None
    context_vector: list[float] | None = None


@dataclass(frozen=True, slots=True)
class NewDecision:
    agent_name: str
    session_id: uuid.UUID | None
    symbol: str
    decision_type: str
    decision: str
    confidence: float | None
    reasoning: str | None
    context: dict[str, Any]
    context_vector: list[float] | None
    prompt: str | None
    response: str | None
    prompt_embedding: list[float] | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    cost: Decimal | None


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """Conditions that combine with AND; None means any."""

    symbol: str | None = None
    decision_type: str | None = None
    outcome: str | None = None
    model: str | None = None
    agent_name: str | None = None
    session_id: uuid.UUID | None = None
    from_date: datetime | None = None
    to_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class SimilarRow:
    id: uuid.UUID
    agent_name: str
    symbol: str
    decision_type: str
    decision: str
    confidence: float | None
    outcome: str
    actual_pnl: Decimal | None
    created_at: datetime
    similarity: float


@dataclass(frozen=True, slots=True)
class DecisionStats:
    total: int
    avg_confidence: float | None
    successes: int
    resolved: int  # decisions with an outcome: SUCCESS or FAILURE
    avg_pnl: Decimal | None
    total_cost: Decimal
    avg_latency_ms: float | None
    by_outcome: dict[str, int]
    by_type: dict[str, int]
    by_model: dict[str, int]


def _floats(value: Vector | None) -> list[float] | None:
    return None if value is None else value.to_list()


def _decision(record: asyncpg.Record, *, detail: bool = False) -> DecisionRow:
    extra: dict[str, Any] = {}
    if detail:
        extra = {
            "prompt": record["prompt"],
            "response": record["response"],
            "prompt_embedding": _floats(record["prompt_embedding"]),
            "context_vector": _floats(record["context_vector"]),
        }
    return DecisionRow(
        id=record["id"],
        agent_name=record["agent_name"],
        session_id=record["session_id"],
        symbol=record["symbol"],
        decision_type=record["decision_type"],
        decision=record["decision"],
        confidence=record["confidence"],
        reasoning=record["reasoning"],
        context=jsonb.decode(record["context"]),
        model=record["model"],
        prompt_tokens=record["prompt_tokens"],
        completion_tokens=record["completion_tokens"],
        latency_ms=record["latency_ms"],
        cost=record["cost"],
        outcome=record["outcome"],
        actual_pnl=record["actual_pnl"],
        outcome_at=record["outcome_at"],
        created_at=record["created_at"],
        **extra,
    )


def _end_of_millisecond(value: datetime) -> datetime:
    """The instant after the millisecond `value` falls in. Timestamps are shown to the
    millisecond, so a `to_date` copied from a decision's `created_at` must include it."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000) + timedelta(milliseconds=1)


def _where(user_id: uuid.UUID, f: DecisionFilter) -> tuple[str, list[Any]]:
    """`WHERE ...` for the user and the filter; the arguments start at $1."""
    conditions = ["user_id = $1"]
    args: list[Any] = [user_id]
    for column, op, value in (
        ("symbol", "=", f.symbol),
        ("decision_type", "=", f.decision_type),
        ("outcome", "=", f.outcome),
        ("model", "=", f.model),
        ("agent_name", "=", f.agent_name),
        ("session_id", "=", f.session_id),
        ("created_at", ">=", f.from_date),
        ("created_at", "<", None if f.to_date is None else _end_of_millisecond(f.to_date)),
    ):
        if value is not None:
            args.append(value)
            conditions.append(f"{column} {op} ${len(args)}")
    return "WHERE " + " AND ".join(conditions), args


async def insert_decision(conn: Connection, user_id: uuid.UUID, new: NewDecision) -> DecisionRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO decisions (user_id, agent_name, session_id, symbol, decision_type, decision,
                               confidence, reasoning, context, context_vector, prompt, response,
                               prompt_embedding, model, prompt_tokens, completion_tokens,
                               latency_ms, cost)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14, $15, $16,
                $17, $18)
        RETURNING {_DETAIL}
        """,
        user_id, new.agent_name, new.session_id, new.symbol, new.decision_type, new.decision,
        new.confidence, new.reasoning, jsonb.encode(new.context), new.context_vector, new.prompt,
        new.response, new.prompt_embedding, new.model, new.prompt_tokens, new.completion_tokens,
        new.latency_ms, new.cost,
    )  # fmt: skip
    assert record is not None
    return _decision(record, detail=True)


async def set_outcome(
    conn: Connection, user_id: uuid.UUID, decision_id: uuid.UUID, changes: dict[str, Any]
) -> DecisionRow | None:
    """Set `outcome` and/or `actual_pnl` (the keys present in `changes`); None when the user has
    no such decision."""
    assignments = [f"{column} = ${i}" for i, column in enumerate(changes, start=3)]
    if "outcome" in changes:
        assignments.append("outcome_at = clock_timestamp()")
    record = await conn.fetchrow(
        f"""
        UPDATE decisions SET {", ".join(assignments)}, updated_at = clock_timestamp()
        WHERE id = $1 AND user_id = $2
        RETURNING {_DETAIL}
        """,
        decision_id, user_id, *changes.values(),
    )  # fmt: skip
    return None if record is None else _decision(record, detail=True)


async def get_decision(
    conn: Connection, user_id: uuid.UUID, decision_id: uuid.UUID
) -> DecisionRow | None:
    record = await conn.fetchrow(
        f"SELECT {_DETAIL} FROM decisions WHERE id = $1 AND user_id = $2", decision_id, user_id
    )
    return None if record is None else _decision(record, detail=True)


async def list_decisions(
    conn: Connection, user_id: uuid.UUID, f: DecisionFilter, *, limit: int, offset: int
) -> list[DecisionRow]:
    """Newest first."""
    where, args = _where(user_id, f)
    n = len(args)
    records = await conn.fetch(
        f"SELECT {_SUMMARY} FROM decisions {where} "
        f"ORDER BY created_at DESC, id DESC LIMIT ${n + 1} OFFSET ${n + 2}",
        *args, limit, offset,
    )  # fmt: skip
    return [_decision(r) for r in records]


async def stats(conn: Connection, user_id: uuid.UUID, f: DecisionFilter) -> DecisionStats:
    """Totals and the counts by outcome, type and model, in one scan (grouping sets)."""
    where, args = _where(user_id, f)
    records = await conn.fetch(
        f"""
        SELECT GROUPING(outcome, decision_type, model) AS grouping_bits,
               outcome, decision_type, model, count(*) AS n,
               avg(confidence) AS avg_confidence,
               count(*) FILTER (WHERE outcome = 'SUCCESS') AS successes,
               count(*) FILTER (WHERE outcome IN ('SUCCESS', 'FAILURE')) AS resolved,
               avg(actual_pnl) AS avg_pnl,
               coalesce(sum(cost), 0) AS total_cost,
               avg(latency_ms)::double precision AS avg_latency_ms
        FROM decisions {where}
        GROUP BY GROUPING SETS ((), (outcome), (decision_type), (model))
        """,
        *args,
    )
    # GROUPING() has a bit per column, set when the column is not grouped in that row:
    # 0b011 grouped by outcome only, 0b101 by type only, 0b110 by model only, 0b111 the total.
    total = next(r for r in records if r["grouping_bits"] == 0b111)
    by: dict[int, dict[str, int]] = {0b011: {}, 0b101: {}, 0b110: {}}
    keys = {0b011: "outcome", 0b101: "decision_type", 0b110: "model"}
    for r in records:
        bits = r["grouping_bits"]
        if bits in by and r[keys[bits]] is not None:  # decisions without a model: no entry
            by[bits][r[keys[bits]]] = r["n"]
    return DecisionStats(
        total=total["n"],
        avg_confidence=total["avg_confidence"],
        successes=total["successes"],
        resolved=total["resolved"],
        avg_pnl=total["avg_pnl"],
        total_cost=total["total_cost"],
        avg_latency_ms=total["avg_latency_ms"],
        by_outcome=by[0b011],
        by_type=by[0b101],
        by_model=by[0b110],
    )


def _similar(record: asyncpg.Record) -> SimilarRow:
    return SimilarRow(
        id=record["id"],
        agent_name=record["agent_name"],
        symbol=record["symbol"],
        decision_type=record["decision_type"],
        decision=record["decision"],
        confidence=record["confidence"],
        outcome=record["outcome"],
        actual_pnl=record["actual_pnl"],
        created_at=record["created_at"],
        similarity=record["similarity"],
    )


def similar_sql(column: str, condition: str, *, exact: bool) -> str:
    """The similarity query over `column` (a vector expression) against $1, for the user $2,
    without the decision $3, at most $4 rows, nearest first. Rows must satisfy `condition`."""
    distance = f"({column} <=> $1)"
    order = "similarity DESC, id" if exact else distance
    return f"""
        SELECT {_SIMILAR}, 1 - {distance} AS similarity
        FROM decisions
        WHERE user_id = $2 AND id <> $3 AND {condition}
        ORDER BY {order}
        LIMIT $4
    """


async def similar_by_context(
    conn: Connection,
    user_id: uuid.UUID,
    decision_id: uuid.UUID,
    vector: list[float] | Vector,
    *,
    limit: int,
    exact: bool,
    ef_search: int,
) -> list[SimilarRow]:
    sql = similar_sql("context_vector", "context_vector IS NOT NULL", exact=exact)
    return await _search(conn, sql, (vector, user_id, decision_id, limit), exact, ef_search)


async def similar_by_prompt(
    conn: Connection,
    user_id: uuid.UUID,
    decision_id: uuid.UUID,
    embedding: list[float] | Vector,
    *,
    limit: int,
    exact: bool,
    ef_search: int,
) -> list[SimilarRow]:
    """Among embeddings of the same length only. The length is written into the SQL (an
    integer, never input text) because an expression index matches only a literal one: the
    migration's index serves the default length."""
    dims = int(len(embedding.to_list()) if isinstance(embedding, Vector) else len(embedding))
    column = f"prompt_embedding::vector({dims})"
    sql = similar_sql(column, f"vector_dims(prompt_embedding) = {dims}", exact=exact)
    return await _search(conn, sql, (embedding, user_id, decision_id, limit), exact, ef_search)


async def _search(
    conn: Connection, sql: str, args: tuple[Any, ...], exact: bool, ef_search: int
) -> list[SimilarRow]:
    if exact:
        return [_similar(r) for r in await conn.fetch(sql, *args)]
    # ef_search for this transaction only: the pooled connection goes back as it came.
    async with conn.transaction(readonly=True):
        await conn.execute("SELECT set_config('hnsw.ef_search', $1, true)", str(ef_search))
        records = await conn.fetch(sql, *args)
    return [_similar(r) for r in records]


async def explain_similar(conn: Connection, sql: str, *args: Any) -> str:
    """The plan of a similarity query (the benchmark checks which one used the index)."""
    rows = await conn.fetch(f"EXPLAIN {sql}", *args)
    return "\n".join(r[0] for r in rows)
