"""`/api/settings`: the user's key-value settings (get all, get one, upsert one or many, delete)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.schemas_workspace import (
    SETTING_KEY_PATTERN,
    WORKSPACE_ERRORS,
    Data,
    JsonObject,
    SettingOut,
    SettingsBulk,
    SettingValue,
    Success,
    check_setting_key,
)
from ordex.api.workspace_deps import ActorDep
from ordex.services import user_settings
from ordex.services.errors import ServiceError

router = APIRouter(prefix="/api/settings", tags=["settings"], responses=WORKSPACE_ERRORS)


# The handlers check the key themselves (400 INVALID_SETTING_KEY); the document states the rule.
SettingKeyPath = Annotated[str, Path(json_schema_extra={"pattern": SETTING_KEY_PATTERN})]


def _key(key: str) -> str:
    try:
        return check_setting_key(key)
    except ValueError as exc:
        raise ServiceError(400, "INVALID_SETTING_KEY", str(exc), field="key") from None


@router.get("", response_model=Data[JsonObject])
async def all_settings(user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return {"success": True, "data": await user_settings.all_settings(conn, user.id)}


@router.put("", response_model=Data[JsonObject])
async def put_settings(body: SettingsBulk, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    return {"success": True, "data": await user_settings.put_settings(conn, actor, body.settings)}


@router.get("/{key}", response_model=Data[SettingOut])
async def get_setting(key: SettingKeyPath, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    return {"success": True, "data": await user_settings.get_setting(conn, user.id, _key(key))}


@router.put("/{key}", response_model=Data[SettingOut])
async def put_setting(
    key: SettingKeyPath, body: SettingValue, actor: ActorDep, conn: DbConn
) -> dict[str, Any]:
    key = _key(key)
    await user_settings.put_settings(conn, actor, {key: body.value})
    return {"success": True, "data": {"key": key, "value": body.value}}


@router.delete("/{key}", response_model=Success)
async def delete_setting(key: SettingKeyPath, actor: ActorDep, conn: DbConn) -> dict[str, Any]:
    await user_settings.delete_setting(conn, actor, _key(key))
    return {"success": True}
