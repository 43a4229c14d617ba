"""Request body, response models and documented errors of `/api/v1/agents`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from ordex.api.schemas import ApiErrorOut
from ordex.api.schemas_workspace import Body, JsonObject

MAX_METADATA_BYTES = 16 * 1024


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _small(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return value
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:  # integers beyond 64 bits have no place in jsonb
        raise ValueError("numbers must be finite and integers within 64 bits") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must encode to at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


AgentStatus = Literal["active", "inactive", "error"]


class HeartbeatBody(Body):
    """Everything is optional: an empty body (or none) says "active, nothing else changed"."""

    status: Annotated[AgentStatus, BeforeValidator(_lower)] = Field(
        default="active", description="`active`, `inactive` or `error` (any case)"
    )
    metadata: Annotated[JsonObject | None, AfterValidator(_small)] = Field(
        default=None,
        description="what the agent wants shown (version, type, counters...); replaces the "
        f"previous metadata; left out it stays. At most {MAX_METADATA_BYTES} bytes of JSON",
    )
    interval_seconds: Annotated[float | None, Field(ge=1, le=86_400, allow_inf_nan=False)] = Field(
        default=None,
        description="how often this agent beats; it is unhealthy once its last heartbeat is "
        "older than ORDEX_AGENT_UNHEALTHY_AFTER (3) intervals. Default "
        "ORDEX_AGENT_HEARTBEAT_SECONDS (30)",
    )


class AgentOut(BaseModel):
    name: str
    status: str = Field(
        description="as the agent last reported it (`active`, `inactive`, `error`) while its "
        "heartbeats are fresh; `inactive` once they have stopped"
    )
    last_seen_at: str = Field(description="the last heartbeat")
    is_healthy: bool = Field(description="heartbeat fresh and status not `error`")
    metadata: JsonObject
    kind: str = Field(description="`external` (registered by its heartbeats) or `runner` (a "
                      "trading session's runner)")  # fmt: skip
    heartbeat_interval_seconds: float
    registered_at: str


class AgentEnvelope(BaseModel):
    agent: AgentOut


class AgentList(BaseModel):
    agents: list[AgentOut] = Field(description="by name")
    count: int


class AgentStatusOut(BaseModel):
    name: str
    status: str
    last_seen_at: str
    healthy: bool


class AgentDeleted(BaseModel):
    message: str


AGENT_NOT_FOUND_404 = {
    "model": ApiErrorOut,
    "description": "AGENT_NOT_FOUND: the caller has no agent of that name",
}
AGENT_ERRORS: dict[int | str, dict[str, Any]] = {404: AGENT_NOT_FOUND_404}
