"""`/api/flows`: the caller's strategy flows (list, create, read, replace, delete) and their saved
versions (list, save, read one, restore). A flow id or version id that is not a UUID names nothing:
404 like an unknown one."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas import API_ERRORS
from ordex.api.schemas_flows import (
    CREATE_ERRORS,
    FLOW_ERRORS,
    REPLACE_ERRORS,
    RESTORE_ERRORS,
    VERSION_ERRORS,
    FlowBody,
    FlowDeleted,
    FlowList,
    FlowOut,
    Restored,
    VersionCreate,
    VersionCreated,
    VersionList,
    VersionOut,
)
from ordex.api.workspace_deps import parse_id
from ordex.services import flows
from ordex.services.flows import flow_not_found

router = APIRouter(prefix="/api/flows", tags=["flows"], responses=API_ERRORS)


def _version_id(value: str) -> uuid.UUID | None:
    """None for an id that is not a UUID: the service answers VERSION_NOT_FOUND for it once the
    flow is known to be the caller's (FLOW_NOT_FOUND comes first)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@router.get("", response_model=FlowList)
async def list_flows(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """The caller's flows, the most recently updated first."""
    return {"flows": await flows.list_flows(conn, user.id)}


@router.post("", status_code=201, response_model=FlowOut, responses=CREATE_ERRORS)
async def create_flow(body: FlowBody, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Create a flow (status `draft`) once the evaluator accepts its document."""
    return await flows.create_flow(
        conn, user.id, name=body.name, description=body.description, document=body.document()
    )


@router.get("/{flowId}", response_model=FlowOut, responses=FLOW_ERRORS)
async def get_flow(flowId: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return await flows.get_flow(conn, user.id, parse_id(flowId, flow_not_found))


@router.put("/{flowId}", response_model=FlowOut, responses=REPLACE_ERRORS)
async def replace_flow(
    flowId: str, body: FlowBody, user: CurrentUser, conn: DbConn
) -> dict[str, Any]:
    """Replace name, description, schemaVersion, settings, nodes and edges (fields left out take
    their defaults); `updated_at` moves. Nothing changes when the document is refused."""
    return await flows.replace_flow(
        conn,
        user.id,
        parse_id(flowId, flow_not_found),
        name=body.name,
        description=body.description,
        document=body.document(),
    )


@router.delete("/{flowId}", response_model=FlowDeleted, responses=FLOW_ERRORS)
async def delete_flow(flowId: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Delete the flow and all its versions: `{"deleted": true}`."""
    await flows.delete_flow(conn, user.id, parse_id(flowId, flow_not_found))
    return {"deleted": True}


@router.get("/{flowId}/versions", response_model=VersionList, responses=FLOW_ERRORS)
async def list_versions(flowId: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Saved versions, newest first, with node and edge counts instead of the documents."""
    rows = await flows.list_versions(conn, user.id, parse_id(flowId, flow_not_found))
    return {"versions": rows}


@router.post(
    "/{flowId}/versions", status_code=201, response_model=VersionCreated, responses=FLOW_ERRORS
)
async def save_version(
    flowId: str, user: CurrentUser, conn: DbConn, body: VersionCreate | None = None
) -> dict[str, Any]:
    """Save the flow's current document as its next version (the body is optional). A flow keeps
    at most 50 versions: saving one more deletes the oldest."""
    description = (body.description if body is not None else None) or None
    return await flows.save_version(conn, user.id, parse_id(flowId, flow_not_found), description)


@router.get("/{flowId}/versions/{versionId}", response_model=VersionOut, responses=VERSION_ERRORS)
async def get_version(
    flowId: str, versionId: str, user: CurrentUser, conn: DbConn
) -> dict[str, Any]:
    """One saved version with its whole document, to preview it before a restore."""
    flow_id = parse_id(flowId, flow_not_found)
    return await flows.get_version(conn, user.id, flow_id, _version_id(versionId))


@router.post(
    "/{flowId}/versions/{versionId}/restore", response_model=Restored, responses=RESTORE_ERRORS
)
async def restore_version(
    flowId: str, versionId: str, user: CurrentUser, conn: DbConn
) -> dict[str, Any]:
    """Save the current document as a new version ("Auto-save before restoring version N"), then
    replace the flow's document (schemaVersion, settings, nodes, edges) with the version's; name
    and description stay. One transaction: on any error nothing changes."""
    flow_id = parse_id(flowId, flow_not_found)
    return await flows.restore_version(conn, user.id, flow_id, _version_id(versionId))
