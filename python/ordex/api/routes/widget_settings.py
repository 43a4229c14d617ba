"""`/api/settings/widget/{widgetId}`: settings of one widget for its owner."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import WORKSPACE_ERRORS, Data, JsonObject, WidgetSettingsBody
from ordex.api.workspace_deps import ActorDep, parse_id
from ordex.services import user_settings
from ordex.services.workspace import widget_not_found

router = APIRouter(
    prefix="/api/settings/widget", tags=["widget settings"], responses=WORKSPACE_ERRORS
)


@router.get("/{widgetId}", response_model=Data[JsonObject])
async def get_widget_settings(widgetId: str, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    widget_id = parse_id(widgetId, widget_not_found)
    return {
        "success": True,
        "data": await user_settings.get_widget_settings(conn, user.id, widget_id),
    }


@router.put("/{widgetId}", response_model=Data[JsonObject])
async def put_widget_settings(
    widgetId: str, body: WidgetSettingsBody, actor: ActorDep, conn: DbConn
) -> dict[str, Any]:
    widget_id = parse_id(widgetId, widget_not_found)
    data = await user_settings.put_widget_settings(conn, actor, widget_id, body.settings)
    return {"success": True, "data": data}
