"""`/api/v1/config`: the caller's runtime configuration of automated trading (app, trading, risk,
llm), without secrets. Stored per user in PostgreSQL, so every API process answers the same and
a restart keeps it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ordex.api.automation_deps import AutomationSettingsDep
from ordex.api.deps import CurrentUser, DbConn, SettingsDep
from ordex.api.schemas import API_ERRORS, ApiErrorOut
from ordex.api.schemas_automation_config import ConfigOut, ConfigPatch, ConfigUpdated
from ordex.services import automation_config

router = APIRouter(prefix="/api/v1/config", tags=["config"], responses=API_ERRORS)

PATCH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ApiErrorOut,
        "description": "VALIDATION_ERROR: `field` names the first field refused (unknown, null or "
        "out of range); nothing was changed",
    }
}


@router.get("", response_model=ConfigOut)
async def get_config(
    user: CurrentUser, conn: DbConn, settings: SettingsDep, automation: AutomationSettingsDep
) -> dict[str, Any]:
    config = await automation_config.get_config(
        conn, user.id, environment=automation.ordex_environment, log_level=settings.log_level
    )
    return {"config": config}


@router.patch("", response_model=ConfigUpdated, responses=PATCH_ERRORS)
async def update_config(body: ConfigPatch, user: CurrentUser, conn: DbConn) -> dict[str, Any]:
    """Change any of trading_mode (`paper`/`live`), initial_capital (> 0), max_positions
    (1-1000), max_position_size, max_daily_loss, max_drawdown (fractions in (0, 1]),
    default_stop_loss ((0, 1)), default_take_profit ((0, 10]), min_confidence ([0, 1]),
    llm_approval_required (boolean), llm_temperature ([0, 2]), llm_max_tokens (1-1,000,000).
    Every field is checked before any is stored: one bad field is a 400 naming it, and nothing
    changes."""
    updates = await automation_config.update_config(conn, user.id, body)
    return {
        "message": "Configuration updated successfully",
        "updates": updates,
        "note": "Changes are stored per user and shared by every API process; they survive "
        "a restart",
    }
