"""The performance metrics of closed trades, worked by hand (docs/flows.md's definitions)."""

from __future__ import annotations

import itertools
import math
import statistics
import uuid
from decimal import Decimal

from ordex.db.flow_executions import TradeRow
from ordex.services.flow_performance import DAY_MS, metrics

SESSION = uuid.uuid4()


def _trade(seq: int, exit_day: int, pnl: str) -> TradeRow:
    return TradeRow(
        session_id=SESSION, seq=seq, side="long", entry_ms=exit_day * DAY_MS - 1000,
        exit_ms=exit_day * DAY_MS + 1000, quantity=Decimal(1), entry_price=Decimal(100),
        exit_price=Decimal(100), pnl=Decimal(pnl), fees=Decimal(0), exit_reason="signal",
    )  # fmt: skip


def test_pnl_win_rate_drawdown_profit_factor_and_sharpe() -> None:
    trades = [_trade(0, 1, "100"), _trade(1, 2, "-300"), _trade(2, 3, "50"), _trade(3, 4, "250")]
    m = metrics(trades, Decimal(1000), 0)
    assert (m["totalTrades"], m["winningTrades"], m["losingTrades"]) == (4, 3, 1)
    assert m["winRate"] == 0.75 and m["pnl"] == 100.0 and m["pnlPercent"] == 10.0
    # Equity 1000, 1100, 800, 850, 1100: the drawdown is 300 from the peak of 1100.
    assert [p["equity"] for p in m["equityCurve"]] == [1000, 1100, 800, 850, 1100]
    assert m["maxDrawdown"] == 300.0
    assert math.isclose(m["maxDrawdownPercent"], 300 / 1100 * 100, rel_tol=1e-9)
    assert m["profitFactor"] == 400 / 300
    daily = [1000, 1100, 800, 850, 1100]
    returns = [b / a - 1 for a, b in itertools.pairwise(daily)]
    sharpe = statistics.fmean(returns) / statistics.stdev(returns) * math.sqrt(365)
    assert math.isclose(m["sharpeRatio"], sharpe, rel_tol=1e-12)


def test_no_loss_no_profit_factor_and_no_trades_no_sharpe() -> None:
    m = metrics([_trade(0, 1, "10")], Decimal(1000), None)
    assert m["profitFactor"] is None and m["sharpeRatio"] is None
    empty = metrics([], Decimal(1000), None)
    assert empty["totalTrades"] == 0 and empty["winRate"] == 0.0 and empty["equityCurve"] == []
