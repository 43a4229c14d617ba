"""Which notifications a user wants: `GET/PUT /api/profile/preferences`.

Kept as the user setting `notification_preferences` (the key-value settings of
`services/user_settings.py`, so a change is also a `state:changed` event like any setting): an
object of event key -> boolean. Every known event is on unless the user turned it off; a stored
value that is not such an object (written through `/api/settings` by hand) reads as the defaults.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ordex.db import user_settings as settings_repo
from ordex.db.types import Connection
from ordex.services import user_settings
from ordex.services.errors import ServiceError
from ordex.services.state_events import Actor

SETTING_KEY = "notification_preferences"
# The contract's keys, each a kind of notification `services/notifications.py` writes.
EVENTS = ("engine_start", "engine_stop", "trade_executed", "engine_error")


def defaults() -> dict[str, bool]:
    return dict.fromkeys(EVENTS, True)


def _merged(stored: Any) -> dict[str, bool]:
    prefs = defaults()
    if isinstance(stored, dict):
        for key in EVENTS:
            if isinstance(stored.get(key), bool):
                prefs[key] = stored[key]
    return prefs


async def get_preferences(conn: Connection, user_id: uuid.UUID) -> dict[str, bool]:
    _, stored = await settings_repo.get_setting(conn, user_id, SETTING_KEY)
    return _merged(stored)


async def enabled(conn: Connection, user_id: uuid.UUID, event: str) -> bool:
    """Whether the user wants this event; events without a preference are always written."""
    if event not in EVENTS:
        return True
    return (await get_preferences(conn, user_id))[event]


def validate(value: Any) -> dict[str, bool]:
    """The whole object checked before anything is kept: known keys only, booleans only. Keys
    left out keep their default (on)."""
    field = SETTING_KEY
    if not isinstance(value, Mapping):
        raise ServiceError(400, "VALIDATION_ERROR", f"{field} must be an object", field=field)
    for key, flag in value.items():
        if key not in EVENTS:
            raise ServiceError(
                400,
                "VALIDATION_ERROR",
                f"unknown notification type {key!r}; known: {', '.join(EVENTS)}",
                field=f"{field}.{key}",
            )
        if not isinstance(flag, bool):
            raise ServiceError(
                400, "VALIDATION_ERROR", f"{field}.{key} must be a boolean", field=f"{field}.{key}"
            )
    return {**defaults(), **value}


async def put_preferences(conn: Connection, actor: Actor, value: Any) -> dict[str, bool]:
    prefs = validate(value)
    await user_settings.put_settings(conn, actor, {SETTING_KEY: prefs})
    return prefs
