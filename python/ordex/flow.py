"""Strategy flows from Python: validation, backtests, parameter sweeps and single indicators, all
run by the Rust evaluator (`rust/ordex-flow`) with the GIL released. A flow may be given as a
mapping or as JSON text; candles as a mapping of columns (`timestamp` in ms, `open`, `high`, `low`,
`close`, `volume`), each a list, an `array.array` or a NumPy array. See docs/flows.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

from ordex import _engine
from ordex._engine import BacktestResult, FlowRun, FlowValidationError, node_types

__all__ = [
    "BacktestResult",
    "FlowRun",
    "FlowValidationError",
    "backtest",
    "flow_run",
    "indicator",
    "node_types",
    "sweep",
    "validate_flow",
]

Flow = Mapping[str, Any] | str | bytes
Capital = Decimal | int | float | str | None


def _text(flow: Flow) -> str | bytes:
    if isinstance(flow, str | bytes):
        return flow
    try:
        return orjson.dumps(flow)
    except TypeError as exc:  # numbers beyond 64 bits, non-JSON values
        raise FlowValidationError(f"the flow is not JSON-serialisable: {exc}") from None


def validate_flow(flow: Flow) -> dict[str, Any]:
    """Checks a flow; returns `nodes`, `edges`, `warmup` and the evaluation `order`. Raises
    `FlowValidationError` (with `node`, `problem`, `param`) naming the first problem."""
    return _engine.validate_flow(_text(flow))


def _capital(value: Capital) -> Decimal | float | str | None:
    return value if value is None or isinstance(value, Decimal | float | str) else str(value)


def backtest(
    flow: Flow,
    candles: Mapping[str, Any],
    *,
    initial_capital: Capital = None,
    fee_bps: float | None = None,
    slippage_bps: float | None = None,
    price_decimals: int = 8,
    qty_decimals: int = 8,
    keep_equity: bool = True,
) -> BacktestResult:
    """Runs the flow over the candles (overrides win over the flow's settings)."""
    return _engine.backtest(
        _text(flow),
        candles,
        initial_capital=_capital(initial_capital),
        fee_bps=fee_bps,
        slippage_bps=slippage_bps,
        price_decimals=price_decimals,
        qty_decimals=qty_decimals,
        keep_equity=keep_equity,
    )


def sweep(
    flow: Flow,
    candles: Mapping[str, Any],
    grid: Mapping[str, Sequence[float]],
    *,
    initial_capital: Capital = None,
    fee_bps: float | None = None,
    slippage_bps: float | None = None,
    price_decimals: int = 8,
    qty_decimals: int = 8,
) -> list[dict[str, Any]]:
    """Every combination of `grid` (`{"nodeId.param": [values]}`), evaluated in parallel: one
    row per combination with `params`, the metrics and `error`."""
    return _engine.sweep(
        _text(flow),
        candles,
        [(key, [float(v) for v in values]) for key, values in grid.items()],
        initial_capital=_capital(initial_capital),
        fee_bps=fee_bps,
        slippage_bps=slippage_bps,
        price_decimals=price_decimals,
        qty_decimals=qty_decimals,
    )


def flow_run(
    flow: Flow,
    *,
    initial_capital: Capital = None,
    fee_bps: float | None = None,
    slippage_bps: float | None = None,
    price_decimals: int = 8,
    qty_decimals: int = 8,
) -> FlowRun:
    """A live run of the flow: `step` it one closed candle at a time (the backtest's code)."""
    return FlowRun(
        _text(flow),
        initial_capital=_capital(initial_capital),
        fee_bps=fee_bps,
        slippage_bps=slippage_bps,
        price_decimals=price_decimals,
        qty_decimals=qty_decimals,
    )


def indicator(
    type_name: str, params: Mapping[str, Any], candles: Mapping[str, Any]
) -> dict[str, list[float]]:
    """One indicator node (`indicator.sma`, or just `sma`) over the candles' closes: its
    outputs by port name, NaN while warming up."""
    name = type_name if "." in type_name else f"indicator.{type_name}"
    return _engine.indicator(name, orjson.dumps(dict(params)).decode(), candles)
