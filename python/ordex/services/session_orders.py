"""Orders of trading sessions (`/api/v1/orders`): place, cancel, read, on every venue.

**One model of session orders.** SPEC keeps one orders table for every venue, and every order of a
session is a row of `session_orders`, whatever its venue; an `internal` order is *also* the
exchange's own `orders` row (`order_id`), which keeps its status and fills as the exchange settles
them, so the exchange's order model is not duplicated. Paper and live orders are not rows of
`orders`: that table is the exchange's book of record (its `market_id` references ordex's
`markets`, `account_id` a funded trading account, its holds are settled by the persister, its id is
the engine's order id) and a paper order on binance's BTC/USDT has none of those; adding it there
would put rows no engine knows into the matcher's and persister's tables. `session_order_view`
shows every session order in one shape (internal ones with their exchange status), and
`session_trades` every fill, which positions and statistics are derived from.

**Which venue.** An order with `session_id` goes to that session's venue (the session must be the
caller's, else 404, and RUNNING, else 400). Without one it goes to the caller's session on that
symbol when exactly one is not stopped (the cryptofunk flow: start a session, then place orders by
symbol), to ordex's own market of that symbol when there is none (manual trading on the exchange),
and is refused (400 naming `session_id`) when several sessions trade the symbol.

Cancelling answers 400 ORDER_NOT_CANCELLABLE for an order that is no longer working.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from ordex.db import session_orders as orders_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.session_orders import SessionOrderRow
from ordex.db.trading_sessions import SessionRow
from ordex.logging import get_logger
from ordex.services import session_messages, venue_internal, venue_live, venue_paper
from ordex.services.errors import ServiceError
from ordex.services.session_messages import num
from ordex.services.session_order_requests import (
    OrderInput,
    SessionContext,
    invalid,
    not_running,
)
from ordex.services.session_stats import derive_positions
from ordex.timestamps import iso_millis

log = get_logger(__name__)

STATUSES = ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED")
SESSIONS_KEPT = 10_000


def order_not_found(order_id: object) -> ServiceError:
    return ServiceError(
        404, "ORDER_NOT_FOUND", "order not found", details={"order_id": str(order_id)}
    )


def session_not_found(session_id: object) -> ServiceError:
    return ServiceError(
        404, "SESSION_NOT_FOUND", "session not found", details={"session_id": str(session_id)}
    )


def parse_order_id(value: str) -> uuid.UUID:
    """The contract's 400 for an id that is not a UUID."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise invalid("invalid order_id format", "id") from None


async def session_for(ctx: SessionContext, order: OrderInput) -> SessionRow | None:
    """The session the order belongs to (see the module docstring); None: ordex's market."""
    if order.session_id is not None:
        key = (ctx.user_id, order.session_id)
        cached = ctx.venues.sessions.get(key)
        if cached is not None:
            return cached  # RUNNING when read; the order's transaction checks it again
        session = await sessions_repo.get_session(ctx.conn, ctx.user_id, order.session_id)
        if session is None:
            raise session_not_found(order.session_id)
        if session.status == "RUNNING":
            if len(ctx.venues.sessions) >= SESSIONS_KEPT:
                ctx.venues.sessions.clear()
            ctx.venues.sessions[key] = session
    else:
        candidates = await sessions_repo.active_sessions_for_symbol(
            ctx.conn, ctx.user_id, order.symbol
        )
        if len(candidates) > 1:
            raise invalid(
                f"{len(candidates)} trading sessions trade {order.symbol}: name one with "
                "session_id",
                "session_id",
            )
        if not candidates:
            return None
        session = candidates[0]
    if session.status != "RUNNING":
        raise not_running(session)
    return session


async def place_order(ctx: SessionContext, order: OrderInput) -> SessionOrderRow:
    session = await session_for(ctx, order)
    if session is None or session.venue == "internal":
        # Its live messages come from the exchange's engine events.
        return await venue_internal.place(ctx, session, order)
    spec = await ctx.venues.spec(ctx.registry, session.exchange, session.market_type, order.symbol)
    if session.venue == "paper":
        row, fills = await venue_paper.place(ctx, session, spec, order)
    else:
        row, fills = await venue_live.place(ctx, session, spec, order)
    await session_messages.execution(ctx.conn, ctx.redis, row, fills)
    return row


async def get_order(ctx: SessionContext, order_id: uuid.UUID) -> SessionOrderRow:
    order = await orders_repo.get_order(ctx.conn, ctx.user_id, order_id)
    if order is None:
        raise order_not_found(order_id)
    return order


async def cancel_order(ctx: SessionContext, order_id: uuid.UUID) -> SessionOrderRow:
    order = await get_order(ctx, order_id)
    if not order.is_working:
        raise _not_cancellable(order)
    row = await _cancel(ctx, order, ctx.venues.settings.ordex_session_cancel_wait_ms)
    if not row.is_working and row.status != "CANCELED":
        raise _not_cancellable(row)
    return row


def _not_cancellable(order: SessionOrderRow) -> ServiceError:
    return ServiceError(
        400,
        "ORDER_NOT_CANCELLABLE",
        f"order cannot be cancelled: it is already {order.status}",
        details={"order_id": str(order.id), "status": order.status},
    )


async def _cancel(ctx: SessionContext, order: SessionOrderRow, wait_ms: int) -> SessionOrderRow:
    if order.venue == "internal":
        return await venue_internal.cancel(ctx, order, wait_ms)
    if order.venue == "paper":
        row = await venue_paper.cancel(ctx, order)
        await session_messages.order_update(ctx.redis, row)
        return row
    assert order.session_id is not None
    session = await sessions_repo.get_session(ctx.conn, ctx.user_id, order.session_id)
    assert session is not None
    spec = await ctx.venues.spec(ctx.registry, session.exchange, session.market_type, order.symbol)
    return await venue_live.cancel(ctx, session, spec, order)


async def cancel_working(ctx: SessionContext, session: SessionRow) -> int:
    """Cancels every working order of a session (its stop); returns how many were cancelled.
    An order a venue would not cancel is logged and left as it is."""
    cancelled = 0
    for order in await orders_repo.working_orders(ctx.conn, session.id):
        try:
            row = await _cancel(ctx, order, 0)
        except ServiceError as exc:
            log.warning(
                "order of a stopped session not cancelled", order=str(order.id), error=exc.message
            )
            continue
        cancelled += row.status == "CANCELED" or row.is_working
    return cancelled


async def list_orders(
    ctx: SessionContext,
    *,
    session_id: uuid.UUID | None,
    symbol: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[SessionOrderRow]:
    if status is not None and status.upper() not in STATUSES:
        raise invalid(f"status must be one of {', '.join(STATUSES)}", "status")
    return await orders_repo.list_orders(
        ctx.conn,
        ctx.user_id,
        session_id=session_id,
        symbol=symbol,
        status=None if status is None else status.upper(),
        limit=limit,
        offset=offset,
    )


async def position_ids(
    ctx: SessionContext, orders: Sequence[SessionOrderRow]
) -> dict[uuid.UUID, uuid.UUID]:
    """The position each order's first fill belongs to."""
    filled = [o for o in orders if o.executed_quantity > 0]
    if not filled:
        return {}
    sessions = sorted({o.session_id for o in filled}, key=str)
    trades = await orders_repo.trades(ctx.conn, ctx.user_id, session_ids=sessions)
    found: dict[uuid.UUID, uuid.UUID] = {}
    for position in derive_positions(trades):
        for order_id in position.order_ids:
            found.setdefault(order_id, position.id)
    return found


def _time(value: Any) -> str | None:
    return None if value is None else iso_millis(value)


def order_json(order: SessionOrderRow, position_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The contract's Order model (plus venue, fees and reason)."""
    return {
        "id": str(order.id),
        "session_id": None if order.session_id is None else str(order.session_id),
        "position_id": None if position_id is None else str(position_id),
        "exchange_order_id": order.exchange_order_id,
        "symbol": order.symbol,
        "exchange": order.exchange,
        "venue": order.venue,
        "side": order.side,
        "type": order.type,
        "status": order.status,
        "price": num(order.price),
        "stop_price": num(order.stop_price),
        "quantity": num(order.quantity),
        "executed_quantity": num(order.executed_quantity),
        "executed_quote_quantity": num(order.executed_quote_quantity),
        "fees": num(order.fees),
        "time_in_force": order.time_in_force,
        "reason": order.reason,
        "placed_at": iso_millis(order.placed_at),
        "filled_at": _time(order.filled_at),
        "canceled_at": _time(order.canceled_at),
        "expired_at": _time(order.expired_at),
        "error_message": order.error_message,
        "created_at": iso_millis(order.created_at),
        "updated_at": iso_millis(order.updated_at),
    }
