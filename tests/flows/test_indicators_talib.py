"""Indicator nodes agree with TA-Lib: the same NaN warm-up, then the same values to 1e-9 relative.

`ordex.indicator` runs one indicator node (the code the flows run) over candle columns; TA-Lib's C
functions are the reference. Three seeded series: a random walk, one with flat stretches (zero
gains and losses, zero variance) and gaps of up to 40% between bars, and a coin priced near 2e-7.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import talib

import ordex

Floats = npt.NDArray[np.float64]
BARS = 5_000


@dataclass(frozen=True)
class Series:
    name: str
    candles: dict[str, Any]

    @property
    def close(self) -> Floats:
        return np.asarray(self.candles["close"])

    def column(self, name: str) -> Floats:
        return np.asarray(self.candles[name])


def _candles(open_: Floats, close: Floats, rng: np.random.Generator) -> dict[str, Any]:
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    spread = np.abs(close - open_) + 1e-3 * close
    high = top + rng.random(len(close)) * spread
    low = bottom - rng.random(len(close)) * spread * 0.9
    return {
        "timestamp": 1_704_067_200_000 + 60_000 * np.arange(len(close), dtype=np.int64),
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": rng.lognormal(1.0, 1.0, len(close)),
    }


def random_walk(seed: int = 11) -> Series:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, BARS)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return Series("random walk", _candles(open_, close, rng))


def flat_and_gaps(seed: int = 12) -> Series:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.01, BARS)
    for start, length in ((300, 1_000), (2_500, 60), (3_600, 15), (4_300, 3)):
        steps[start : start + length] = 0.0  # flat: every close the same
    close = 50.0 * np.exp(np.cumsum(steps))
    open_ = np.concatenate(([50.0], close[:-1]))
    for bar, jump in ((1_700, 1.4), (1_701, 0.7), (2_200, 0.6), (3_000, 1.35), (4_700, 0.75)):
        # a gap: the bar opens far from the previous close and everything after moves with it
        close[bar:] *= jump
        open_[bar + 1 :] *= jump
        open_[bar] = close[bar] * (1 + rng.normal(0.0, 0.005))
    candles = _candles(open_, close, rng)
    for start, length in ((300, 1_000), (2_500, 60), (3_600, 15), (4_300, 3)):
        flat = slice(start + 1, start + length)
        for col in ("open", "high", "low"):
            candles[col][flat] = close[flat]
    return Series("flat stretches and gaps", candles)


def low_priced(seed: int = 13) -> Series:
    """A coin quoted around 2e-7 (as some meme coins are against USDT): variances and Wilder
    averages far below 1e-8 in absolute terms."""
    rng = np.random.default_rng(seed)
    close = 2e-7 * np.exp(np.cumsum(rng.normal(0.0, 0.01, BARS)))
    open_ = np.concatenate(([2e-7], close[:-1]))
    return Series("low-priced coin", _candles(open_, close, rng))


SERIES = (random_walk(), flat_and_gaps(), low_priced())

Reference = Callable[[Series], dict[str, Floats]]


def _sma(period: int) -> Reference:
    return lambda s: {"value": talib.SMA(s.close, period)}


def _ema(period: int) -> Reference:
    return lambda s: {"value": talib.EMA(s.close, period)}


def _rsi(period: int) -> Reference:
    return lambda s: {"value": talib.RSI(s.close, period)}


def _atr(period: int) -> Reference:
    return lambda s: {
        "value": talib.ATR(s.column("high"), s.column("low"), s.close, timeperiod=period)
    }


def _macd(fast: int, slow: int, signal: int) -> Reference:
    def ref(s: Series) -> dict[str, Floats]:
        macd, sig, hist = talib.MACD(s.close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
        return {"macd": macd, "signal": sig, "hist": hist}

    return ref


def _bollinger(period: int, k: float) -> Reference:
    # BBANDS' matype is left at its default, 0: a simple moving average, as ordex's middle band.
    def ref(s: Series) -> dict[str, Floats]:
        upper, middle, lower = talib.BBANDS(s.close, timeperiod=period, nbdevup=k, nbdevdn=k)
        return {"upper": upper, "middle": middle, "lower": lower}

    return ref


PERIODS = (2, 5, 14, 50)
CASES: list[tuple[str, dict[str, Any], Reference]] = [
    *[("sma", {"period": p}, _sma(p)) for p in (1, *PERIODS)],
    *[("ema", {"period": p}, _ema(p)) for p in PERIODS],
    *[("rsi", {"period": p}, _rsi(p)) for p in PERIODS],
    *[("atr", {"period": p}, _atr(p)) for p in (1, *PERIODS)],
    *[
        ("bollinger", {"period": p, "stdDev": k}, _bollinger(p, k))
        for p in PERIODS
        for k in (2.0, 1.5)
    ],
    ("macd", {"fast": 12, "slow": 26, "signal": 9}, _macd(12, 26, 9)),
    ("macd", {"fast": 5, "slow": 35, "signal": 5}, _macd(5, 35, 5)),
    ("macd", {"fast": 2, "slow": 3, "signal": 2}, _macd(2, 3, 2)),
]


def _case_id(case: tuple[str, dict[str, Any], Reference]) -> str:
    name, params, _ = case
    return name + "-" + "-".join(f"{k}{v}" for k, v in params.items())


def _leading_nans(x: Floats) -> int:
    finite = np.flatnonzero(~np.isnan(x))
    return int(finite[0]) if len(finite) else len(x)


# Values that cancel to about zero (MACD's histogram, a band's width on a flat stretch) carry
# rounding noise of the order of the price times the machine epsilon: compare those absolutely,
# at 1e-9 of the series' price level.
RELATIVE = 1e-9


@pytest.mark.parametrize("series", SERIES, ids=lambda s: s.name)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_indicator_matches_talib(
    series: Series, case: tuple[str, dict[str, Any], Reference]
) -> None:
    name, params, reference = case
    got = ordex.indicator(name, params, series.candles)
    want = reference(series)
    assert set(got) == set(want), f"{name} outputs {sorted(got)}, TA-Lib's are {sorted(want)}"
    price_level = float(np.median(series.close))
    for port, expected in want.items():
        actual = np.asarray(got[port], dtype=np.float64)
        assert actual.shape == expected.shape, port
        warm_up = _leading_nans(expected)
        assert _leading_nans(actual) == warm_up, (
            f"{port}: {_leading_nans(actual)} NaN bars, TA-Lib has {warm_up}"
        )
        assert not np.isnan(actual[warm_up:]).any(), f"{port}: NaN after the warm-up"
        np.testing.assert_allclose(
            actual[warm_up:],
            expected[warm_up:],
            rtol=RELATIVE,
            atol=RELATIVE * price_level,
            err_msg=f"{name} {params} {port} on {series.name}",
        )


def test_flat_stretch_holds_rsi_and_closes_the_bands() -> None:
    """Over 1,000 unchanged closes Wilder's averages decay together, so RSI keeps the value it had
    (however small the averages get), and the bands close on the middle."""
    s = SERIES[1]
    flat = slice(400, 1_299)  # the stretch of bars 300..1299, past a 14-bar window
    want_rsi = talib.RSI(s.close, 14)[flat]
    upper, middle, lower = talib.BBANDS(s.close, timeperiod=14, nbdevup=2.0, nbdevdn=2.0)
    assert np.allclose(want_rsi, want_rsi[0], rtol=1e-12) and want_rsi[0] > 0
    assert np.array_equal(upper[flat], lower[flat])
    got_rsi = np.asarray(ordex.indicator("rsi", {"period": 14}, s.candles)["value"])[flat]
    np.testing.assert_allclose(got_rsi, want_rsi, rtol=RELATIVE)
    bands = ordex.indicator("bollinger", {"period": 14, "stdDev": 2.0}, s.candles)
    assert np.array_equal(np.asarray(bands["upper"])[flat], np.asarray(bands["lower"])[flat])
    np.testing.assert_allclose(np.asarray(bands["middle"])[flat], middle[flat], rtol=RELATIVE)
