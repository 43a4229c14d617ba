"""SQL for flows and their saved versions.

Every flow query names its owner, so another user's flow is simply not found. Versions are reached
through their flow; callers that add one hold the flow's row lock (`get_flow(..., lock=True)`), which
is what makes max + 1 numbering and the per-flow cap safe under concurrent saves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ordex.db import jsonb
from ordex.db.types import Connection

_FLOW_COLUMNS = (
    "id, user_id, name, description, status, schema_version, settings::text, nodes::text, "
    "edges::text, created_at, updated_at"
)
_SUMMARY_COLUMNS = "id, flow_id, version, change_description, node_count, edge_count, created_at"
_SNAPSHOT_COLUMNS = f"{_SUMMARY_COLUMNS}, schema_version, settings::text, nodes::text, edges::text"


@dataclass(frozen=True, slots=True)
class FlowDocument:
    """The part of a flow the evaluator reads, and the part a version keeps."""

    schema_version: int
    settings: dict[str, Any]
    nodes: list[Any]
    edges: list[Any]


@dataclass(frozen=True, slots=True)
class FlowRow:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    description: str | None
    status: str
    document: FlowDocument
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class FlowVersionRow:
    """A saved version; `document` is None when only the summary was read."""

    id: uuid.UUID
    flow_id: uuid.UUID
    version: int
    change_description: str | None
    node_count: int
    edge_count: int
    created_at: datetime
    document: FlowDocument | None = None


def _document(record: asyncpg.Record) -> FlowDocument:
    return FlowDocument(
        schema_version=record["schema_version"],
        settings=jsonb.decode(record["settings"]),
        nodes=jsonb.decode(record["nodes"]),
        edges=jsonb.decode(record["edges"]),
    )


def _flow(record: asyncpg.Record) -> FlowRow:
    return FlowRow(
        id=record["id"],
        user_id=record["user_id"],
        name=record["name"],
        description=record["description"],
        status=record["status"],
        document=_document(record),
        created_at=record["created_at"],
        updated_at=record["updated_at"],
    )


def _version(record: asyncpg.Record, *, with_document: bool) -> FlowVersionRow:
    return FlowVersionRow(
        id=record["id"],
        flow_id=record["flow_id"],
        version=record["version"],
        change_description=record["change_description"],
        node_count=record["node_count"],
        edge_count=record["edge_count"],
        created_at=record["created_at"],
        document=_document(record) if with_document else None,
    )


# --- flows --------------------------------------------------------------------------------------


async def list_flows(conn: Connection, user_id: uuid.UUID) -> list[FlowRow]:
    records = await conn.fetch(
        f"SELECT {_FLOW_COLUMNS} FROM flows WHERE user_id = $1 ORDER BY updated_at DESC, id DESC",
        user_id,
    )
    return [_flow(r) for r in records]


async def get_flow(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID, *, lock: bool = False
) -> FlowRow | None:
    """The user's flow; `lock` takes its row lock for the rest of the transaction."""
    suffix = " FOR UPDATE" if lock else ""
    record = await conn.fetchrow(
        f"SELECT {_FLOW_COLUMNS} FROM flows WHERE id = $1 AND user_id = $2{suffix}",
        flow_id, user_id,
    )  # fmt: skip
    return None if record is None else _flow(record)


async def insert_flow(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    name: str,
    description: str | None,
    document: FlowDocument,
) -> FlowRow:
    record = await conn.fetchrow(
        f"""
        INSERT INTO flows (user_id, name, description, schema_version, settings, nodes, edges)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb)
        RETURNING {_FLOW_COLUMNS}
        """,
        user_id, name, description, document.schema_version, jsonb.encode(document.settings),
        jsonb.encode(document.nodes), jsonb.encode(document.edges),
    )  # fmt: skip
    assert record is not None
    return _flow(record)


async def replace_flow(
    conn: Connection,
    user_id: uuid.UUID,
    flow_id: uuid.UUID,
    *,
    name: str,
    description: str | None,
    document: FlowDocument,
) -> FlowRow | None:
    record = await conn.fetchrow(
        f"""
        UPDATE flows
        SET name = $3, description = $4, schema_version = $5, settings = $6::jsonb,
            nodes = $7::jsonb, edges = $8::jsonb, updated_at = clock_timestamp()
        WHERE id = $1 AND user_id = $2
        RETURNING {_FLOW_COLUMNS}
        """,
        flow_id, user_id, name, description, document.schema_version,
        jsonb.encode(document.settings), jsonb.encode(document.nodes), jsonb.encode(document.edges),
    )  # fmt: skip
    return None if record is None else _flow(record)


async def replace_document(
    conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID, document: FlowDocument
) -> FlowRow | None:
    """Replace only the document (a restore keeps the flow's name and description)."""
    record = await conn.fetchrow(
        f"""
        UPDATE flows
        SET schema_version = $3, settings = $4::jsonb, nodes = $5::jsonb, edges = $6::jsonb,
            updated_at = clock_timestamp()
        WHERE id = $1 AND user_id = $2
        RETURNING {_FLOW_COLUMNS}
        """,
        flow_id, user_id, document.schema_version, jsonb.encode(document.settings),
        jsonb.encode(document.nodes), jsonb.encode(document.edges),
    )  # fmt: skip
    return None if record is None else _flow(record)


async def delete_flow(conn: Connection, user_id: uuid.UUID, flow_id: uuid.UUID) -> bool:
    """Delete a flow; its versions go with it (ON DELETE CASCADE)."""
    deleted = await conn.fetchval(
        "DELETE FROM flows WHERE id = $1 AND user_id = $2 RETURNING id", flow_id, user_id
    )
    return deleted is not None


# --- versions -----------------------------------------------------------------------------------


async def list_versions(conn: Connection, flow_id: uuid.UUID) -> list[FlowVersionRow]:
    records = await conn.fetch(
        f"SELECT {_SUMMARY_COLUMNS} FROM flow_versions WHERE flow_id = $1 ORDER BY version DESC",
        flow_id,
    )
    return [_version(r, with_document=False) for r in records]


async def get_version(
    conn: Connection, flow_id: uuid.UUID, version_id: uuid.UUID
) -> FlowVersionRow | None:
    """A version with its document."""
    record = await conn.fetchrow(
        f"SELECT {_SNAPSHOT_COLUMNS} FROM flow_versions WHERE id = $1 AND flow_id = $2",
        version_id, flow_id,
    )  # fmt: skip
    return None if record is None else _version(record, with_document=True)


async def insert_snapshot(
    conn: Connection, flow_id: uuid.UUID, change_description: str | None
) -> FlowVersionRow:
    """Save the flow's stored document as its next version (max + 1).

    The caller holds the flow's row lock: two saves cannot read the same max.
    """
    record = await conn.fetchrow(
        f"""
        INSERT INTO flow_versions (flow_id, version, change_description, schema_version, settings,
                                   nodes, edges, node_count, edge_count)
        SELECT f.id,
               COALESCE((SELECT max(v.version) FROM flow_versions v WHERE v.flow_id = f.id), 0) + 1,
               $2, f.schema_version, f.settings, f.nodes, f.edges,
               jsonb_array_length(f.nodes), jsonb_array_length(f.edges)
        FROM flows f
        WHERE f.id = $1
        RETURNING {_SUMMARY_COLUMNS}
        """,
        flow_id, change_description,
    )  # fmt: skip
    assert record is not None, "the flow is locked by the caller and exists"
    return _version(record, with_document=False)


async def delete_oldest_versions(conn: Connection, flow_id: uuid.UUID, keep: int) -> int:
    """Delete all but the newest `keep` versions of a flow; returns how many went."""
    deleted = await conn.fetch(
        """
        DELETE FROM flow_versions
        WHERE id IN (SELECT id FROM flow_versions WHERE flow_id = $1
                     ORDER BY version DESC OFFSET $2)
        RETURNING id
        """,
        flow_id, keep,
    )  # fmt: skip
    return len(deleted)
