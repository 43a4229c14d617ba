"""Data providers of a user: where market data comes from, tried in priority order (lowest first)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ordex.db import data_providers as providers_repo
from ordex.db.types import Connection
from ordex.services.errors import ServiceError
from ordex.services.state_events import Actor, recording
from ordex.services.workspace_views import provider_json

PROVIDER_TYPES = ("ccxt-browser", "ccxt-server", "marketmaker.cc", "custom-server-with-adapter")
PROVIDER_STATUSES = ("connected", "connecting", "disconnected", "error")
DEFAULT_PRIORITY = 100


def provider_not_found() -> ServiceError:
    return ServiceError(404, "PROVIDER_NOT_FOUND", "Provider not found")


async def list_providers(conn: Connection, user_id: uuid.UUID) -> list[dict[str, Any]]:
    return [provider_json(p) for p in await providers_repo.list_providers(conn, user_id)]


async def create_provider(
    conn: Connection, actor: Actor, fields: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        row = await providers_repo.insert_provider(
            conn,
            actor.user_id,
            name=fields["name"],
            type=fields["type"],
            status=fields.get("status") or "connected",
            exchanges=fields.get("exchanges") or ["*"],
            priority=fields.get("priority", DEFAULT_PRIORITY),
            config=fields.get("config") or {},
        )
        data = provider_json(row)
        changes.add("provider", "created", row.id, data)
    return data


async def update_provider(
    conn: Connection, actor: Actor, provider_id: uuid.UUID, changes_in: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        row = await providers_repo.update_provider(conn, actor.user_id, provider_id, changes_in)
        if row is None:
            raise provider_not_found()
        data = provider_json(row)
        changes.add("provider", "updated", row.id, data)
    return data


async def delete_provider(conn: Connection, actor: Actor, provider_id: uuid.UUID) -> None:
    async with recording(conn, actor) as changes:
        row = await providers_repo.delete_provider(conn, actor.user_id, provider_id)
        if row is None:
            raise provider_not_found()
        changes.add("provider", "deleted", row.id, provider_json(row))
