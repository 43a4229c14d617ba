"""Response models of `/api/v1/config`; the PATCH body is the service's `ConfigChanges` (its
ranges are the domain's rules, not the API's)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from ordex.services.automation_config import ConfigChanges


class AppSection(BaseModel):
    name: str
    version: str
    environment: str = Field(description="ORDEX_ENVIRONMENT")
    log_level: str


class TradingSection(BaseModel):
    mode: str = Field(description="`paper` or `live`")
    symbols: list[str]
    exchange: str = Field(description="`PAPER` in paper mode, `LIVE` in live mode")
    initial_capital: float
    max_positions: int
    default_quantity: float


class RiskSection(BaseModel):
    max_position_size: float
    max_daily_loss: float
    max_drawdown: float
    default_stop_loss: float
    default_take_profit: float
    llm_approval_required: bool
    min_confidence: float


class LlmSection(BaseModel):
    gateway: str
    primary_model: str
    fallback_model: str
    temperature: float
    max_tokens: int
    enable_caching: bool


class ConfigSections(BaseModel):
    app: AppSection
    trading: TradingSection
    risk: RiskSection
    llm: LlmSection


class ConfigOut(BaseModel):
    config: ConfigSections


class ConfigUpdated(BaseModel):
    message: str
    updates: dict[str, Any] = Field(description="the fields changed, as stored")
    note: str


ConfigPatch = ConfigChanges
