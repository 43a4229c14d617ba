"""`/api/v1/decisions`: the caller's decision journal. Agents write decisions and set their
outcomes; people list them (every filter combines with AND), read one whole, find similar ones
(pgvector) and read the stats. A decision id that is not a UUID is a 400 (the contract's
"Invalid decision ID"); another user's decision is a 404 like one that does not exist."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BeforeValidator

from ordex.api.automation_deps import AutomationSettingsDep
from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas import API_ERRORS
from ordex.api.schemas_decisions import (
    DECISION_ERRORS,
    DecisionCreate,
    DecisionDetailOut,
    DecisionList,
    DecisionStatsOut,
    DecisionWritten,
    OutcomeUpdate,
    SimilarList,
)
from ordex.db.decisions import DecisionFilter
from ordex.services import decisions
from ordex.services.errors import ServiceError

router = APIRouter(prefix="/api/v1/decisions", tags=["decisions"], responses=API_ERRORS)


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _decision_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ServiceError(400, "INVALID_ID", "invalid decision ID", field="id") from None


def _text(description: str) -> Any:
    return Query(min_length=1, max_length=100, description=description)


Symbol = Annotated[str | None, _text("e.g. BTC/USDT")]
DecisionType = Annotated[str | None, _text("signal, risk_approval, ...")]
Model = Annotated[str | None, _text("e.g. claude-sonnet-4")]
Agent = Annotated[str | None, _text("the agent's name")]
Outcome = Annotated[
    Literal["SUCCESS", "FAILURE", "PENDING"] | None,
    BeforeValidator(_upper),
    Query(description="SUCCESS, FAILURE or PENDING (any case)"),
]
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$")


def _rfc3339(value: Any) -> Any:
    # pydantic alone would also read "0.5" as a Unix time.
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2025-01-15T00:00:00Z")
    return value


FromDate = Annotated[
    AwareDatetime | None,
    BeforeValidator(_rfc3339),
    Query(description="RFC 3339, inclusive: 2025-01-15T00:00:00Z"),
]
ToDate = Annotated[
    AwareDatetime | None,
    BeforeValidator(_rfc3339),
    Query(description="RFC 3339, inclusive (to the millisecond); before from_date: nothing"),
]
DecisionId = Annotated[str, Path(json_schema_extra={"format": "uuid"})]


def _filter(
    symbol: str | None,
    decision_type: str | None,
    outcome: str | None,
    model: str | None,
    agent: str | None,
    session_id: uuid.UUID | None,
    from_date: AwareDatetime | None,
    to_date: AwareDatetime | None,
) -> DecisionFilter:
    return DecisionFilter(
        symbol=symbol,
        decision_type=decision_type,
        outcome=outcome,
        model=model,
        agent_name=agent,
        session_id=session_id,
        from_date=from_date,
        to_date=to_date,
    )


@router.get("", response_model=DecisionList)
async def list_decisions(
    user: CurrentUser,
    conn: DbConn,
    symbol: Symbol = None,
    decision_type: DecisionType = None,
    outcome: Outcome = None,
    model: Model = None,
    agent: Agent = None,
    session_id: Annotated[uuid.UUID | None, Query(description="the trading session")] = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    limit: Annotated[int, Query(ge=1, le=500, description="1 to 500")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The caller's decisions, newest first, without prompt, response and embeddings (the
    detail has them)."""
    f = _filter(symbol, decision_type, outcome, model, agent, session_id, from_date, to_date)
    found = await decisions.list_decisions(conn, user.id, f, limit=limit, offset=offset)
    return {
        "decisions": found,
        "count": len(found),
        "filter": {**decisions.filter_json(f), "limit": limit, "offset": offset},
    }


@router.post("", status_code=201, response_model=DecisionWritten)
async def record_decision(
    body: DecisionCreate, user: CurrentUser, conn: DbConn, settings: AutomationSettingsDep
) -> dict[str, Any]:
    """Write an agent's decision (outcome PENDING). `cost` is priced from the tokens and the
    model (ORDEX_LLM_PRICES); the numbers of `context` make the vector `/similar` compares."""
    prompt_tokens, completion_tokens = body.token_counts()
    decision = await decisions.record_decision(
        conn,
        settings,
        user.id,
        agent_name=body.agent,
        symbol=body.symbol,
        decision_type=body.type,
        decision=body.decision,
        context=body.context,
        confidence=body.confidence,
        reasoning=body.reasoning,
        prompt=body.prompt,
        response=body.response,
        model=body.model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_ms=body.latency_ms,
        prompt_embedding=body.prompt_embedding,
        session_id=body.session_id,
    )
    return {"decision": decision, "message": "Decision recorded"}


@router.get("/stats", response_model=DecisionStatsOut)
async def decision_stats(
    user: CurrentUser,
    conn: DbConn,
    symbol: Symbol = None,
    decision_type: DecisionType = None,
    model: Model = None,
    agent: Agent = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
) -> dict[str, Any]:
    """Totals over the caller's decisions (filtered): counts by outcome, type (both spellings)
    and model; success_rate = SUCCESS / (SUCCESS + FAILURE); total_cost in USD."""
    f = _filter(symbol, decision_type, None, model, agent, None, from_date, to_date)
    return await decisions.stats(conn, user.id, f)


@router.get("/{id}", response_model=DecisionDetailOut, responses=DECISION_ERRORS)
async def get_decision(id: DecisionId, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """One decision with its full prompt, response and embeddings."""
    return await decisions.get_decision(conn, user.id, _decision_id(id))


@router.patch("/{id}", response_model=DecisionWritten, responses=DECISION_ERRORS)
async def set_outcome(
    id: DecisionId, body: OutcomeUpdate, user: CurrentUser, conn: DbConn
) -> dict[str, Any]:
    """Set how the decision turned out: `outcome` (SUCCESS, FAILURE, PENDING) and/or
    `actual_pnl`."""
    decision = await decisions.set_outcome(conn, user.id, _decision_id(id), body.changes())
    return {"decision": decision, "message": "Outcome recorded"}


BY_DESCRIPTION = (
    "`context`: ordex's vector of the market context; `prompt`: the agents' prompt embeddings"
)


@router.get("/{id}/similar", response_model=SimilarList, responses=DECISION_ERRORS)
async def similar_decisions(
    id: DecisionId,
    user: CurrentUser,
    conn: DbConn,
    settings: AutomationSettingsDep,
    limit: Annotated[int, Query(ge=1, le=50, description="1 to 50")] = 10,
    by: Annotated[Literal["context", "prompt"], Query(description=BY_DESCRIPTION)] = "context",
    exact: Annotated[
        bool, Query(description="compare with every decision instead of the HNSW index (slower)")
    ] = False,
) -> dict[str, Any]:
    """The caller's decisions in the most similar market context, most similar first
    (`similarity` = 1 - cosine distance, through pgvector's HNSW index)."""
    decision_id = _decision_id(id)
    found = await decisions.similar(
        conn, settings, user.id, decision_id, limit=limit, by=by, exact=exact
    )
    return {"decision_id": str(decision_id), "similar": found, "count": len(found)}
