"""Request bodies, response models and documented errors of `/api/v1/decisions`.

The write bodies accept the field names of the journal's own output (`agent_name`,
`decision_type`, `prompt_tokens`, `latency_ms`, `actual_pnl`) and the short ones agents tend to
send (`agent`, `type`, `tokens`, `latency`, `pnl`). Numbers may be JSON numbers or decimal
strings.
"""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ordex.api.schemas import ApiErrorOut
from ordex.api.schemas_workspace import Body, JsonObject
from ordex.schema_doc import not_null

MAX_CONTEXT_BYTES = 64 * 1024
MAX_TEXT = 200_000
MAX_EMBEDDING = 16_000


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")  # pydantic would read true as 1
    return value


NotBool = BeforeValidator(_not_bool)
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")
]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Count = Annotated[int, NotBool, Field(ge=0, le=100_000_000)]
Pnl = Annotated[
    Decimal,
    NotBool,
    Field(allow_inf_nan=False, max_digits=40, decimal_places=18),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -1e22, "maximum": 1e22, "multipleOf": 1e-18},
                {"type": "string", "pattern": r"^\s*[+-]?[0-9]{1,22}(\.[0-9]{0,18})?\s*$"},
            ],
            "description": "at most 40 digits, 18 of them after the point",
        }
    ),
]


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _context_size(value: dict[str, Any]) -> dict[str, Any]:
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:  # integers beyond 64 bits have no place in jsonb
        raise ValueError("numbers must be finite and integers within 64 bits") from None
    if len(encoded) > MAX_CONTEXT_BYTES:
        raise ValueError(f"context must encode to at most {MAX_CONTEXT_BYTES} bytes of JSON")
    return value


def _finite(values: list[float] | None) -> list[float] | None:
    if values is not None and not all(math.isfinite(v) for v in values):
        raise ValueError("numbers must be finite")
    return values


Outcome = Annotated[Literal["SUCCESS", "FAILURE", "PENDING"], BeforeValidator(_upper)]


class TokenCounts(Body):
    prompt: Count = 0
    completion: Count = 0


class DecisionCreate(Body):
    """One decision of an agent. Its outcome starts as PENDING (PATCH sets it)."""

    agent: Label = Field(
        validation_alias=AliasChoices("agent", "agent_name"),
        description="the agent's name (`agent_name` also accepted)",
    )
    symbol: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
    type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] = (
        Field(
            validation_alias=AliasChoices("type", "decision_type"),
            description="`signal`, `risk_approval`, ... (`decision_type` also accepted)",
        )
    )
    decision: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    confidence: Annotated[float, NotBool, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    reasoning: LongText | None = None
    context: Annotated[JsonObject, AfterValidator(_context_size)] = Field(
        default_factory=dict,
        description="the market context the decision saw; its numbers (any nesting) make the "
        f"vector /similar compares. At most {MAX_CONTEXT_BYTES} bytes of JSON",
    )
    prompt: LongText | None = None
    response: LongText | None = None
    model: Label | None = Field(default=None, description="prices the tokens (`cost`)")
    tokens: TokenCounts | None = Field(
        default=None,
        description='`{"prompt": n, "completion": m}`, or send prompt_tokens/completion_tokens',
    )
    prompt_tokens: Count | None = None
    completion_tokens: Count | None = None
    latency_ms: Annotated[int, NotBool, Field(ge=0, le=86_400_000)] | None = Field(
        default=None, validation_alias=AliasChoices("latency_ms", "latency")
    )
    prompt_embedding: Annotated[
        list[float] | None, Field(max_length=MAX_EMBEDDING), AfterValidator(_finite)
    ] = Field(
        default=None,
        # The default dimensions; the service checks the configured ones.
        json_schema_extra={"minItems": 1536, "maxItems": 1536},
        description="the agent's embedding of the prompt, ORDEX_PROMPT_EMBEDDING_DIMENSIONS "
        "(1536) numbers; enables /similar?by=prompt",
    )
    session_id: uuid.UUID | None = Field(default=None, description="the trading session, if any")

    @field_validator("prompt_tokens", "completion_tokens")
    @classmethod
    def _one_spelling(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("tokens") is not None:
            raise ValueError("send either tokens or prompt_tokens/completion_tokens")
        return value

    def token_counts(self) -> tuple[int | None, int | None]:
        if self.tokens is not None:
            return self.tokens.prompt, self.tokens.completion
        return self.prompt_tokens, self.completion_tokens


class OutcomeUpdate(Body):
    """At least one of the two. `actual_pnl` may be null (unknown)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=not_null(only=["outcome"], at_least_one=True)
    )

    outcome: Outcome | None = Field(default=None, description="SUCCESS, FAILURE or PENDING")
    actual_pnl: Pnl | None = Field(
        default=None,
        validation_alias=AliasChoices("actual_pnl", "pnl"),
        description="realised PnL in quote currency (`pnl` also accepted)",
    )

    @field_validator("outcome", mode="before")
    @classmethod
    def _outcome_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    @model_validator(mode="after")
    def _some_field(self) -> OutcomeUpdate:
        if not self.model_fields_set:
            raise ValueError("outcome or actual_pnl expected")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


# --- responses ---


class DecisionOut(BaseModel):
    id: str
    agent_name: str
    session_id: str | None
    symbol: str
    decision_type: str
    decision: str
    confidence: float | None
    reasoning: str | None
    context: JsonObject
    prompt_tokens: int | None
    completion_tokens: int | None
    model: str | None
    latency_ms: int | None
    cost: float | None = Field(description="USD, from the tokens and the model's price; null for "
                               "a model the price table does not know")  # fmt: skip
    outcome: str = Field(description="SUCCESS, FAILURE or PENDING")
    actual_pnl: float | None
    outcome_at: str | None
    created_at: str


class DecisionDetailOut(DecisionOut):
    prompt: str | None
    response: str | None
    prompt_embedding: list[float] | None = Field(description="as the agent sent it")
    context_embedding: list[float] | None = Field(
        description="the unit vector ordex computed from the context's numbers (null: none)"
    )


class DecisionWritten(BaseModel):
    decision: DecisionDetailOut
    message: str


class DecisionList(BaseModel):
    decisions: list[DecisionOut] = Field(description="newest first")
    count: int
    filter: dict[str, str | int] = Field(
        description="the filters given (symbol, decision_type, outcome, model, agent_name, "
        "session_id, from_date, to_date), with limit and offset"
    )


class SimilarOut(BaseModel):
    id: str
    agent_name: str
    symbol: str
    decision_type: str
    decision: str
    confidence: float | None
    outcome: str
    actual_pnl: float | None
    similarity: float = Field(description="1 - cosine distance: 1 is the same direction")
    created_at: str


class SimilarList(BaseModel):
    decision_id: str
    similar: list[SimilarOut] = Field(description="most similar first")
    count: int


class DecisionStatsOut(BaseModel):
    total_decisions: int
    by_outcome: dict[str, int] = Field(description="SUCCESS, FAILURE and PENDING, always all three")
    by_decision_type: dict[str, int]
    by_type: dict[str, int] = Field(description="the same counts as by_decision_type")
    avg_confidence: float | None
    success_rate: float | None = Field(
        description="SUCCESS / (SUCCESS + FAILURE); null while no decision has an outcome"
    )
    avg_pnl: float | None = Field(description="over the decisions with an actual PnL")
    by_model: dict[str, int] = Field(description="decisions that name a model")
    total_cost: float = Field(description="USD")
    avg_latency_ms: float | None


DECISION_NOT_FOUND_404 = {
    "model": ApiErrorOut,
    "description": "DECISION_NOT_FOUND: the caller has no such decision",
}
INVALID_ID_400 = {
    "model": ApiErrorOut,
    "description": "INVALID_ID (the id is not a UUID) or VALIDATION_ERROR naming the field",
}
DECISION_ERRORS: dict[int | str, dict[str, Any]] = {
    400: INVALID_ID_400,
    404: DECISION_NOT_FOUND_404,
}
