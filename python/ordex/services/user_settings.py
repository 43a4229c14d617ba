"""Key-value settings of a user, and per-widget per-user settings."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ordex.db import user_settings as settings_repo
from ordex.db import widgets as widgets_repo
from ordex.db.types import Connection
from ordex.services.errors import ServiceError
from ordex.services.state_events import Actor, recording
from ordex.services.workspace import widget_not_found

COMMON_KEYS = (
    "activeDashboardId",
    "selectedGroupId",
    "activeProviderId",
    "theme",
    "dataFetchSettings",
)


def setting_not_found() -> ServiceError:
    return ServiceError(404, "SETTING_NOT_FOUND", "Setting not found")


async def all_settings(conn: Connection, user_id: uuid.UUID) -> dict[str, Any]:
    return await settings_repo.all_settings(conn, user_id)


async def get_setting(conn: Connection, user_id: uuid.UUID, key: str) -> dict[str, Any]:
    found, value = await settings_repo.get_setting(conn, user_id, key)
    if not found:
        raise setting_not_found()
    return {"key": key, "value": value}


async def put_settings(conn: Connection, actor: Actor, values: Mapping[str, Any]) -> dict[str, Any]:
    """Upsert one or many settings in one transaction and statement."""
    async with recording(conn, actor) as changes:
        inserted = await settings_repo.upsert_settings(conn, actor.user_id, values)
        for key, value in values.items():
            action = "created" if inserted[key] else "updated"
            changes.add("settings", action, key, {"key": key, "value": value})
    return dict(values)


async def delete_setting(conn: Connection, actor: Actor, key: str) -> None:
    async with recording(conn, actor) as changes:
        if not await settings_repo.delete_setting(conn, actor.user_id, key):
            raise setting_not_found()
        changes.add("settings", "deleted", key, {"key": key})


def _widget_event_id(widget_id: uuid.UUID) -> str:
    return f"widget:{widget_id}"


async def get_widget_settings(
    conn: Connection, user_id: uuid.UUID, widget_id: uuid.UUID
) -> dict[str, Any]:
    if await widgets_repo.get_widget(conn, user_id, widget_id) is None:
        raise widget_not_found()
    settings = await settings_repo.get_widget_settings(conn, user_id, widget_id)
    if settings is None:
        raise ServiceError(404, "WIDGET_SETTINGS_NOT_FOUND", "Widget settings not found")
    return settings


async def put_widget_settings(
    conn: Connection, actor: Actor, widget_id: uuid.UUID, settings: Mapping[str, Any]
) -> dict[str, Any]:
    async with recording(conn, actor) as changes:
        if await widgets_repo.get_widget(conn, actor.user_id, widget_id) is None:
            raise widget_not_found()
        created = await settings_repo.put_widget_settings(conn, actor.user_id, widget_id, settings)
        data = {"widgetId": str(widget_id), "settings": dict(settings)}
        changes.add(
            "settings", "created" if created else "updated", _widget_event_id(widget_id), data
        )
    return dict(settings)
