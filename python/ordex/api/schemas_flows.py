"""Request bodies, response models and documented errors of `/api/flows`.

Pydantic checks the outer shape only (name, sizes, arrays of objects, numbers JSON can carry);
what the nodes and edges mean is the evaluator's to judge (`ordex.validate_flow`), which answers
400 INVALID_FLOW naming the node.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ordex.api.schemas import ApiErrorOut
from ordex.api.schemas_workspace import Body, Description, JsonObject, Title
from ordex.db.flows import FlowDocument

MAX_NODES = 500
MAX_EDGES = 2000
MAX_SETTINGS = 100
MAX_KEYS_PER_ITEM = 50
# Integers beyond what a float64 carries exactly mean nothing in a flow, and some cannot be
# encoded at all; non-finite numbers have no JSON spelling.
MAX_SAFE_INTEGER = 2**53


def _check_numbers(value: Any) -> Any:
    """Every number in the value finite and within +-2^53 (rejected as 400 otherwise)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            if abs(item) > MAX_SAFE_INTEGER:
                raise ValueError(f"integers must be within +-{MAX_SAFE_INTEGER}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("numbers must be finite")
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


FlowItem = Annotated[JsonObject, Field(max_length=MAX_KEYS_PER_ITEM)]
Settings = Annotated[JsonObject, Field(max_length=MAX_SETTINGS), AfterValidator(_check_numbers)]
Nodes = Annotated[list[FlowItem], Field(max_length=MAX_NODES), AfterValidator(_check_numbers)]
Edges = Annotated[list[FlowItem], Field(max_length=MAX_EDGES), AfterValidator(_check_numbers)]
SchemaVersion = Annotated[int, Field(strict=True, ge=1, le=1_000_000)]


class FlowBody(Body):
    """A whole flow: POST creates one, PUT replaces every field of one (a field left out takes
    its default, it does not keep the stored value)."""

    name: Title = Field(description="1 to 200 characters, surrounding spaces removed")
    description: Description | None = Field(default=None, description="up to 2000 characters")
    schemaVersion: SchemaVersion = Field(default=1, description="version of the flow document")
    settings: Settings = Field(
        description="exchange, symbol, timeframe, initialCapital, feeBps, slippageBps, direction, "
        "maxEntries (see docs/flows.md)"
    )
    nodes: Nodes = Field(
        description=f"at most {MAX_NODES} objects: id, type, params (plus editor keys such as "
        "position, label, data, kept as sent)"
    )
    edges: Edges = Field(
        description=f"at most {MAX_EDGES} objects: id, source, sourceHandle, target, targetHandle"
    )

    def document(self) -> FlowDocument:
        return FlowDocument(
            schema_version=self.schemaVersion,
            settings=self.settings,
            nodes=self.nodes,
            edges=self.edges,
        )


class VersionCreate(Body):
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None
    ) = Field(default=None, description="what changed in this version; empty means none")


# --- responses ---


class FlowOut(BaseModel):
    id: str
    name: str
    description: str | None
    status: str = Field(description="`draft` (executions will add running states)")
    schemaVersion: int
    settings: JsonObject
    nodes: list[JsonObject]
    edges: list[JsonObject]
    created_at: str
    updated_at: str


class FlowList(BaseModel):
    flows: list[FlowOut] = Field(description="newest updated first")


class FlowDeleted(BaseModel):
    deleted: bool = Field(description="always true: the flow and all its versions are gone")


class VersionSummaryOut(BaseModel):
    id: str
    flow_id: str
    version: int = Field(description="1, 2, ... per flow; never reused")
    change_description: str | None
    node_count: int
    edge_count: int
    created_at: str


class VersionList(BaseModel):
    versions: list[VersionSummaryOut] = Field(description="newest first, at most 50")


class VersionCreated(BaseModel):
    id: str
    flow_id: str
    version: int
    change_description: str | None
    created_at: str


class VersionOut(VersionSummaryOut):
    """A saved version with its whole document, for previewing before a restore."""

    schemaVersion: int
    settings: JsonObject
    nodes: list[JsonObject]
    edges: list[JsonObject]


class Restored(BaseModel):
    restored: bool
    version: int = Field(description="the number of the version restored")


class FlowProblem(BaseModel):
    node: str | None = Field(description="the node (or edge) id the problem concerns")
    problem: str = Field(description="a short code, e.g. bad_param")
    param: str | None = Field(description="the parameter concerned, if any")


class FlowErrorOut(BaseModel):
    """An /api error; for INVALID_FLOW `details` says what the evaluator refused."""

    error: str
    code: str
    details: FlowProblem | str | None = None
    field: str | None = None


INVALID_FLOW_400 = {
    "model": FlowErrorOut,
    "description": "INVALID_FLOW (the evaluator refused the document; `details` names the node), "
    "VALIDATION_ERROR (shape or bounds of the body) or INVALID_JSON",
}
FLOW_NOT_FOUND_404 = {
    "model": ApiErrorOut,
    "description": "FLOW_NOT_FOUND: no such flow of the caller's (or an id that is not a UUID)",
}
VERSION_NOT_FOUND_404 = {
    "model": ApiErrorOut,
    "description": "FLOW_NOT_FOUND (no such flow of the caller's) or VERSION_NOT_FOUND (no such "
    "version of this flow)",
}

# Per route: what each one can answer besides API_ERRORS (the router's).
CREATE_ERRORS: dict[int | str, dict[str, Any]] = {400: INVALID_FLOW_400}
FLOW_ERRORS: dict[int | str, dict[str, Any]] = {404: FLOW_NOT_FOUND_404}
REPLACE_ERRORS: dict[int | str, dict[str, Any]] = {400: INVALID_FLOW_400, 404: FLOW_NOT_FOUND_404}
VERSION_ERRORS: dict[int | str, dict[str, Any]] = {404: VERSION_NOT_FOUND_404}
RESTORE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": FlowErrorOut,
        "description": "INVALID_FLOW: the saved document no longer passes validation",
    },
    404: VERSION_NOT_FOUND_404,
}
