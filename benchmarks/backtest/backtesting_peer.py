"""The strategy in backtesting.py: a `Strategy` whose `next()` applies the rules bar by bar.

Conventions set to ordex's:
- `trade_on_close=False`: orders placed at a bar's close fill at the next bar's open;
- `spread` is the slippage: backtesting.py buys at the open plus the spread; `commission` is the
  fee on the fill's notional;
- the stop loss is a backtesting.py SL order at 2% under the entry fill price. backtesting.py takes
  a stop as a price when the order is placed, before the fill is known, so the strategy reads the
  next bar's open to place it where ordex's stop will be (the one look-ahead, and it only sets the
  level); the SL is checked against the low from the entry bar on and fills at its price or at the
  open when the bar opened past it, as ordex's;
- ordex fills an exit queued at the previous close at the open before looking at the stop, so the
  strategy cancels the SL when it decides to exit.

backtesting.py applies its spread on entries only and charges commission on the unslipped exit
price, while ordex sells at the exit's reference price (the open, the stop, or the open a stop was
gapped through) less the slippage. The exit prices and PnL compared are therefore backtesting.py's
fills with the exit slippage applied and the fee taken on the slipped notional.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import backtesting.backtesting
import numpy as np
import pandas as pd
import talib
from backtesting import Backtest, Strategy

from benchmarks.backtest.data import Candles, Floats
from benchmarks.backtest.strategy import Rules, Trade

# No progress bar over the bars (it would write to the terminal during the timing).
backtesting.backtesting._tqdm = lambda seq, **_: seq


class EmaCrossRsi(Strategy):  # type: ignore[misc]
    fast = 10
    slow = 30
    rsi_period = 14
    rsi_below = 70.0
    stop_pct = 0.02
    slippage = 0.0005
    next_open: ClassVar[Floats] = np.empty(0)

    def init(self) -> None:
        close = self.data.Close
        self.fast_ema = self.I(talib.EMA, close, self.fast)
        self.slow_ema = self.I(talib.EMA, close, self.slow)
        self.rsi = self.I(talib.RSI, close, self.rsi_period)
        self.exit_decisions: list[int] = []
        self.deferred_sl: float | None = None

    def next(self) -> None:
        fast, slow = self.fast_ema, self.slow_ema
        bar = len(self.data) - 1
        if self.deferred_sl is not None:
            if self.trades:
                self.trades[-1].sl = self.deferred_sl
            self.deferred_sl = None
        if self.position:
            if fast[-2] >= slow[-2] and fast[-1] < slow[-1]:
                for trade in self.trades:
                    trade.sl = None
                self.position.close()
                self.exit_decisions.append(bar)
        elif (
            fast[-2] <= slow[-2]
            and fast[-1] > slow[-1]
            and self.rsi[-1] < self.rsi_below
            and bar + 1 < len(self.next_open)
        ):
            fill = self.next_open[bar + 1] * (1 + self.slippage)
            stop = fill * (1 - self.stop_pct)
            if stop < self.data.Close[-1] * (1 + self.slippage):
                self.buy(size=1, sl=stop)
            else:
                # backtesting.py refuses an SL above the current price: the next bar opens more
                # than 2% lower. The SL is set once the trade is open; the entry bar itself cannot
                # fall another 2% (data.py), so nothing is missed.
                self.buy(size=1)
                self.deferred_sl = stop


@dataclass(frozen=True)
class Run:
    stats: Any
    exit_decisions: list[int]


def run(candles: Candles, rules: Rules) -> Run:
    """One backtest, from the candle columns to backtesting.py's statistics."""
    frame = pd.DataFrame(
        {
            "Open": candles.open,
            "High": candles.high,
            "Low": candles.low,
            "Close": candles.close,
            "Volume": candles.volume,
        },
        index=pd.DatetimeIndex(candles.timestamp.astype("datetime64[ms]")),
    )
    strategy = type(
        "EmaCrossRsiRun",
        (EmaCrossRsi,),
        {
            "fast": rules.fast,
            "slow": rules.slow,
            "rsi_period": rules.rsi_period,
            "rsi_below": rules.rsi_below,
            "stop_pct": rules.stop_pct,
            "slippage": rules.slippage,
            "next_open": candles.open,
        },
    )
    bt = Backtest(
        frame,
        strategy,
        cash=rules.initial_capital,
        commission=rules.fee,
        spread=rules.slippage,
        trade_on_close=False,
        hedging=False,
        exclusive_orders=False,
        finalize_trades=False,
    )
    with warnings.catch_warnings():
        # The last trade may stay open, as it does in ordex, and backtesting.py warns about it.
        warnings.simplefilter("ignore")
        stats = bt.run()
    return Run(stats, list(stats._strategy.exit_decisions))


def trades(run: Run, rules: Rules) -> list[Trade]:
    decided = set(run.exit_decisions)
    out: list[Trade] = []
    for row in run.stats._trades.itertuples():
        entry_bar, exit_bar = int(row.EntryBar), int(row.ExitBar)
        stopped = exit_bar - 1 not in decided
        entry = float(row.EntryPrice)
        exit_ = float(row.ExitPrice) * (1 - rules.slippage)
        pnl = (exit_ - entry) * rules.size - rules.fee * rules.size * (entry + exit_)
        out.append(Trade(entry_bar, exit_bar, entry, exit_, pnl, stopped))
    return out
