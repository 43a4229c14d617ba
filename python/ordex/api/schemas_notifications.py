"""Bodies and answers of `/api/notifications`, `/api/profile/preferences`,
`/api/exchange-keys/validate` and `/api/dashboard/balance` (capandex contract)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema, model_validator

from ordex.api.schemas import ApiErrorOut
from ordex.api.schemas_workspace import (
    OKX_PASSPHRASE,
    WORKSPACE_ERRORS,
    Body,
    Credential,
    KeyExchange,
    Label,
    OptionalCredential,
)
from ordex.services.notification_preferences import EVENTS

NOTIFICATION_ERRORS: dict[int | str, dict[str, Any]] = WORKSPACE_ERRORS
EXCHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **WORKSPACE_ERRORS,
    502: {"model": ApiErrorOut, "description": "The exchange answered with an error"},
    503: {"model": ApiErrorOut, "description": "The exchange cannot be reached"},
}


class Success(BaseModel):
    success: bool


class NotificationOut(BaseModel):
    id: str
    type: str
    event: str
    title: str
    message: str
    data: dict[str, Any]
    read_at: str | None
    action_url: str | None
    created_at: str


class NotificationList(BaseModel):
    notifications: list[NotificationOut]
    total: int


class PreferencesBody(Body):
    # Checked whole by the service (known keys, booleans), which names the offending key.
    notification_preferences: Annotated[
        dict[str, Any],
        WithJsonSchema(
            {
                "type": "object",
                "properties": {event: {"type": "boolean"} for event in EVENTS},
                "additionalProperties": False,
            }
        ),
    ]


class PreferencesOut(BaseModel):
    notification_preferences: dict[str, bool]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class ExchangeKeyValidate(Body):
    model_config = ConfigDict(json_schema_extra=OKX_PASSPHRASE)

    exchange: Annotated[KeyExchange, BeforeValidator(_lower)]
    apiKey: Credential
    secret: Credential
    passphrase: OptionalCredential = None
    label: Label | None = None  # the key form sends it; not used to validate

    @model_validator(mode="after")
    def _passphrase_for_okx(self) -> ExchangeKeyValidate:
        if self.exchange == "okx" and self.passphrase is None:
            raise ValueError("passphrase is required for okx")
        return self


class KeyAccount(BaseModel):
    balance: float


class KeyValidation(BaseModel):
    model_config = ConfigDict(extra="allow")  # `error` and `code` when the key is refused

    valid: bool
    permissions: list[str]
    account: KeyAccount | None


class ExchangeBalance(BaseModel):
    model_config = ConfigDict(extra="allow")  # `error` and `code` for an account that failed

    id: str | None
    exchange: str
    label: str
    balanceUsd: float
    status: str


class DashboardBalance(BaseModel):
    totalUsd: float
    exchanges: list[ExchangeBalance]
    failed: int
