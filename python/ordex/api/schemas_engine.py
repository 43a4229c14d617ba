"""Request bodies and response models of the engine routes (`/api/engine/*`: backtests).

Bodies reject unknown fields (a typo is a 400 naming the field). Numbers are JSON numbers; times
are ISO 8601 in UTC (`2025-01-01T00:00:00Z`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ordex.api.schemas import API_ERRORS

Timeframe = Literal["1m", "5m", "15m", "30m", "1h", "4h", "1d"]
Bps = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class EngineErrorOut(BaseModel):
    """Errors under /api; `details` of INVALID_FLOW is `{node, problem, param}`."""

    error: str = Field(description="What went wrong")
    code: str = Field(description="Stable error code")
    details: Any = Field(default=None, description="More about the error, when there is more")
    field: str | None = Field(default=None, description="The request field concerned")


ENGINE_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    400: {
        "model": EngineErrorOut,
        "description": "Invalid request: VALIDATION_ERROR, INVALID_DATE_RANGE, RANGE_TOO_LARGE, "
        "INVALID_FLOW (a flow that no longer validates), UNKNOWN_EXCHANGE, BAD_SYMBOL, "
        "NOT_SUPPORTED",
    },
    404: {
        "model": EngineErrorOut,
        "description": "FLOW_NOT_FOUND or BACKTEST_NOT_FOUND (also for another user's)",
    },
}
RUN_ERRORS: dict[int | str, dict[str, Any]] = {
    408: {"model": EngineErrorOut, "description": "REQUEST_TIMEOUT: the exchange timed out"},
    422: {"model": EngineErrorOut, "description": "NO_CANDLES: no closed candle in the range"},
    429: {"model": EngineErrorOut, "description": "RATE_LIMITED by the exchange"},
    502: {"model": EngineErrorOut, "description": "EXCHANGE_ERROR: the exchange failed"},
    503: {"model": EngineErrorOut, "description": "EXCHANGE_UNAVAILABLE: unreachable"},
}


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flowId: str = Field(min_length=1, max_length=100, description="The flow to backtest")
    exchange: str = Field(
        pattern=r"^[a-z0-9_]{1,50}$",
        description="Where candles come from: a ccxt exchange id, or `ordex` for its own trades",
    )
    symbol: str = Field(
        min_length=1, max_length=64, description="Unified trading pair, e.g. BTC/USDT"
    )
    timeframe: Timeframe = Field(description="Candle timeframe")
    startDate: datetime = Field(description="ISO 8601 start (inclusive); no zone means UTC")
    endDate: datetime = Field(description="ISO 8601 end (exclusive), after startDate")
    initialCapital: float | None = Field(
        default=None,
        gt=0,
        le=1e15,
        allow_inf_nan=False,
        description="Starting cash in quote currency (default: the flow's settings)",
    )
    feeBps: Bps | None = Field(
        default=None, description="Fee per fill in basis points (default: the flow's)"
    )
    slippageBps: Bps | None = Field(
        default=None, description="Market fill slippage in basis points (default: the flow's)"
    )


class BacktestMetricsOut(BaseModel):
    pnl: float = Field(description="Final equity minus initial capital")
    pnlPercent: float = Field(description="pnl as a percent of initial capital")
    winRate: float = Field(description="Share (0..1) of closed trades with net PnL > 0")
    maxDrawdown: float = Field(description="Largest fall of equity from its running peak")
    maxDrawdownPercent: float = Field(description="That fall as a percent of the peak")
    sharpeRatio: float | None = Field(
        description="Annualised (x sqrt 365) from daily equity returns; null with too few days"
    )
    profitFactor: float | None = Field(
        description="Gross profit / gross loss of closed trades; null when nothing was lost"
    )
    totalTrades: int = Field(description="Closed trades")
    winningTrades: int = Field(description="Closed trades with net PnL > 0")
    losingTrades: int = Field(description="Closed trades with net PnL <= 0")


class EquityPointOut(BaseModel):
    timestamp: str = Field(description="ISO 8601 start of the UTC day")
    equity: float = Field(description="Equity at the close of the day's last bar")


class BacktestRunOut(BaseModel):
    backtestId: str = Field(description="Id of the stored backtest")
    status: Literal["completed"] = Field(description="Always completed: the run is synchronous")
    metrics: BacktestMetricsOut
    equityCurve: list[EquityPointOut] = Field(description="Equity at the end of each UTC day")
    bars: int = Field(description="Candles the flow ran over")
    finalEquity: float | None = Field(description="Equity after the last bar")
    fees: float | None = Field(description="Fees paid")


class BacktestTradeOut(BaseModel):
    seq: int = Field(description="1, 2, ... in order of entry")
    side: Literal["long", "short"]
    entryTime: str = Field(description="ISO 8601 time of the entry fill's bar")
    exitTime: str = Field(description="ISO 8601 time of the exit fill's bar")
    entryBar: int = Field(description="Index of the entry bar")
    exitBar: int = Field(description="Index of the exit bar")
    quantity: float = Field(description="Base units")
    entryPrice: float
    exitPrice: float
    pnl: float = Field(description="Net of fees")
    fees: float
    exitReason: str = Field(description="What closed the trade (signal, stop loss, ...)")


class BacktestSummaryOut(BaseModel):
    backtestId: str
    flowId: str | None = Field(description="The flow run; null once that flow is deleted")
    exchange: str
    symbol: str
    timeframe: str
    startDate: str = Field(description="ISO 8601, as requested")
    endDate: str = Field(description="ISO 8601, as requested")
    status: str
    metrics: BacktestMetricsOut
    finalEquity: float | None
    fees: float | None
    bars: int
    createdAt: str


class BacktestDetailOut(BacktestSummaryOut):
    equityCurve: list[EquityPointOut]
    flow: dict[str, Any] = Field(description="The flow document that ran, overrides included")
    trades: list[BacktestTradeOut] = Field(description="Closed trades in order")


class BacktestListOut(BaseModel):
    backtests: list[BacktestSummaryOut] = Field(description="Newest first")
    total: int = Field(description="All the caller's backtests matching the filter")
