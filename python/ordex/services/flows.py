"""Strategy flows of one user and their saved versions.

Every write of a flow document goes through the Rust evaluator's validation first (`ordex.validate_flow`),
so a stored flow is always one the evaluator can run. A flow keeps at most MAX_VERSIONS versions:
the save that adds one more deletes the oldest in the same transaction, under the flow's row lock,
so concurrent saves can neither exceed the cap nor draw the same version number. Another user's
flow, and a path id that is not a UUID, are simply not found.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson

import ordex
from ordex.db import flows as flows_repo
from ordex.db.flows import FlowDocument, FlowRow, FlowVersionRow
from ordex.db.types import Connection
from ordex.services.errors import ServiceError
from ordex.timestamps import iso_millis

MAX_VERSIONS = 50
DRAFT = "draft"


def flow_not_found() -> ServiceError:
    return ServiceError(404, "FLOW_NOT_FOUND", "Flow not found")


def version_not_found() -> ServiceError:
    return ServiceError(404, "VERSION_NOT_FOUND", "Version not found")


# --- JSON shapes --------------------------------------------------------------------------------


def document_json(document: FlowDocument) -> dict[str, Any]:
    """The document as the evaluator reads it."""
    return {
        "schemaVersion": document.schema_version,
        "settings": document.settings,
        "nodes": document.nodes,
        "edges": document.edges,
    }


def flow_json(row: FlowRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "description": row.description,
        "status": row.status,
        **document_json(row.document),
        "created_at": iso_millis(row.created_at),
        "updated_at": iso_millis(row.updated_at),
    }


def version_summary_json(row: FlowVersionRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "flow_id": str(row.flow_id),
        "version": row.version,
        "change_description": row.change_description,
        "node_count": row.node_count,
        "edge_count": row.edge_count,
        "created_at": iso_millis(row.created_at),
    }


def version_created_json(row: FlowVersionRow) -> dict[str, Any]:
    """The answer of a save: the summary without the counts, as the contract shows it."""
    summary = version_summary_json(row)
    return {
        key: summary[key]
        for key in ("id", "flow_id", "version", "change_description", "created_at")
    }


def version_snapshot_json(row: FlowVersionRow) -> dict[str, Any]:
    assert row.document is not None, "read with get_version"
    return {**version_summary_json(row), **document_json(row.document)}


# --- validation ---------------------------------------------------------------------------------


def validate_document(document: FlowDocument) -> None:
    """The evaluator's verdict on a document, as a 400 INVALID_FLOW naming what is wrong.

    The evaluator reads the same JSON text that is stored, so what it accepted is what it will run.
    """
    text = orjson.dumps(document_json(document))
    try:
        ordex.validate_flow(text)
    except ordex.FlowValidationError as exc:
        raise ServiceError(
            400,
            "INVALID_FLOW",
            str(exc),
            details={"node": exc.node, "problem": exc.problem, "param": exc.param},
        ) from None


# --- flows --------------------------------------------------------------------------------------


async def list_flows(conn: Connection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The user's flows, the most recently updated first."""
    return [flow_json(row) for row in await flows_repo.list_flows(conn, user_id)]


async def get_flow(conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID) -> dict[str, Any]:
    row = await flows_repo.get_flow(conn, user_id, flow_id)
    if row is None:
        raise flow_not_found()
    return flow_json(row)


async def create_flow(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    name: str,
    description: str | None,
    document: FlowDocument,
) -> dict[str, Any]:
    validate_document(document)
    row = await flows_repo.insert_flow(
        conn, user_id, name=name, description=description, document=document
    )
    return flow_json(row)


async def replace_flow(
    conn: Connection,
    user_id: uuid.UUID,
    flow_id: uuid.UUID,
    *,
    name: str,
    description: str | None,
    document: FlowDocument,
) -> dict[str, Any]:
    """Replace the flow's name, description and document; the status stays."""
    validate_document(document)
    row = await flows_repo.replace_flow(
        conn, user_id, flow_id, name=name, description=description, document=document
    )
    if row is None:
        raise flow_not_found()
    return flow_json(row)


async def delete_flow(conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    """Delete the flow and every version of it."""
    if not await flows_repo.delete_flow(conn, user_id, flow_id):
        raise flow_not_found()


# --- versions -----------------------------------------------------------------------------------


async def list_versions(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The flow's versions, newest first, with node and edge counts (no documents)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await flows_repo.get_flow(conn, user_id, flow_id) is None:
            raise flow_not_found()
        rows = await flows_repo.list_versions(conn, flow_id)
    return [version_summary_json(row) for row in rows]


async def _find_version(
    conn: Connection, flow_id: uuid.UUID, version_id: uuid.UUID | None
) -> FlowVersionRow | None:
    return None if version_id is None else await flows_repo.get_version(conn, flow_id, version_id)


async def get_version(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID, version_id: uuid.UUID | None
) -> dict[str, Any]:
    """One version with its full document. `version_id` None (a path id that is not a UUID) is
    not found, once the flow itself is known to be the user's."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        if await flows_repo.get_flow(conn, user_id, flow_id) is None:
            raise flow_not_found()
        row = await _find_version(conn, flow_id, version_id)
    if row is None:
        raise version_not_found()
    return version_snapshot_json(row)


async def _save_locked(
    conn: Connection, flow_id: uuid.UUID, change_description: str | None
) -> FlowVersionRow:
    """Snapshot the flow (whose row lock the caller holds) and drop what exceeds the cap."""
    row = await flows_repo.insert_snapshot(conn, flow_id, change_description)
    await flows_repo.delete_oldest_versions(conn, flow_id, keep=MAX_VERSIONS)
    return row


async def save_version(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID, change_description: str | None
) -> dict[str, Any]:
    """Save the flow's current document as its next version."""
    async with conn.transaction():
        if await flows_repo.get_flow(conn, user_id, flow_id, lock=True) is None:
            raise flow_not_found()
        row = await _save_locked(conn, flow_id, change_description)
    return version_created_json(row)


async def restore_version(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID, version_id: uuid.UUID | None
) -> dict[str, Any]:
    """Save the current document as a new version, then put the version's document in its place,
    in one transaction. The restored document is validated again (the evaluator's rules may have
    tightened since it was saved): a refusal leaves the flow and its versions as they were.

    With MAX_VERSIONS versions already saved, the auto-save pushes out the oldest, which may be the
    one being restored; its document has been read by then, so the restore still completes.
    """
    async with conn.transaction():
        if await flows_repo.get_flow(conn, user_id, flow_id, lock=True) is None:
            raise flow_not_found()
        version = await _find_version(conn, flow_id, version_id)
        if version is None or version.document is None:
            raise version_not_found()
        validate_document(version.document)
        await _save_locked(conn, flow_id, f"Auto-save before restoring version {version.version}")
        restored = await flows_repo.replace_document(conn, user_id, flow_id, version.document)
        assert restored is not None, "the flow is locked in this transaction"
    return {"restored": True, "version": version.version}
