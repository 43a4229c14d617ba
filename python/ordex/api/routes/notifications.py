"""`/api/notifications` and `/api/profile/preferences` (capandex contract).

- `GET /api/notifications?type=&unreadOnly=true&limit=50&offset=0` -> `{notifications, total}`,
  newest first; `total` counts every match of the filters.
- `PATCH /api/notifications` marks all read; `PATCH /api/notifications/{id}` marks one read;
  `DELETE /api/notifications/{id}` deletes one; each answers `{"success": true}` (POST is
  accepted for the two marks too). Another user's notification is a 404.
- `GET /api/profile/preferences` -> `{notification_preferences: {engine_start, engine_stop,
  trade_executed, engine_error}}`; `PUT` replaces them, checked whole (unknown key or non-boolean:
  400 naming it), keys left out back on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_notifications import (
    NOTIFICATION_ERRORS,
    NotificationList,
    PreferencesBody,
    PreferencesOut,
    Success,
)
from ordex.api.workspace_deps import ActorDep, parse_id
from ordex.services import notification_preferences, notifications
from ordex.services.notifications import MAX_LIMIT, notification_not_found

router = APIRouter(tags=["notifications"], responses=NOTIFICATION_ERRORS)


@router.get("/api/notifications", response_model=NotificationList)
async def list_notifications(
    user: CurrentUser,
    conn: DbConn,
    type: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    unreadOnly: Annotated[Literal["true", "false"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    return await notifications.list_notifications(
        conn, user.id, type=type, unread_only=unreadOnly == "true", limit=limit, offset=offset
    )


@router.patch("/api/notifications", response_model=Success)
@router.post("/api/notifications", response_model=Success, deprecated=True)  # PATCH's old name
async def mark_all_read(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    await notifications.mark_all_read(conn, user.id)
    return {"success": True}


@router.patch("/api/notifications/{id}", response_model=Success)
@router.post("/api/notifications/{id}", response_model=Success, deprecated=True)
async def mark_read(id: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    await notifications.mark_read(conn, user.id, parse_id(id, notification_not_found))
    return {"success": True}


@router.delete("/api/notifications/{id}", response_model=Success)
async def delete_notification(id: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    await notifications.delete(conn, user.id, parse_id(id, notification_not_found))
    return {"success": True}


@router.get("/api/profile/preferences", response_model=PreferencesOut)
async def get_preferences(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    prefs = await notification_preferences.get_preferences(conn, user.id)
    return {"notification_preferences": prefs}


@router.put("/api/profile/preferences", response_model=Success)
async def put_preferences(body: PreferencesBody, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    await notification_preferences.put_preferences(conn, actor, body.notification_preferences)
    return {"success": True}
