"""Positions and statistics of trading sessions, derived from their fills (never from the client).

Pure functions over `TradeRow`s in the order they happened:

- A **position** opens when a session is flat in a symbol and a fill comes, grows with fills of its
  side (the entry price is the average), shrinks with fills of the other side (each realizing
  `(exit - entry) * quantity`, the sign of a short reversed) and closes when flat again. A fill
  larger than the position closes it and opens the opposite one with the rest; its fee is split
  by quantity. `fees` are the position's share of its fills' fees (quote asset), `realized_pnl` is
  before fees, `unrealized_pnl` marks what is open at the venue's last price.
- **Statistics** follow the metric definitions of docs/flows.md: a closed trade is a closed
  position, it wins when its net PnL (realized minus fees) is positive; equity is
  `initial_capital + realized - fees + unrealized`, marked after every fill at that fill's price
  and at the end at the venue's price; `max_drawdown` is the largest fall from a running peak
  (`max_drawdown_percent` of that peak); `sharpe_ratio` is mean / standard deviation (ddof 1) of
  daily returns of end-of-day equity (UTC) times sqrt(365), `None` with fewer than two returns or
  none that differ.

Everything is `Decimal`: no float touches money.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

from ordex.db.session_orders import TradeRow

POSITION_NAMESPACE = uuid.UUID("6d1b7c52-8a57-4c1e-9d1f-3f6f3f0c2a11")
DAYS_PER_YEAR = Decimal(365)
ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    id: uuid.UUID
    session_id: uuid.UUID | None
    symbol: str
    exchange: str
    venue: str
    side: str  # LONG | SHORT
    size: Decimal  # open quantity (0 once closed)
    cost: Decimal  # entry notional of the open quantity
    entry_price: Decimal
    max_size: Decimal
    entry_time: datetime
    entry_reason: str | None
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    exit_notional: Decimal = ZERO
    exit_quantity: Decimal = ZERO
    exit_time: datetime | None = None
    exit_reason: str | None = None
    unrealized_pnl: Decimal = ZERO
    updated_at: datetime | None = None  # its last fill
    order_ids: set[uuid.UUID] = field(default_factory=set)

    @property
    def is_open(self) -> bool:
        return self.size > 0

    @property
    def exit_price(self) -> Decimal | None:
        if self.is_open or not self.exit_quantity:
            return None
        return self.exit_notional / self.exit_quantity

    @property
    def quantity(self) -> Decimal:
        """The open quantity; a closed position shows the largest quantity it held."""
        return self.size if self.is_open else self.max_size

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees

    def mark(self, price: Decimal | None) -> Decimal:
        """Sets and returns the unrealized PnL at `price` (0 when closed or unpriced)."""
        if not self.is_open or price is None:
            self.unrealized_pnl = ZERO
        else:
            direction = 1 if self.side == "LONG" else -1
            self.unrealized_pnl = (price * self.size - self.cost) * direction
        return self.unrealized_pnl


@dataclass(frozen=True, slots=True)
class Statistics:
    equity: Decimal
    total_pnl: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    total_trades: int
    winning_trades: int
    losing_trades: int
    max_drawdown: Decimal
    max_drawdown_percent: Decimal
    sharpe_ratio: Decimal | None


GroupKey = tuple[uuid.UUID | None, str]


class _Book:
    """Walks one (session, symbol)'s fills into positions."""

    def __init__(self, session_id: uuid.UUID | None, symbol: str) -> None:
        self.session_id = session_id
        self.symbol = symbol
        self.positions: list[Position] = []
        self.open: Position | None = None
        self.last_price: Decimal | None = None

    def apply(self, trade: TradeRow) -> tuple[Decimal, Decimal]:
        """Applies one fill; returns (realized PnL, fee) it adds."""
        self.last_price = trade.price
        side = "LONG" if trade.side == "BUY" else "SHORT"
        quantity, fee, realized = trade.quantity, trade.fee, ZERO
        position = self.open
        if position is not None and position.side != side:
            closing = min(quantity, position.size)
            share = fee * closing / quantity
            entry_cost = position.cost * closing / position.size
            direction = 1 if position.side == "LONG" else -1
            pnl = (trade.price * closing - entry_cost) * direction
            position.size -= closing
            position.cost -= entry_cost
            position.realized_pnl += pnl
            position.fees += share
            position.exit_notional += trade.price * closing
            position.exit_quantity += closing
            position.order_ids.add(trade.session_order_id)
            position.updated_at = trade.executed_at
            realized += pnl
            quantity -= closing
            fee -= share
            if position.size == 0:
                position.cost = ZERO
                position.exit_time = trade.executed_at
                position.exit_reason = trade.reason
                self.open = None
            if quantity == 0:
                return realized, trade.fee
        position = self.open
        if position is None:
            position = Position(
                id=uuid.uuid5(
                    POSITION_NAMESPACE,
                    f"{self.session_id}|{self.symbol}|{trade.session_order_id}|{trade.trade_key}",
                ),
                session_id=self.session_id,
                symbol=self.symbol,
                exchange=trade.exchange,
                venue=trade.venue,
                side=side,
                size=ZERO,
                cost=ZERO,
                entry_price=trade.price,
                max_size=ZERO,
                entry_time=trade.executed_at,
                entry_reason=trade.reason,
            )
            self.positions.append(position)
            self.open = position
        position.size += quantity
        position.cost += trade.price * quantity
        position.entry_price = position.cost / position.size
        position.max_size = max(position.max_size, position.size)
        position.fees += fee
        position.order_ids.add(trade.session_order_id)
        position.updated_at = trade.executed_at
        return realized, trade.fee

    def unrealized(self, price: Decimal | None) -> Decimal:
        return ZERO if self.open is None else self.open.mark(price)


def derive_positions(
    trades: Iterable[TradeRow], marks: Mapping[str, Decimal | None] | None = None
) -> list[Position]:
    """Every position of the fills, in the order they opened; open ones marked at `marks[symbol]`
    (or the symbol's last fill price when there is no mark)."""
    books: dict[GroupKey, _Book] = {}
    for trade in trades:
        key = (trade.session_id, trade.symbol)
        book = books.get(key)
        if book is None:
            book = books[key] = _Book(*key)
        book.apply(trade)
    positions: list[Position] = []
    for (_, symbol), book in books.items():
        mark = (marks or {}).get(symbol) or book.last_price
        book.unrealized(mark)
        positions.extend(book.positions)
    positions.sort(key=lambda p: p.entry_time)
    return positions


def statistics(
    initial_capital: Decimal,
    trades: Sequence[TradeRow],
    marks: Mapping[str, Decimal | None],
    started_at: datetime,
    until: datetime,
) -> Statistics:
    """The statistics of one session's fills (see the module docstring)."""
    books: dict[str, _Book] = {}
    realized = fees = ZERO
    equity_points: list[tuple[datetime, Decimal]] = []
    for trade in trades:
        book = books.get(trade.symbol)
        if book is None:
            book = books[trade.symbol] = _Book(trade.session_id, trade.symbol)
        pnl, fee = book.apply(trade)
        realized += pnl
        fees += fee
        unrealized = sum((b.unrealized(b.last_price) for b in books.values()), ZERO)
        equity_points.append((trade.executed_at, initial_capital + realized - fees + unrealized))
    unrealized = sum(
        (b.unrealized(marks.get(symbol) or b.last_price) for symbol, b in books.items()), ZERO
    )
    equity = initial_capital + realized - fees + unrealized
    equity_points.append((until, equity))
    closed = [p for b in books.values() for p in b.positions if not p.is_open]
    drawdown, drawdown_percent = _max_drawdown(initial_capital, equity_points)
    return Statistics(
        equity=equity,
        total_pnl=equity - initial_capital,
        realized_pnl=realized,
        unrealized_pnl=unrealized,
        fees=fees,
        total_trades=len(closed),
        winning_trades=sum(1 for p in closed if p.net_pnl > 0),
        losing_trades=sum(1 for p in closed if p.net_pnl < 0),
        max_drawdown=drawdown,
        max_drawdown_percent=drawdown_percent,
        sharpe_ratio=_sharpe(initial_capital, equity_points, started_at, until),
    )


def _max_drawdown(
    initial: Decimal, points: Sequence[tuple[datetime, Decimal]]
) -> tuple[Decimal, Decimal]:
    peak, worst, worst_percent = initial, ZERO, ZERO
    for _, equity in points:
        peak = max(peak, equity)
        fall = peak - equity
        if fall > worst:
            worst = fall
            worst_percent = fall / peak * 100 if peak > 0 else ZERO
    return worst, worst_percent


def _sharpe(
    initial: Decimal,
    points: Sequence[tuple[datetime, Decimal]],
    started_at: datetime,
    until: datetime,
) -> Decimal | None:
    day = started_at.astimezone(UTC).date()
    last_day = until.astimezone(UTC).date()
    closes: list[Decimal] = []
    equity, index = initial, 0
    while day <= last_day:
        end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        while index < len(points) and points[index][0] < end:
            equity = points[index][1]
            index += 1
        closes.append(equity)
        day += timedelta(days=1)
    returns = [b / a - 1 for a, b in itertools.pairwise(closes) if a > 0]
    if len(returns) < 2:
        return None
    with localcontext() as context:
        context.prec = 28
        mean = sum(returns, ZERO) / len(returns)
        variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
        if variance == 0:
            return None
        return mean / variance.sqrt() * DAYS_PER_YEAR.sqrt()
