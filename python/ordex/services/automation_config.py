"""Configuration of automation: the deployment's (environment) and each user's runtime config.

- `AutomationSettings`: read from the environment like `ordex.config.Settings` (same `.env`):
  agent health, the per-model LLM price table, the prompt-embedding length, HNSW search width.
- `/api/v1/config`: the contract's sections (app, trading, risk, llm). A user's changes are stored
  in PostgreSQL (so every API process answers the same) as the flat field names a PATCH takes;
  everything else is the defaults below. `ConfigChanges` validates a whole PATCH before anything
  is written, and the write is one statement: a PATCH applies entirely or not at all.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordex.db import automation_config as config_repo
from ordex.db.types import Connection
from ordex.schema_doc import not_null
from ordex.version import VERSION


class ModelPrice(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(extra="forbid")

    prompt: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
    completion: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


# List prices of common models (USD per million prompt / completion tokens); ORDEX_LLM_PRICES
# replaces the table (JSON: {"model": {"prompt": 3, "completion": 15}, ...}).
DEFAULT_PRICES: dict[str, ModelPrice] = {
    name: ModelPrice(prompt=Decimal(prompt), completion=Decimal(completion))
    for name, prompt, completion in (
        ("claude-opus-4", "15", "75"),
        ("claude-sonnet-4", "3", "15"),
        ("claude-3-5-haiku", "0.8", "4"),
        ("claude-haiku-4-5", "1", "5"),
        ("gpt-4-turbo", "10", "30"),
        ("gpt-4o", "2.5", "10"),
        ("gpt-4o-mini", "0.15", "0.6"),
    )
}


class AutomationSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # The heartbeat interval of an agent that does not state its own, and of session runners.
    ordex_agent_heartbeat_seconds: Annotated[float, Field(ge=1, le=86_400)] = 30.0
    # An agent is unhealthy once its last heartbeat is older than this many of its intervals.
    ordex_agent_unhealthy_after: Annotated[float, Field(ge=1, le=100)] = 3.0
    # How often the API process holding the check's lease looks for agents gone stale.
    ordex_agent_check_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    ordex_llm_prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    # The length of the prompt embeddings agents send (OpenAI text-embedding-3-small's by default;
    # the migration indexes this length).
    ordex_prompt_embedding_dimensions: Annotated[int, Field(ge=2, le=16_000)] = 1536
    # Candidates an HNSW search keeps (pgvector's hnsw.ef_search, at least the limit asked for):
    # wider is better recall and slower (benchmarks/decisions measures both).
    ordex_decisions_ef_search: Annotated[int, Field(ge=10, le=1000)] = 100
    ordex_environment: str = "development"

    def price_of(self, model: str | None) -> ModelPrice | None:
        """The model's price: an exact entry, else the longest entry the name starts with
        followed by '-' (`claude-sonnet-4-20250514` is priced as `claude-sonnet-4`)."""
        if not model:
            return None
        found = self.ordex_llm_prices.get(model)
        if found is not None:
            return found
        prefixes = [k for k in self.ordex_llm_prices if model.startswith(k + "-")]
        return self.ordex_llm_prices[max(prefixes, key=len)] if prefixes else None


@lru_cache(maxsize=1)
def environment_settings() -> AutomationSettings:
    """The settings as the environment gives them, read once (for callers outside a request:
    the session runners)."""
    return AutomationSettings()


# --- /api/v1/config -----------------------------------------------------------------------------

DEFAULTS: dict[str, dict[str, Any]] = {
    "trading": {
        "mode": "paper",
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "initial_capital": 10000.0,
        "max_positions": 3,
        "default_quantity": 0.1,
    },
    "risk": {
        "max_position_size": 0.2,
        "max_daily_loss": 0.05,
        "max_drawdown": 0.15,
        "default_stop_loss": 0.02,
        "default_take_profit": 0.05,
        "llm_approval_required": True,
        "min_confidence": 0.7,
    },
    "llm": {
        "gateway": "anthropic",
        "primary_model": "claude-sonnet-4",
        "fallback_model": "gpt-4-turbo",
        "temperature": 0.7,
        "max_tokens": 2000,
        "enable_caching": True,
    },
}

# PATCH field -> (section, key) of the config it changes.
UPDATABLE: dict[str, tuple[str, str]] = {
    "trading_mode": ("trading", "mode"),
    "initial_capital": ("trading", "initial_capital"),
    "max_positions": ("trading", "max_positions"),
    "max_position_size": ("risk", "max_position_size"),
    "max_daily_loss": ("risk", "max_daily_loss"),
    "max_drawdown": ("risk", "max_drawdown"),
    "default_stop_loss": ("risk", "default_stop_loss"),
    "default_take_profit": ("risk", "default_take_profit"),
    "min_confidence": ("risk", "min_confidence"),
    "llm_approval_required": ("risk", "llm_approval_required"),
    "llm_temperature": ("llm", "temperature"),
    "llm_max_tokens": ("llm", "max_tokens"),
}


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class ConfigChanges(BaseModel):
    """A PATCH of /api/v1/config: any of the updatable fields, each within its range. Numbers
    may be JSON numbers or decimal strings; unknown fields and nulls are refused by name."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=not_null(at_least_one=True))

    trading_mode: Annotated[
        Literal["paper", "live"] | None,
        BeforeValidator(_lower),
        Field(description="`paper` or `live` (any case)"),
    ] = None
    initial_capital: Annotated[
        float | None, Field(gt=0, le=1e12, allow_inf_nan=False, description="> 0")
    ] = None
    max_positions: Annotated[int | None, Field(ge=1, le=1000, description="1 to 1000")] = None
    max_position_size: Annotated[
        Fraction | None, Field(description="fraction of capital, (0, 1]")
    ] = None
    max_daily_loss: Annotated[Fraction | None, Field(description="fraction, (0, 1]")] = None
    max_drawdown: Annotated[Fraction | None, Field(description="fraction, (0, 1]")] = None
    default_stop_loss: Annotated[
        float | None, Field(gt=0, lt=1, allow_inf_nan=False, description="fraction, (0, 1)")
    ] = None
    default_take_profit: Annotated[
        float | None, Field(gt=0, le=10, allow_inf_nan=False, description="fraction, (0, 10]")
    ] = None
    min_confidence: Annotated[
        float | None, Field(ge=0, le=1, allow_inf_nan=False, description="[0, 1]")
    ] = None
    llm_approval_required: Annotated[bool | None, Field(strict=True)] = None
    llm_temperature: Annotated[
        float | None, Field(ge=0, le=2, allow_inf_nan=False, description="[0, 2]")
    ] = None
    llm_max_tokens: Annotated[
        int | None, Field(ge=1, le=1_000_000, description="1 to 1,000,000")
    ] = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        # Before the type, so the 400 names the field: a null is refused, and so is a boolean
        # where a number goes (pydantic would read true as 1).
        if value is None:
            raise ValueError("must not be null")
        if isinstance(value, bool) and info.field_name != "llm_approval_required":
            raise ValueError("must be a number or text, not a boolean")
        return value

    @model_validator(mode="after")
    def _some_field(self) -> ConfigChanges:
        if not self.model_fields_set:
            raise ValueError(f"no field to update (updatable: {', '.join(UPDATABLE)})")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def resolved_config(
    overrides: dict[str, Any], *, environment: str, log_level: str
) -> dict[str, Any]:
    """The contract's sections: defaults with the user's changes applied."""
    sections = {name: dict(values) for name, values in DEFAULTS.items()}
    for field, value in overrides.items():
        target = UPDATABLE.get(field)
        if target is not None:  # a field a later version no longer has is ignored
            sections[target[0]][target[1]] = value
    trading = sections["trading"]
    trading["exchange"] = "PAPER" if trading["mode"] == "paper" else "LIVE"
    return {
        "app": {
            "name": "ordex",
            "version": VERSION,
            "environment": environment,
            "log_level": log_level,
        },
        **sections,
    }


async def get_config(
    conn: Connection, user_id: uuid.UUID, *, environment: str, log_level: str
) -> dict[str, Any]:
    """The user's config, every section resolved (what the sessions and agents read too)."""
    overrides = await config_repo.get_overrides(conn, user_id)
    return resolved_config(overrides, environment=environment, log_level=log_level)


async def update_config(
    conn: Connection, user_id: uuid.UUID, changes: ConfigChanges
) -> dict[str, Any]:
    """Store a validated PATCH (one statement: all of it or none) and return what it changed."""
    updates = changes.changes()
    await config_repo.merge_overrides(conn, user_id, updates)
    return updates
