"""Dependencies of the automation routes (agents, decisions, config): the deployment's
`AutomationSettings`, read from the environment once per app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from ordex.services.automation_config import AutomationSettings


def automation_settings_of(app: FastAPI) -> AutomationSettings:
    settings: AutomationSettings | None = getattr(app.state, "automation_settings", None)
    if settings is None:
        settings = app.state.automation_settings = AutomationSettings()
    return settings


async def get_automation_settings(request: Request) -> AutomationSettings:
    return automation_settings_of(request.app)


AutomationSettingsDep = Annotated[AutomationSettings, Depends(get_automation_settings)]
