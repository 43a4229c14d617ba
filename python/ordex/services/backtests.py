"""Backtests: a user's flow run by the Rust evaluator over closed candles, stored with its trades.

The flow's settings take the backtest's exchange, symbol and timeframe (and its capital, fee and
slippage when given); that document is what runs and what is stored, so a stored backtest says
exactly what produced it even after the flow changes. The flow is validated before any candle is
downloaded. The evaluation runs in a worker thread (the binding releases the GIL), and the
backtest and its trades are written in one transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ordex
from ordex.db import backtests as backtests_repo
from ordex.db.backtests import BacktestRow, BacktestSummaryRow, BacktestTradeRow, NewBacktest
from ordex.db.candles import CandleColumns
from ordex.db.types import Connection
from ordex.services.candles import CandleQuery, load_candles, utc, window
from ordex.services.errors import ServiceError
from ordex.services.market_data import CcxtExchanges
from ordex.services.markets import MarketRegistry

COMPLETED = "completed"
# The metrics of the contract's response, in its order; the evaluator's others (fees, final
# equity) are stored with them and shown beside them.
CONTRACT_METRICS = (
    "pnl", "pnlPercent", "winRate", "maxDrawdown", "maxDrawdownPercent", "sharpeRatio",
    "profitFactor", "totalTrades", "winningTrades", "losingTrades",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    """What to run a flow over; None keeps the flow's own setting."""

    exchange: str
    symbol: str
    timeframe: str
    start: datetime
    end: datetime
    initial_capital: float | None = None
    fee_bps: float | None = None
    slippage_bps: float | None = None

    def candle_query(self) -> CandleQuery:
        return CandleQuery(self.exchange, self.symbol, self.timeframe, self.start, self.end)


def flow_not_found() -> ServiceError:
    return ServiceError(404, "FLOW_NOT_FOUND", "Flow not found")


def backtest_not_found() -> ServiceError:
    return ServiceError(404, "BACKTEST_NOT_FOUND", "Backtest not found")


def invalid_flow(exc: ordex.FlowValidationError) -> ServiceError:
    return ServiceError(
        400,
        "INVALID_FLOW",
        str(exc),
        details={"node": exc.node, "problem": exc.problem, "param": exc.param},
    )


def no_candles(spec: BacktestSpec) -> ServiceError:
    return ServiceError(
        422,
        "NO_CANDLES",
        f"{spec.exchange} has no closed {spec.timeframe} candles for {spec.symbol} between "
        f"{iso(spec.start)} and {iso(spec.end)}",
    )


def flow_for_run(document: Mapping[str, Any], spec: BacktestSpec) -> dict[str, Any]:
    """The flow document with the backtest's market and overrides in its settings."""
    raw_settings = document.get("settings")
    settings = dict(raw_settings) if isinstance(raw_settings, Mapping) else {}
    settings.update(exchange=spec.exchange, symbol=spec.symbol, timeframe=spec.timeframe)
    overrides = {
        "initialCapital": spec.initial_capital,
        "feeBps": spec.fee_bps,
        "slippageBps": spec.slippage_bps,
    }
    settings.update({key: value for key, value in overrides.items() if value is not None})
    return {**document, "settings": settings}


def check_flow(document: Mapping[str, Any]) -> None:
    try:
        ordex.validate_flow(dict(document))
    except ordex.FlowValidationError as exc:
        raise invalid_flow(exc) from None


async def evaluate(document: Mapping[str, Any], candles: CandleColumns) -> ordex.BacktestResult:
    """The evaluator's run over the candles, off the event loop."""
    try:
        return await asyncio.to_thread(ordex.backtest, dict(document), candles.as_mapping())
    except ordex.FlowValidationError as exc:
        raise invalid_flow(exc) from None


# --- JSON shapes --------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """`2025-01-01T00:00:00Z`, with milliseconds only when there are some."""
    moment = utc(moment)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def contract_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {key: metrics.get(key) for key in CONTRACT_METRICS}


def equity_curve(daily: Sequence[tuple[int, float]]) -> list[dict[str, Any]]:
    return [{"timestamp": iso(from_ms(ms)), "equity": equity} for ms, equity in daily]


def trade_rows(trades: Sequence[Mapping[str, Any]]) -> list[BacktestTradeRow]:
    """The evaluator's closed trades (prices and amounts as decimal strings) as stored rows."""
    return [
        BacktestTradeRow(
            seq=seq,
            side=str(t["side"]),
            entry_time=from_ms(int(t["entryTime"])),
            exit_time=from_ms(int(t["exitTime"])),
            entry_bar=int(t["entryBar"]),
            exit_bar=int(t["exitBar"]),
            quantity=Decimal(str(t["quantity"])),
            entry_price=Decimal(str(t["entryPrice"])),
            exit_price=Decimal(str(t["exitPrice"])),
            pnl=Decimal(str(t["pnl"])),
            fees=Decimal(str(t["fees"])),
            exit_reason=str(t["exitReason"]),
        )
        for seq, t in enumerate(trades, start=1)
    ]


def trade_json(row: BacktestTradeRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "side": row.side,
        "entryTime": iso(row.entry_time),
        "exitTime": iso(row.exit_time),
        "entryBar": row.entry_bar,
        "exitBar": row.exit_bar,
        "quantity": float(row.quantity),
        "entryPrice": float(row.entry_price),
        "exitPrice": float(row.exit_price),
        "pnl": float(row.pnl),
        "fees": float(row.fees),
        "exitReason": row.exit_reason,
    }


def _extras(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {"finalEquity": metrics.get("finalEquity"), "fees": metrics.get("fees")}


def run_json(row: BacktestRow) -> dict[str, Any]:
    """The answer of a run: the contract's fields, then the bar count and two more figures."""
    return {
        "backtestId": str(row.id),
        "status": row.status,
        "metrics": contract_metrics(row.metrics),
        "equityCurve": row.equity_curve,
        "bars": row.bars,
        **_extras(row.metrics),
    }


def summary_json(row: BacktestSummaryRow) -> dict[str, Any]:
    return {
        "backtestId": str(row.id),
        "flowId": None if row.flow_id is None else str(row.flow_id),
        "exchange": row.exchange,
        "symbol": row.symbol,
        "timeframe": row.timeframe,
        "startDate": iso(row.start_date),
        "endDate": iso(row.end_date),
        "status": row.status,
        "metrics": contract_metrics(row.metrics),
        **_extras(row.metrics),
        "bars": row.bars,
        "createdAt": iso(row.created_at),
    }


def detail_json(row: BacktestRow, trades: Sequence[BacktestTradeRow]) -> dict[str, Any]:
    return {
        **summary_json(row),
        "equityCurve": row.equity_curve,
        "flow": row.flow_snapshot,
        "trades": [trade_json(t) for t in trades],
    }


# --- operations ---------------------------------------------------------------------------------


async def run_backtest(
    conn: Connection,
    exchanges: CcxtExchanges,
    registry: MarketRegistry,
    user_id: uuid.UUID,
    flow_id: uuid.UUID,
    spec: BacktestSpec,
) -> dict[str, Any]:
    window(spec.candle_query())  # bad dates and timeframes are 400s before anything else
    stored = await backtests_repo.flow_document(conn, user_id, flow_id)
    if stored is None:
        raise flow_not_found()
    document = flow_for_run(stored, spec)
    check_flow(document)
    candles = await load_candles(
        spec.candle_query(), exchanges=exchanges, conn=conn, registry=registry
    )
    if len(candles) == 0:
        raise no_candles(spec)
    result = await evaluate(document, candles)
    trades = trade_rows(result.trades)
    async with conn.transaction():
        row = await backtests_repo.insert_backtest(
            conn,
            NewBacktest(
                user_id=user_id,
                flow_id=flow_id,
                exchange=spec.exchange,
                symbol=spec.symbol,
                timeframe=spec.timeframe,
                start_date=utc(spec.start),
                end_date=utc(spec.end),
                status=COMPLETED,
                flow_snapshot=document,
                metrics=dict(result.metrics),
                equity_curve=equity_curve(result.daily_equity()),
                bars=len(candles),
            ),
        )
        await backtests_repo.insert_trades(conn, row.id, trades)
    return run_json(row)


async def get_backtest(
    conn: Connection, user_id: uuid.UUID, backtest_id: uuid.UUID
) -> dict[str, Any]:
    row = await backtests_repo.get_backtest(conn, user_id, backtest_id)
    if row is None:
        raise backtest_not_found()
    return detail_json(row, await backtests_repo.list_trades(conn, row.id))


async def list_backtests(
    conn: Connection,
    user_id: uuid.UUID,
    flow_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows, total = await backtests_repo.list_backtests(conn, user_id, flow_id, limit, offset)
    return {"backtests": [summary_json(r) for r in rows], "total": total}
