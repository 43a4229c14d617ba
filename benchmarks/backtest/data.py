"""The benchmark's candles: a seeded geometric random walk of one-minute OHLCV bars (numpy, untimed).

Volatility moves between regimes (quiet to stormy) so the 2% stop is hit now and then, and one
bar in 400 opens with a gap from the previous close, so some stops are gapped through and fill at
the open. A bar never trades more than 1.4% below its own open: vectorbt cannot stop a position out
on the bar it entered (its stop is armed from the next bar), while ordex and backtesting.py can, so
a 2% stop never triggers on an entry bar here and the three give the same trades.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

START_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE_MS = 60_000

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Candles:
    timestamp: npt.NDArray[np.int64]
    open: Floats
    high: Floats
    low: Floats
    close: Floats
    volume: Floats

    def __len__(self) -> int:
        return len(self.close)

    def as_mapping(self) -> dict[str, npt.NDArray[np.int64] | Floats]:
        """The columns by the names `ordex.backtest` reads."""
        return {
            "timestamp": self.timestamp,
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }


def random_walk(bars: int, seed: int = 7, start_price: float = 100.0) -> Candles:
    """`bars` one-minute candles; high >= max(open, close) and low <= min(open, close) hold exactly."""
    rng = np.random.default_rng(seed)
    # Regimes of 500..5,000 bars, each with its own per-bar volatility.
    lengths = rng.integers(500, 5_000, size=bars // 500 + 2)
    sigmas = rng.choice(np.array([0.0005, 0.001, 0.002, 0.005]), size=len(lengths))
    sigma = np.repeat(sigmas, lengths)[:bars]
    body = np.clip(rng.standard_normal(bars) * sigma, -0.012, 0.012)
    gap = np.where(rng.random(bars) < 1 / 400, rng.standard_normal(bars) * 0.015, 0.0)
    gap[0] = 0.0
    # log(open_t) = log(close_{t-1}) + gap_t; log(close_t) = log(open_t) + body_t
    log_close = np.log(start_price) + np.cumsum(gap + body)
    log_open = log_close - body
    wick_up = np.minimum(np.abs(rng.standard_normal(bars)) * sigma * 0.5, 0.002)
    wick_down = np.minimum(np.abs(rng.standard_normal(bars)) * sigma * 0.5, 0.002)
    open_ = np.round(np.exp(log_open), 8)
    close = np.round(np.exp(log_close), 8)
    high = np.round(np.maximum(open_, close) * np.exp(wick_up), 8)
    low = np.round(np.minimum(open_, close) * np.exp(-wick_down), 8)
    volume = np.round(rng.lognormal(1.0, 1.0, bars), 8)
    timestamp = START_MS + MINUTE_MS * np.arange(bars, dtype=np.int64)
    return Candles(timestamp, open_, high, low, close, volume)
