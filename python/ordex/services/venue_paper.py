"""The paper venue: orders simulated against an external exchange's real book and trades.

A paper session is a spot account of its own (`session_balances`): it starts with
`initial_capital` of the quote asset; a buy spends quote (notional plus fee), a sell needs the base
it sells (short selling is not simulated). A resting order holds what it may spend: a buy its
limit (or stop) price times its open quantity plus the higher fee rate, a sell its open quantity.

- Placing (`place`): market and limit orders are matched at once against the venue's current book
  through the engine (`paper_matching.take`); what a limit order leaves rests. Stop and
  take-profit orders rest untriggered. An order the account cannot afford is refused (400
  INSUFFICIENT_BALANCE) and nothing is written.
- Watching (`watch_market`, run by the session watcher): new trade prints of the venue trigger stop
  orders (at the print's price) and, with the current book, fill resting limit orders at their
  price as the maker (`paper_matching.rest_against`). A print fills an order once: its fill is
  keyed by the print's id.

Fees are in the quote asset at the market's ccxt rates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_FLOOR, Decimal, localcontext

from ordex.db import session_orders as orders_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.session_orders import Execution, NewFill, NewSessionOrder, SessionOrderRow
from ordex.db.trading_sessions import Balance, SessionRow
from ordex.engine_types import Side
from ordex.services import session_messages
from ordex.services.errors import ServiceError
from ordex.services.paper_matching import (
    Book,
    Fill,
    Outcome,
    PaperMatchingError,
    Print,
    rest_against,
    take,
    triggered,
)
from ordex.services.session_order_requests import (
    LIMIT_PRICED,
    OrderInput,
    SessionContext,
    SessionTimeInForce,
    check_grid,
    not_running,
)
from ordex.services.venues import MarketSpec

ZERO = Decimal(0)
SEEN_PRINTS_KEPT = 5_000


def insufficient_balance(asset: str, needed: Decimal, free: Decimal) -> ServiceError:
    return ServiceError(
        400,
        "INSUFFICIENT_BALANCE",
        f"Insufficient balance: the order needs {needed.normalize():f} {asset}, "
        f"{free.normalize():f} is free",
        field="quantity",
    )


def _new_fills(fills: Sequence[Fill], quote: str) -> list[NewFill]:
    return [
        NewFill(
            trade_key=f"print:{f.source}" if f.source != "book" else f"book:{uuid.uuid4().hex}",
            liquidity=f.liquidity,
            price=f.price,
            quantity=f.quantity,
            fee=f.fee,
            fee_asset=quote,
        )
        for f in fills
    ]


def _hold_price(order_type: str, price: Decimal | None, stop_price: Decimal | None) -> Decimal:
    hold = price if order_type in LIMIT_PRICED else stop_price
    assert hold is not None
    return hold


def _remaining_hold(hold: Decimal, remaining: Decimal, before: Decimal) -> Decimal:
    """The hold's share of what is still open, rounded down: what a partial fill gives back is
    then never less than what it spent."""
    with localcontext() as context:
        context.rounding = ROUND_FLOOR
        return hold * remaining / before


def _fee_cap(spec: MarketSpec) -> Decimal:
    return max(spec.fees.maker, spec.fees.taker, ZERO)


@dataclass(slots=True)
class _Changes:
    """Balance deltas (total, held) per asset of one transaction."""

    deltas: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def add(self, asset: str, total: Decimal = ZERO, held: Decimal = ZERO) -> None:
        t, h = self.deltas.get(asset, (ZERO, ZERO))
        self.deltas[asset] = (t + total, h + held)


def _settle(
    changes: _Changes, spec: MarketSpec, side: str, fills: Sequence[NewFill], release: Decimal
) -> None:
    """Fills move base and quote; a buy's filled part gives back `release` of its quote hold,
    a sell's filled part of its base hold (`release` is then in base)."""
    quantity = sum((f.quantity for f in fills), ZERO)
    quote = sum((f.price * f.quantity for f in fills), ZERO)
    fees = sum((f.fee for f in fills), ZERO)
    if side == "BUY":
        changes.add(spec.quote, total=-(quote + fees), held=-release)
        changes.add(spec.base, total=quantity)
    else:
        changes.add(spec.base, total=-quantity, held=-release)
        changes.add(spec.quote, total=quote - fees)


def _check_funds(
    balances: dict[str, Balance], changes: _Changes, spec: MarketSpec, side: str
) -> None:
    asset = spec.quote if side == "BUY" else spec.base
    balance = balances.get(asset, Balance(ZERO, ZERO))
    total, held = changes.deltas.get(asset, (ZERO, ZERO))
    if balance.total + total < balance.held + held:
        needed = held - total
        raise insufficient_balance(asset, needed, balance.free)


def _status_after(order_type: str, tif: str, quantity: Decimal, outcome: Outcome) -> str:
    executed = quantity - outcome.remaining
    if outcome.remaining == 0:
        return "FILLED"
    if order_type == "MARKET" or tif in ("IOC", "FOK") or outcome.rejected:
        return "EXPIRED" if executed or not outcome.rejected else "REJECTED"
    return "PARTIALLY_FILLED" if executed else "NEW"


async def place(
    ctx: SessionContext, session: SessionRow, spec: MarketSpec, order: OrderInput
) -> tuple[SessionOrderRow, list[NewFill]]:
    """Places a paper order (see the module docstring); the caller publishes the messages."""
    check_grid(order, spec)
    outcome = Outcome((), order.quantity)
    if order.type in ("MARKET", "LIMIT"):
        book = await ctx.venues.order_book(ctx.conn, ctx.registry, spec)
        try:
            outcome = take(
                spec.symbol, book, spec.fees, order.side, order.quantity, order.price,
                order.time_in_force,
            )  # fmt: skip
        except PaperMatchingError as exc:
            raise ServiceError(400, "VALIDATION_ERROR", str(exc), field="quantity") from exc
    # A stop or take-profit order waits for its trigger whatever its time in force.
    status = (
        "NEW"
        if order.is_conditional
        else _status_after(order.type, order.time_in_force, order.quantity, outcome)
    )
    fills = _new_fills(outcome.fills, spec.quote)
    resting = status in ("NEW", "PARTIALLY_FILLED")
    hold_asset = spec.quote if order.side == "BUY" else spec.base
    hold = ZERO
    if resting:
        hold = (
            outcome.remaining
            * _hold_price(order.type, order.price, order.stop_price)
            * (1 + _fee_cap(spec))
            if order.side == "BUY"
            else outcome.remaining
        )
    changes = _Changes()
    _settle(changes, spec, order.side, fills, ZERO)
    changes.add(hold_asset, held=hold)
    order_id = uuid.uuid4()
    assets = (spec.base, spec.quote)
    async with ctx.conn.transaction():
        status_now, balances = await sessions_repo.lock_for_order(
            ctx.conn, ctx.user_id, session.id, assets
        )
        if status_now is None:  # a symbol whose assets the session has no rows for yet
            locked = await sessions_repo.get_session(
                ctx.conn, ctx.user_id, session.id, lock="share"
            )
            status_now = None if locked is None else locked.status
            balances = await sessions_repo.lock_balances(ctx.conn, session.id, assets)
        if status_now != "RUNNING":
            raise not_running(replace(session, status=status_now or "STOPPED"))
        _check_funds(balances, changes, spec, order.side)
        row = await orders_repo.insert_executed_order(
            ctx.conn,
            NewSessionOrder(
                id=order_id, user_id=ctx.user_id, session_id=session.id, venue="paper",
                exchange=session.exchange, symbol=spec.symbol, order_id=None, side=order.side,
                type=order.type, time_in_force=order.time_in_force, price=order.price,
                stop_price=order.stop_price, quantity=order.quantity, reason=order.reason,
                hold_asset=hold_asset, hold_amount=hold,
            ),
            Execution(
                status=status,
                executed_quantity=outcome.executed,
                executed_quote_quantity=outcome.quote,
                fees=outcome.fees,
                hold_amount=hold,
                triggered=False,
                exchange_order_id=f"PAPER-{order_id.hex[:16]}",
                error_message=outcome.rejected,
            ),
            fills,
            changes.deltas,
        )  # fmt: skip
    assert row is not None
    if resting:
        ctx.wake_watcher()
    return row, fills


async def cancel(ctx: SessionContext, order: SessionOrderRow) -> SessionOrderRow:
    """Cancels a working paper order and gives its hold back (the caller holds no lock)."""
    async with ctx.conn.transaction():
        locked = await orders_repo.get_order(ctx.conn, ctx.user_id, order.id, lock=True)
        assert locked is not None
        if not locked.is_working:
            return locked
        await _finish(ctx, locked, "CANCELED")
        row = await orders_repo.get_order(ctx.conn, ctx.user_id, order.id)
    assert row is not None
    return row


async def _finish(
    ctx: SessionContext, order: SessionOrderRow, status: str, error: str | None = None
) -> None:
    """Ends a working order without a fill: its whole hold goes back."""
    assert order.session_id is not None and order.hold_asset is not None
    await orders_repo.update_execution(
        ctx.conn,
        order.id,
        Execution(
            status=status,
            executed_quantity=order.executed_quantity,
            executed_quote_quantity=order.executed_quote_quantity,
            fees=order.fees,
            hold_amount=ZERO,
            triggered=order.triggered,
            error_message=error,
        ),
    )
    await sessions_repo.change_balances(
        ctx.conn, order.session_id, {order.hold_asset: (ZERO, -order.hold_amount)}
    )


# --- watching -----------------------------------------------------------------------------------


@dataclass(slots=True)
class MarketWatch:
    """What the watcher remembers of one paper market between rounds."""

    seen: dict[str, None] = field(default_factory=dict)  # insertion-ordered set of print keys
    started: bool = False

    def new_prints(self, prints: Sequence[Print]) -> list[Print]:
        """Prints not seen before; the first look only learns what is there."""
        fresh = [p for p in prints if p.key not in self.seen]
        for p in fresh:
            self.seen[p.key] = None
        while len(self.seen) > SEEN_PRINTS_KEPT:
            self.seen.pop(next(iter(self.seen)))
        if not self.started:
            self.started = True
            return []
        return fresh


async def watch_market(
    ctx: SessionContext,
    spec: MarketSpec,
    orders: Sequence[SessionOrderRow],
    watch: MarketWatch,
) -> int:
    """One round for a paper market's working orders; returns how many orders changed."""
    prints = watch.new_prints(await ctx.venues.prints(ctx.conn, ctx.registry, spec))
    book = await ctx.venues.order_book(ctx.conn, ctx.registry, spec)
    changed = 0
    for order in orders:
        outcome, now_triggered = _evaluate(spec, order, prints, book)
        if outcome is None:
            continue
        if await _apply(ctx, spec, order, outcome, now_triggered):
            changed += 1
    return changed


def _evaluate(
    spec: MarketSpec, order: SessionOrderRow, prints: Sequence[Print], book: Book
) -> tuple[Outcome | None, bool]:
    side: Side = "BUY" if order.side == "BUY" else "SELL"
    if order.type in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT") and (
        not order.triggered
    ):
        assert order.stop_price is not None
        if not any(triggered(order.type, order.side, order.stop_price, p.price) for p in prints):
            return None, False
        limit = order.price if order.type.endswith("_LIMIT") else None
        outcome = take(
            spec.symbol, book, spec.fees, side, order.remaining, limit, _tif(order.time_in_force)
        )
        return outcome, True
    if order.price is None:
        return None, False
    outcome = rest_against(spec.symbol, spec.fees, side, order.remaining, order.price, prints, book)
    return (outcome if outcome.fills else None), False


def _tif(value: str) -> SessionTimeInForce:
    return "IOC" if value == "IOC" else "FOK" if value == "FOK" else "GTC"


class _Refused(Exception):
    """A triggered order the session can no longer afford."""


async def _apply(
    ctx: SessionContext,
    spec: MarketSpec,
    order: SessionOrderRow,
    outcome: Outcome,
    now_triggered: bool,
) -> bool:
    try:
        return await _apply_fills(ctx, spec, order, outcome, now_triggered)
    except _Refused as refusal:
        async with ctx.conn.transaction():
            locked = await orders_repo.get_order(ctx.conn, None, order.id, lock=True)
            if locked is None or not locked.is_working:
                return False
            await _finish(ctx, locked, "REJECTED", str(refusal))
            row = await orders_repo.get_order(ctx.conn, None, order.id)
        assert row is not None
        await session_messages.execution(ctx.conn, ctx.redis, row, [])
        return True


async def _apply_fills(
    ctx: SessionContext,
    spec: MarketSpec,
    order: SessionOrderRow,
    outcome: Outcome,
    now_triggered: bool,
) -> bool:
    assert order.session_id is not None and order.hold_asset is not None
    async with ctx.conn.transaction():
        locked = await orders_repo.get_order(ctx.conn, None, order.id, lock=True)
        if locked is None or not locked.is_working or locked.remaining != order.remaining:
            return False  # cancelled or filled meanwhile: next round sees it as it is now
        fills = await orders_repo.insert_fills(
            ctx.conn, order.id, _new_fills(outcome.fills, spec.quote)
        )
        executed = sum((f.quantity for f in fills), ZERO)
        remaining = locked.remaining - executed
        resting = remaining > 0 and (
            not now_triggered or (locked.type.endswith("_LIMIT") and locked.time_in_force == "GTC")
        )
        if remaining == 0:
            status = "FILLED"
        elif resting:
            status = "PARTIALLY_FILLED" if locked.executed_quantity + executed else "NEW"
        else:
            status = "EXPIRED"
        hold = _remaining_hold(locked.hold_amount, remaining, locked.remaining) if resting else ZERO
        changes = _Changes()
        # What the order held and no longer holds goes back with its fills (all of it once the
        # order is done: a triggered stop fills at the market, not at its stop price).
        _settle(changes, spec, locked.side, fills, locked.hold_amount - hold)
        balances = await sessions_repo.lock_balances(
            ctx.conn, order.session_id, (spec.base, spec.quote)
        )
        try:
            _check_funds(balances, changes, spec, locked.side)
        except ServiceError as refusal:
            raise _Refused(refusal.message) from refusal  # rolls the fills back

        await sessions_repo.change_balances(ctx.conn, order.session_id, changes.deltas)
        await orders_repo.update_execution(
            ctx.conn,
            order.id,
            Execution(
                status=status,
                executed_quantity=locked.executed_quantity + executed,
                executed_quote_quantity=locked.executed_quote_quantity
                + sum((f.price * f.quantity for f in fills), ZERO),
                fees=locked.fees + sum((f.fee for f in fills), ZERO),
                hold_amount=hold,
                triggered=locked.triggered or now_triggered,
            ),
        )
        row = await orders_repo.get_order(ctx.conn, None, order.id)
    assert row is not None
    await session_messages.execution(ctx.conn, ctx.redis, row, fills)
    return True
