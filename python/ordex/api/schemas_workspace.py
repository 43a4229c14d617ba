"""Request bodies and response models of the workspace routes (dashboards, widgets, groups,
settings, data providers, exchange accounts and keys).

Bodies reject unknown fields (a typo is a 400 naming the field, never a silent no-op). Update
bodies are partial: only the fields sent change, and `null` is accepted only where a field can be
empty.
"""

from __future__ import annotations

import re
import uuid
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ordex.api.schemas import API_ERRORS, ApiErrorOut
from ordex.schema_doc import not_null

WidgetType = Literal[
    "chart", "orderbook", "trades", "orderForm", "portfolio", "userBalances", "userTradingData",
    "deals", "transactionHistory", "dataProviderSettings", "dataProviderDebug", "exchanges",
    "markets", "pairs",
]  # fmt: skip
GroupColor = Literal[
    "transparent", "#00BCD4", "#F44336", "#9C27B0", "#2196F3", "#4CAF50", "#FF9800", "#E91E63"
]
ProviderType = Literal[
    "ccxt-browser", "ccxt-server", "marketmaker.cc", "custom-server-with-adapter"
]
ProviderStatus = Literal["connected", "connecting", "disconnected", "error"]
KeyExchange = Literal["binance", "okx", "bybit", "mexc", "coinbase", "kraken"]

WORKSPACE_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    404: {"model": ApiErrorOut, "description": "Not found, or not the caller's"},
}

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"\S")
]
Description = Annotated[str, StringConstraints(max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
JsonObject = dict[str, Any]


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


ExchangeId = Annotated[
    str,
    BeforeValidator(_lower),
    StringConstraints(pattern=r"^(\*|[a-z0-9][a-z0-9_.-]{0,49})$"),
    # As sent: any case, surrounding spaces ignored.
    WithJsonSchema({"type": "string", "pattern": r"^\s*(\*|[A-Za-z0-9][A-Za-z0-9_.-]{0,49})\s*$"}),
]
Credential = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048, pattern=r"\S")
]

SETTING_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
_SETTING_KEY = re.compile(SETTING_KEY_PATTERN)


def check_setting_key(key: str) -> str:
    if not _SETTING_KEY.match(key):
        raise ValueError("setting keys are 1-128 letters, digits, '_', '.', ':' or '-'")
    return key


SettingKey = Annotated[
    str,
    AfterValidator(check_setting_key),
    WithJsonSchema({"type": "string", "pattern": SETTING_KEY_PATTERN}),
]


def _compact(value: float) -> int | float:
    """Whole numbers stay integers in JSON (800, not 800.0)."""
    return int(value) if value.is_integer() else value


Coordinate = Annotated[float, Field(ge=-1e7, le=1e7, allow_inf_nan=False), AfterValidator(_compact)]
Size = Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False), AfterValidator(_compact)]
ZIndex = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]


MAX_JSON_DEPTH = 32


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None


def check_storable(value: Any, depth: int = 0) -> None:
    """Refuse what PostgreSQL text/jsonb cannot store (NUL, lone surrogates) and JSON nested deeper
    than MAX_JSON_DEPTH, so such input is a 400 and never a database error."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(str(key))
            check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth + 1)


def _scalar_kind(annotation: Any) -> type | None:
    """bool, int or float for a field of one of those (optional or not), else None."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        options = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(options) != 1:
            return None
        return _scalar_kind(options[0])
    return annotation if annotation in (bool, int, float) else None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        check_storable(value)
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _json_type(cls, value: Any, info: ValidationInfo) -> Any:
        """Booleans as JSON booleans only, and never a boolean for a number: pydantic alone would
        read 0 or "yes" as a boolean and false as 0, which the document (and so a client) takes
        for errors."""
        field = cls.model_fields.get(info.field_name or "")
        kind = None if field is None or value is None else _scalar_kind(field.annotation)
        if kind is bool and not isinstance(value, bool):
            raise ValueError("must be a boolean")
        if kind in (int, float) and isinstance(value, bool):
            raise ValueError("must be a number, not a boolean")
        return value


class PatchBody(Body):
    """A partial update: at least one field, and null only for the fields in NULLABLE."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null(at_least_one=True))
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _check_fields(self) -> PatchBody:
        if not self.model_fields_set:
            raise ValueError("no fields to update")
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.NULLABLE:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Position(Body):
    x: Coordinate
    y: Coordinate
    width: Size
    height: Size
    zIndex: ZIndex = 0


class PositionPatch(PatchBody):
    """Fields left out keep their stored value."""

    x: Coordinate | None = None
    y: Coordinate | None = None
    width: Size | None = None
    height: Size | None = None
    zIndex: ZIndex | None = None


# --- dashboards ---


class DashboardCreate(Body):
    title: Title
    description: Description | None = None
    layout: JsonObject = Field(default_factory=dict)
    isDefault: bool = False


class DashboardUpdate(PatchBody):
    NULLABLE = frozenset({"description"})

    title: Title | None = None
    description: Description | None = None
    layout: JsonObject | None = None
    isDefault: bool | None = None


# --- widgets ---


class WidgetCreate(Body):
    dashboardId: uuid.UUID
    type: WidgetType
    defaultTitle: Title | None = None
    userTitle: Title | None = None
    position: Position
    preCollapsePosition: Position | None = None
    config: JsonObject = Field(default_factory=dict)
    groupId: uuid.UUID | None = None
    showGroupSelector: bool = True
    isVisible: bool = True
    isMinimized: bool = False


class WidgetUpdate(PatchBody):
    NULLABLE = frozenset({"userTitle", "preCollapsePosition", "groupId"})

    defaultTitle: Title | None = None
    userTitle: Title | None = None
    position: PositionPatch | None = None
    preCollapsePosition: Position | None = None
    config: JsonObject | None = None
    groupId: uuid.UUID | None = None
    showGroupSelector: bool | None = None
    isVisible: bool | None = None
    isMinimized: bool | None = None


class WidgetPositionItem(Body):
    id: uuid.UUID
    position: PositionPatch


class WidgetBatch(Body):
    widgets: Annotated[list[WidgetPositionItem], Field(min_length=1, max_length=500)]


# --- groups ---


class GroupCreate(Body):
    name: Title
    color: GroupColor = "transparent"
    tradingPair: ShortText | None = None
    account: ShortText | None = None
    exchange: ExchangeId | None = None
    market: ShortText | None = None
    description: Description | None = None


class GroupUpdate(PatchBody):
    NULLABLE = frozenset({"tradingPair", "account", "exchange", "market", "description"})

    name: Title | None = None
    color: GroupColor | None = None
    tradingPair: ShortText | None = None
    account: ShortText | None = None
    exchange: ExchangeId | None = None
    market: ShortText | None = None
    description: Description | None = None


# --- settings ---


class SettingValue(Body):
    value: Any  # any JSON, null included; required


class SettingsBulk(Body):
    settings: Annotated[dict[SettingKey, Any], Field(min_length=1, max_length=200)]


class WidgetSettingsBody(Body):
    settings: JsonObject


# --- data providers ---


class ProviderCreate(Body):
    name: Title
    type: ProviderType
    status: ProviderStatus = "connected"
    exchanges: Annotated[list[ExchangeId], Field(min_length=1, max_length=500)] = Field(
        default_factory=lambda: ["*"]
    )
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    config: JsonObject = Field(default_factory=dict)


class ProviderUpdate(PatchBody):
    name: Title | None = None
    type: ProviderType | None = None
    status: ProviderStatus | None = None
    exchanges: Annotated[list[ExchangeId], Field(min_length=1, max_length=500)] | None = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    config: JsonObject | None = None


# --- exchange accounts (/api/accounts) and keys (/api/exchange-keys) ---


def _empty_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


OptionalCredential = Annotated[
    Credential | None,
    BeforeValidator(_empty_to_none),
    # A blank string is as good as null.
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": 2048}, {"type": "null"}]}),
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class AccountCreate(Body):
    exchange: ExchangeId
    apiKey: Credential
    secret: Credential
    password: OptionalCredential = None  # the exchange's passphrase
    label: Label | None = None
    uid: ShortText | None = None
    isEncrypted: bool | None = None  # accepted for compatibility: credentials are always sealed


class AccountUpdate(PatchBody):
    NULLABLE = frozenset({"password", "label", "uid", "isEncrypted"})

    exchange: ExchangeId | None = None
    apiKey: Credential | None = None
    secret: Credential | None = None
    password: OptionalCredential = None
    label: Label | None = None
    uid: ShortText | None = None
    isEncrypted: bool | None = None


# okx keys come with a passphrase.
OKX_PASSPHRASE: dict[str, Any] = {
    "allOf": [
        {
            "if": {"properties": {"exchange": {"const": "okx"}}, "required": ["exchange"]},
            "then": {
                "required": ["passphrase"],
                "properties": {"passphrase": {"type": "string", "pattern": r"\S"}},
            },
        }
    ]
}


class ExchangeKeyCreate(Body):
    model_config = ConfigDict(json_schema_extra=OKX_PASSPHRASE)

    exchange: Annotated[KeyExchange, BeforeValidator(_lower)]
    label: Label | None = None
    apiKey: Credential
    secret: Credential
    passphrase: OptionalCredential = None

    @model_validator(mode="after")
    def _passphrase_for_okx(self) -> ExchangeKeyCreate:
        if self.exchange == "okx" and self.passphrase is None:
            raise ValueError("passphrase is required for okx")
        return self


class ExchangeKeyDelete(Body):
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


# --- responses ---

T = TypeVar("T")


class Success(BaseModel):
    success: bool = True


class Data(BaseModel, Generic[T]):
    success: bool = True
    data: T


class DashboardOut(BaseModel):
    id: str
    userId: str
    title: str
    description: str | None
    layout: JsonObject
    isDefault: bool
    createdAt: str
    updatedAt: str


class WidgetOut(BaseModel):
    id: str
    dashboardId: str
    type: str
    defaultTitle: str
    userTitle: str | None
    position: JsonObject
    preCollapsePosition: JsonObject | None
    config: JsonObject
    groupId: str | None
    showGroupSelector: bool
    isVisible: bool
    isMinimized: bool
    createdAt: str
    updatedAt: str


class DashboardWithWidgetsOut(DashboardOut):
    widgets: list[WidgetOut]


class GroupOut(BaseModel):
    id: str
    userId: str
    name: str
    color: str
    tradingPair: str | None
    account: str | None
    exchange: str | None
    market: str | None
    description: str | None
    createdAt: str
    updatedAt: str


class SettingOut(BaseModel):
    key: str
    value: Any


class ProviderOut(BaseModel):
    id: str
    userId: str
    name: str
    type: str
    status: str
    exchanges: list[str]
    priority: int
    config: JsonObject
    createdAt: str
    updatedAt: str


class AccountOut(BaseModel):
    id: str
    userId: str
    exchange: str
    label: str | None
    uid: str | None
    hasPassword: bool
    isEncrypted: bool
    isValid: bool | None
    createdAt: str
    updatedAt: str


class ExchangeKeyOut(BaseModel):
    id: str
    exchange: str
    label: str | None
    createdAt: str
    isValid: bool | None


class ExchangeKeyList(BaseModel):
    keys: list[ExchangeKeyOut]


class ExchangeKeyCreated(BaseModel):
    id: str
    exchange: str
    label: str | None
    createdAt: str


class ExchangeKeyDeleted(BaseModel):
    deleted: bool
