"""Users' notifications: written by what happens, filtered by the user's preferences, listed by
`/api/notifications`, and pushed to the user's live clients as they are written.

`notify(conn, redis, user_id, type, title, message, data)` is the one writer. `type` is an event
key of the preferences (engine_start, engine_stop, trade_executed, engine_error), or any other
category (system, ...) that no preference silences. The row keeps the contract's category in
`type` (engine, trade, system) and the event in `event`.

Pushed, once written, to:
- Socket.IO: event `notification` in room `user:{userId}`, through the Socket.IO server's Redis
  channel (the message a write-only `AsyncRedisManager` publishes), so every API process delivers
  it whichever process wrote it;
- the WebSocket `/api/v1/ws`: a `{"type": "notification", "timestamp", "data"}` message through
  `live_messages.publish`.
Both carry the notification as the list shows it.

Notifying never fails what caused it: a write or push that fails is logged. Call it after the
change it reports is committed; inside a transaction it writes under a savepoint.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import orjson

from ordex.db import notifications as notifications_repo
from ordex.db import session_orders as session_orders_repo
from ordex.db import trade_notifications as trade_notifications_repo
from ordex.db.notifications import NewNotification, NotificationRow
from ordex.db.session_orders import NewFill, SessionOrderRow
from ordex.db.trade_notifications import SessionOrderFill
from ordex.db.trading_sessions import SessionRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import live_messages, notification_preferences
from ordex.services.errors import ServiceError
from ordex.timestamps import iso_millis

log = get_logger(__name__)

SOCKETIO_EVENT = "notification"
WS_MESSAGE_TYPE = "notification"
# The channel of the Socket.IO server's client manager (`api/realtime/socketio.create_server`).
SOCKETIO_CHANNEL = "socketio"
_HOST_ID = f"ordex-notify-{uuid.uuid4().hex}"  # never a server's own id, so every server emits

# Event key -> the category the list filters by.
CATEGORIES = {
    "engine_start": "engine",
    "engine_stop": "engine",
    "trade_executed": "trade",
    "engine_error": "engine",
}
MAX_LIMIT = 200


def notification_not_found() -> ServiceError:
    return ServiceError(404, "NOTIFICATION_NOT_FOUND", "Notification not found", field="id")


def notification_json(row: NotificationRow) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "type": row.type,
        "event": row.event,
        "title": row.title,
        "message": row.message,
        "data": row.data,
        "read_at": None if row.read_at is None else iso_millis(row.read_at),
        "action_url": row.action_url,
        "created_at": iso_millis(row.created_at),
    }


# ----- the writer ---------------------------------------------------------------------------


async def notify(
    conn: Connection,
    redis: RedisClient | None,
    user_id: uuid.UUID,
    type: str,
    title: str,
    message: str,
    data: Mapping[str, Any] | None = None,
    *,
    action_url: str | None = None,
    push_now: bool = True,
) -> NotificationRow | None:
    """Writes the notification unless the user's preferences silence it, then pushes it (or
    leaves the push to the caller, after its commit, with `push_now=False`). None when silenced
    or when it could not be written."""
    try:
        if not await notification_preferences.enabled(conn, user_id, type):
            return None
        new = NewNotification(
            user_id=user_id,
            type=CATEGORIES.get(type, type),
            event=type,
            title=title[:200],
            message=message[:1000],
            data=dict(data or {}),
            action_url=action_url,
        )
        if conn.is_in_transaction():
            async with conn.transaction():  # a savepoint: a failure leaves the caller's intact
                row = await notifications_repo.insert(conn, new)
        else:
            row = await notifications_repo.insert(conn, new)
    except Exception as exc:  # the change it reports stands; a lost notification is logged
        log.warning("notification not written", user_id=str(user_id), type=type, error=str(exc))
        return None
    if redis is not None and push_now:
        await push(redis, row)
    return row


async def push(redis: RedisClient, row: NotificationRow) -> None:
    payload = notification_json(row)
    socketio_message = {
        "method": "emit",
        "event": SOCKETIO_EVENT,
        "data": [payload],
        "binary": False,
        "namespace": "/",
        "room": f"user:{row.user_id}",
        "skip_sid": None,
        "callback": None,
        "host_id": _HOST_ID,
    }
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.publish(SOCKETIO_CHANNEL, orjson.dumps(socketio_message))
            pipe.publish(
                f"{live_messages.USER_CHANNEL_PREFIX}{row.user_id}",
                orjson.dumps(live_messages.envelope(WS_MESSAGE_TYPE, payload)),
            )
            await pipe.execute()
    except Exception as exc:  # written already; the list still shows it
        log.warning("notification not pushed", id=str(row.id), error=str(exc))


# ----- what happens: the hooks of sessions and venues -----------------------------------------


def _amount(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _money(value: Decimal) -> str:
    """$42,150.50 (cents from $1 up, every significant digit below)."""
    shown = value.quantize(Decimal("0.01")) if value >= 1 else value.normalize()
    return f"${shown:,f}"


def _session_data(session: SessionRow) -> dict[str, Any]:
    return {
        "session_id": str(session.id),
        "flow_id": None if session.flow_id is None else str(session.flow_id),
        "symbol": session.symbol,
        "mode": session.mode,
        "venue": session.venue,
        "exchange": session.exchange,
    }


def _session_url(session: SessionRow) -> str:
    return "/dashboard" if session.flow_id is None else f"/flows/{session.flow_id}"


async def session_started(conn: Connection, redis: RedisClient | None, session: SessionRow) -> None:
    what = "Execution" if session.flow_id is not None else "Trading session"
    await notify(
        conn,
        redis,
        session.user_id,
        "engine_start",
        f"{what} started",
        f"{session.symbol} {session.mode.lower()} trading started on {session.exchange} "
        f"({session.venue} venue)",
        _session_data(session),
        action_url=_session_url(session),
    )


async def session_stopped(conn: Connection, redis: RedisClient | None, session: SessionRow) -> None:
    what = "Execution" if session.flow_id is not None else "Trading session"
    data = _session_data(session)
    message = f"{session.symbol} {session.mode.lower()} trading stopped on {session.exchange}"
    if session.total_pnl is not None:
        data["total_pnl"] = float(session.total_pnl)
        data["total_trades"] = session.total_trades
        message += f": PnL {session.total_pnl.quantize(Decimal('0.01'))} {session.quote_asset}"
    await notify(
        conn,
        redis,
        session.user_id,
        "engine_stop",
        f"{what} stopped",
        message,
        data,
        action_url=_session_url(session),
    )


async def order_changed(
    conn: Connection, redis: RedisClient | None, order: SessionOrderRow, fills: Sequence[NewFill]
) -> None:
    """An execution of a paper or live session order (`session_messages.execution`): its fills
    are a trade; an order the venue turned REJECTED (a paper stop it can no longer afford, a live
    order the exchange never took) an execution error."""
    if fills:
        await trade_executed(conn, redis, order, fills)
    elif order.status == "REJECTED":
        await order_rejected(conn, redis, order)


async def order_rejected(
    conn: Connection, redis: RedisClient | None, order: SessionOrderRow
) -> None:
    reason = order.error_message or "rejected by the venue"
    await notify(
        conn,
        redis,
        order.user_id,
        "engine_error",
        "Order rejected",
        f"{order.exchange} rejected {order.side.lower()} {_amount(order.quantity)} "
        f"{order.symbol}: {reason}",
        {**_order_data(order), "reason": reason},
        action_url="/history",
    )


def _order_data(order: SessionOrderRow) -> dict[str, Any]:
    return {
        "order_id": str(order.id),
        "session_id": None if order.session_id is None else str(order.session_id),
        "symbol": order.symbol,
        "side": order.side,
        "status": order.status,
        "venue": order.venue,
        "exchange": order.exchange,
    }


async def trade_executed(
    conn: Connection,
    redis: RedisClient | None,
    order: SessionOrderRow,
    fills: Sequence[NewFill],
    *,
    push_now: bool = True,
) -> NotificationRow | None:
    """One notification per execution of an order that traded: its fills together, at their
    average price."""
    if not fills:
        return None
    quantity = sum((f.quantity for f in fills), Decimal(0))
    if quantity <= 0:
        return None
    price = sum((f.price * f.quantity for f in fills), Decimal(0)) / quantity
    filled = order.status == "FILLED"
    return await notify(
        conn,
        redis,
        order.user_id,
        "trade_executed",
        "Order Filled" if filled else "Order Partially Filled",
        f"{order.symbol} {order.side.lower()} {_amount(quantity)} "
        f"{'filled' if filled else 'partially filled'} at {_money(price)}",
        {**_order_data(order), "quantity": float(quantity), "price": float(price)},
        action_url="/history",
        push_now=push_now,
    )


async def internal_fills(conn: Connection) -> list[NotificationRow]:
    """The trade notifications of session orders filled on ordex's own markets since the last
    round, written with the cursors moved past them (call inside a transaction; push the rows once
    it has committed). The persister settles those fills, so they are found in its committed
    progress rather than at the venue: one notification per order per round, its status as of
    the round's last fill."""
    written: list[NotificationRow] = []
    for backlog in await trade_notifications_repo.lock_backlogs(conn):
        fills = await trade_notifications_repo.session_order_fills(
            conn, backlog.market_id, backlog.after_seq, backlog.until_seq
        )
        by_order: dict[uuid.UUID, list[SessionOrderFill]] = {}
        for fill in fills:
            by_order.setdefault(fill.session_order_id, []).append(fill)
        for order_id, order_fills in by_order.items():
            order = await session_orders_repo.get_order(conn, None, order_id)
            if order is None:
                continue
            last = order_fills[-1]
            status = "FILLED" if last.filled_through >= order.quantity else "PARTIALLY_FILLED"
            as_filled = dataclasses.replace(order, status=status)
            new_fills = [
                NewFill(
                    trade_key=f"{backlog.market_id}:{f.seq}:{f.liquidity}",
                    liquidity=f.liquidity,
                    price=f.price,
                    quantity=f.quantity,
                    fee=f.fee,
                    fee_asset=f.fee_asset,
                    executed_at=f.created_at,
                )
                for f in order_fills
            ]
            row = await trade_executed(conn, None, as_filled, new_fills, push_now=False)
            if row is not None:
                written.append(row)
        await trade_notifications_repo.advance(conn, backlog.market_id, backlog.until_seq)
    return written


async def order_refused(
    conn: Connection,
    redis: RedisClient | None,
    session: SessionRow,
    side: str,
    quantity: Decimal,
    reason: str,
) -> None:
    """A venue refused an order of a running session or execution."""
    data = _session_data(session)
    data.update(side=side, quantity=float(quantity), reason=reason)
    await notify(
        conn,
        redis,
        session.user_id,
        "engine_error",
        "Order rejected",
        f"{session.exchange} refused {side.lower()} {_amount(quantity)} {session.symbol}: {reason}",
        data,
        action_url=_session_url(session),
    )


# ----- what the routes use ------------------------------------------------------------------


async def list_notifications(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    type: str | None,
    unread_only: bool,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    rows, total = await notifications_repo.list_page(
        conn, user_id, type=type, unread_only=unread_only, limit=limit, offset=offset
    )
    return {"notifications": [notification_json(r) for r in rows], "total": total}


async def mark_all_read(conn: Connection, user_id: uuid.UUID) -> int:
    return await notifications_repo.mark_all_read(conn, user_id)


async def mark_read(conn: Connection, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    if not await notifications_repo.mark_read(conn, user_id, notification_id):
        raise notification_not_found()


async def delete(conn: Connection, user_id: uuid.UUID, notification_id: uuid.UUID) -> None:
    if not await notifications_repo.delete(conn, user_id, notification_id):
        raise notification_not_found()
