"""The strategy in vectorbt: TA-Lib indicators, numpy signals, `Portfolio.from_signals`.

Conventions set to ordex's:
- decisions at a bar's close become orders at the next bar's open: the signals are shifted one bar
  and `price` is the open; fees and slippage as fractions; size 1 unit, no accumulation;
- the stop is 2% under the entry fill price (`stop_entry_price="fillprice"`), checked against the
  bar's low and filled at its price, or at the open when the bar opened past it
  (`stop_exit_price="stopmarket"`: no slippage on a stop fill);
- ordex fills an exit queued at the previous close at the open, before any stop is looked at;
  vectorbt looks at the stop first, so on bars with a queued exit the stop is given an open and a
  low it cannot reach.

vectorbt arms a stop from the bar after the entry; ordex checks it on the entry bar too. The
candles never fall 2% below an open within one bar (see data.py), so that case cannot arise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import talib
import vectorbt as vbt

from benchmarks.backtest.data import Candles
from benchmarks.backtest.strategy import Bools, Rules, Trade, crosses, signals

CLOSED = 1  # vectorbt's TradeStatus.Closed


def _shift(a: Bools) -> Bools:
    out = np.zeros_like(a)
    out[1:] = a[:-1]
    return out


def _portfolio(candles: Candles, entries: Bools, exits: Bools, rules: Rules, engine: str) -> Any:
    index = pd.DatetimeIndex(candles.timestamp.astype("datetime64[ms]"))
    fill_entries, fill_exits = _shift(entries), _shift(exits)
    if fill_exits.ndim == 2:
        open_, low = candles.open[:, None], candles.low[:, None]
    else:
        open_, low = candles.open, candles.low
    stop_open = np.where(fill_exits, np.inf, open_)
    stop_low = np.where(fill_exits, np.inf, low)
    return vbt.Portfolio.from_signals(
        pd.Series(candles.close, index=index),
        entries=fill_entries,
        exits=fill_exits,
        price=candles.open if fill_entries.ndim == 1 else candles.open[:, None],
        open=stop_open,
        high=candles.high if fill_entries.ndim == 1 else candles.high[:, None],
        low=stop_low,
        size=rules.size,
        size_type="amount",
        direction="longonly",
        accumulate=False,
        fees=rules.fee,
        slippage=rules.slippage,
        sl_stop=rules.stop_pct,
        stop_entry_price="fillprice",
        stop_exit_price="stopmarket",
        upon_stop_exit="close",
        init_cash=rules.initial_capital,
        freq="1min",
        engine=engine,
    )


@dataclass(frozen=True)
class Run:
    """What one timed run leaves: vectorbt's closed-trade records and the metrics."""

    records: Any
    exits: Bools
    metrics: dict[str, Any]


def run(candles: Candles, rules: Rules, engine: str) -> Run:
    """One backtest, from the candle columns to the metrics ordex reports."""
    entries, exits = signals(candles.close, rules)
    pf = _portfolio(candles, entries, exits, rules, engine)
    records = pf.trades.values
    closed = records[records["status"] == CLOSED]
    value = pf.value()
    daily = value.resample("1D").last().pct_change().dropna()
    pnl = closed["pnl"]
    losses = -pnl[pnl < 0].sum()
    metrics = {
        "pnl": float(value.iloc[-1] - rules.initial_capital),
        "totalTrades": len(closed),
        "winRate": float((pnl > 0).mean()) if len(pnl) else 0.0,
        "maxDrawdown": float((value.cummax() - value).max()),
        "sharpeRatio": float(daily.mean() / daily.std() * np.sqrt(365)) if len(daily) > 1 else None,
        "profitFactor": float(pnl[pnl > 0].sum() / losses) if losses > 0 else None,
        "fees": float(closed["entry_fees"].sum() + closed["exit_fees"].sum()),
    }
    return Run(closed, exits, metrics)


def trades(run: Run) -> list[Trade]:
    """An exit with no exit decision at the bar before it is the stop's."""
    return [
        Trade(
            int(r["entry_idx"]),
            int(r["exit_idx"]),
            float(r["entry_price"]),
            float(r["exit_price"]),
            float(r["pnl"]),
            not bool(run.exits[r["exit_idx"] - 1]),
        )
        for r in run.records
    ]


def sweep(
    candles: Candles, rules: Rules, fasts: list[int], slows: list[int], engine: str
) -> list[dict[str, Any]]:
    """Every (fast, slow) pair as a column of one 2-D `from_signals` call."""
    close = candles.close
    fast_ema = {p: talib.EMA(close, p) for p in fasts}
    slow_ema = {p: talib.EMA(close, p) for p in slows}
    pairs = [(f, s) for f in fasts for s in slows]
    fast = np.column_stack([fast_ema[f] for f, _ in pairs])
    slow = np.column_stack([slow_ema[s] for _, s in pairs])
    rsi_ok = talib.RSI(close, rules.rsi_period) < rules.rsi_below
    entries, exits = crosses(fast, slow, rsi_ok, 0)
    # Each column's own warm-up, as ordex's plan for that pair has it.
    for col, (f, s) in enumerate(pairs):
        start = rules.with_periods(f, s).warm_up
        entries[:start, col] = False
        exits[:start, col] = False
    pf = _portfolio(candles, entries, exits, rules, engine)
    # Every trade's PnL, the open ones marked at the last close, adds up to the total profit.
    records = pf.trades.values
    profit = np.bincount(records["col"], weights=records["pnl"], minlength=len(pairs))
    counts = np.bincount(records["col"][records["status"] == CLOSED], minlength=len(pairs))
    return [
        {"fast": f, "slow": s, "totalTrades": int(counts[i]), "pnl": float(profit[i])}
        for i, (f, s) in enumerate(pairs)
    ]
