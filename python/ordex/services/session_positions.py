"""Positions of trading sessions (`/api/v1/positions*`), derived from their fills.

- `list_positions` without a session: the caller's open positions in every session (and those of
  orders placed without one); with a session: all of that session's positions, open and closed.
- `latest_position`: the most recently opened position in a symbol (of one session, or of any).

Open positions are marked at their venue's last price (ccxt `fetchTicker`, ordex's last trade),
or at their last fill when the venue cannot say. A position's `stop_loss` and `take_profit` are the
stop prices of the session's working stop-loss and take-profit orders on the closing side.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from ordex.db import session_orders as orders_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.session_orders import SessionOrderRow
from ordex.db.trading_sessions import SessionRow
from ordex.services.errors import ServiceError
from ordex.services.market_data import ORDEX_EXCHANGE_ID
from ordex.services.session_messages import num
from ordex.services.session_order_requests import SessionContext
from ordex.services.session_orders import session_not_found
from ordex.services.session_stats import Position, derive_positions
from ordex.timestamps import iso_millis


def position_not_found(symbol: str) -> ServiceError:
    return ServiceError(404, "POSITION_NOT_FOUND", "position not found", details={"symbol": symbol})


async def _session(ctx: SessionContext, session_id: uuid.UUID) -> SessionRow:
    session = await sessions_repo.get_session(ctx.conn, ctx.user_id, session_id)
    if session is None:
        raise session_not_found(session_id)
    return session


async def _positions(
    ctx: SessionContext, session_id: uuid.UUID | None, symbol: str | None
) -> list[Position]:
    sessions: dict[uuid.UUID, SessionRow] = {}
    if session_id is not None:
        sessions[session_id] = await _session(ctx, session_id)
    trades = await orders_repo.trades(
        ctx.conn,
        ctx.user_id,
        session_ids=None if session_id is None else [session_id],
        symbol=symbol,
    )
    positions = derive_positions(trades)
    missing = {p.session_id for p in positions if p.session_id and p.session_id not in sessions}
    for row in await sessions_repo.get_sessions(ctx.conn, missing):
        sessions[row.id] = row
    marks: dict[tuple[str, str, str], Decimal | None] = {}
    for position in positions:
        if not position.is_open:
            continue
        session = None if position.session_id is None else sessions.get(position.session_id)
        exchange = session.exchange if session else ORDEX_EXCHANGE_ID
        market_type = session.market_type if session else "spot"
        key = (exchange, market_type, position.symbol)
        if key not in marks:
            marks[key] = await ctx.venues.last_price(
                ctx.conn, ctx.redis, ctx.registry, exchange, market_type, position.symbol
            )
        if marks[key] is not None:
            position.mark(marks[key])
    return positions


async def list_positions(ctx: SessionContext, session_id: uuid.UUID | None) -> list[dict[str, Any]]:
    positions = await _positions(ctx, session_id, None)
    if session_id is None:
        positions = [p for p in positions if p.is_open]
    exits = await orders_repo.conditional_orders(ctx.conn, ctx.user_id)
    return [position_json(p, exits) for p in positions]


async def latest_position(
    ctx: SessionContext, symbol: str, session_id: uuid.UUID | None
) -> dict[str, Any]:
    positions = await _positions(ctx, session_id, symbol)
    if not positions:
        raise position_not_found(symbol)
    exits = await orders_repo.conditional_orders(ctx.conn, ctx.user_id)
    latest = max(positions, key=lambda p: p.entry_time)
    return position_json(latest, exits)


def _exit_price(position: Position, exits: list[SessionOrderRow], kind: str) -> Decimal | None:
    closing = "SELL" if position.side == "LONG" else "BUY"
    for order in exits:
        if (
            position.is_open
            and order.session_id == position.session_id
            and order.symbol == position.symbol
            and order.side == closing
            and order.type.startswith(kind)
        ):
            return order.stop_price
    return None


def position_json(position: Position, exits: list[SessionOrderRow]) -> dict[str, Any]:
    """The contract's Position model (plus venue)."""
    updated = position.updated_at or position.entry_time
    return {
        "id": str(position.id),
        "session_id": None if position.session_id is None else str(position.session_id),
        "symbol": position.symbol,
        "exchange": position.exchange,
        "venue": position.venue,
        "side": position.side,
        "entry_price": num(position.entry_price),
        "exit_price": num(position.exit_price),
        "quantity": num(position.quantity),
        "entry_time": iso_millis(position.entry_time),
        "exit_time": None if position.exit_time is None else iso_millis(position.exit_time),
        "stop_loss": num(_exit_price(position, exits, "STOP_LOSS")),
        "take_profit": num(_exit_price(position, exits, "TAKE_PROFIT")),
        "realized_pnl": num(position.realized_pnl),
        "unrealized_pnl": num(position.unrealized_pnl),
        "fees": num(position.fees),
        "entry_reason": position.entry_reason,
        "exit_reason": position.exit_reason,
        "created_at": iso_millis(position.entry_time),
        "updated_at": iso_millis(updated),
    }
