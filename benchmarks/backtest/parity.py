"""The trades of every backtester must be ordex's before any of them is timed.

ordex keeps money in integer atoms of 1e-8 and rounds each fill price (buys up, sells down), each
fee (up) and the stop level (to the nearest atom); the peers work in floats. A trade's PnL may
therefore differ by a few atoms: it must agree to 1e-9 relative or within 5 atoms (4 roundings
of one unit, and the stop level's). Prices: 1e-9 relative or 1 atom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.backtest.strategy import Trade

ATOM = 1e-8
PNL_ATOMS = 5
RELATIVE = 1e-9


class ParityError(AssertionError):
    pass


def _close(a: float, b: float, atoms: int) -> bool:
    return abs(a - b) <= max(RELATIVE * max(abs(a), abs(b)), atoms * ATOM * (1 + 1e-9))


@dataclass(frozen=True)
class Agreement:
    trades: int
    stopped: int
    max_pnl_difference: float

    def describe(self) -> str:
        return (
            f"{self.trades} trades equal ({self.stopped} closed by the stop), "
            f"largest PnL difference {self.max_pnl_difference:.1e}"
        )


def check(peer: str, ours: Sequence[Trade], theirs: Sequence[Trade]) -> Agreement:
    """Raises `ParityError` naming the first trade that differs."""
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        same = (
            (a.entry_bar, a.exit_bar, a.stopped) == (b.entry_bar, b.exit_bar, b.stopped)
            and _close(a.entry_price, b.entry_price, 1)
            and _close(a.exit_price, b.exit_price, 1)
            and _close(a.pnl, b.pnl, PNL_ATOMS)
        )
        if not same:
            raise ParityError(f"trade {i} differs\n  ordex:   {a}\n  {peer}: {b}")
    if len(ours) != len(theirs):
        extra = ours[len(theirs)] if len(ours) > len(theirs) else theirs[len(ours)]
        raise ParityError(
            f"ordex has {len(ours)} trades, {peer} {len(theirs)}; the first unmatched: {extra}"
        )
    return Agreement(
        len(ours),
        sum(t.stopped for t in ours),
        max((abs(a.pnl - b.pnl) for a, b in zip(ours, theirs, strict=True)), default=0.0),
    )


def check_sweep(
    peer: str, ours: Sequence[dict[str, Any]], theirs: Sequence[dict[str, Any]]
) -> float:
    """Same combinations in the same order, the same trade counts, the same total PnL (open
    positions marked at the last close). Returns the largest PnL difference."""
    if len(ours) != len(theirs):
        raise ParityError(f"ordex swept {len(ours)} combinations, {peer} {len(theirs)}")
    worst = 0.0
    for a, b in zip(ours, theirs, strict=True):
        key = (a["fast"], a["slow"])
        if key != (b["fast"], b["slow"]):
            raise ParityError(f"combination order differs: ordex {key}, {peer} {b}")
        atoms = PNL_ATOMS * (a["totalTrades"] + 1)
        if a["totalTrades"] != b["totalTrades"] or not _close(a["pnl"], b["pnl"], atoms):
            raise ParityError(f"fast {key[0]} / slow {key[1]}\n  ordex:   {a}\n  {peer}: {b}")
        worst = max(worst, abs(a["pnl"] - b["pnl"]))
    return worst
