"""The WebSocket messages of trading sessions (`/api/v1/ws`, the cryptofunk shapes), sent to the
session owner's live clients through `live_messages.publish`:

- `order_update` when a paper or live order is placed or changes status, `trade` for each of its
  fills, `position_update` for the session's position in the symbol after fills (internal orders
  get theirs from the exchange's engine events);
- `system_status` when a session starts, stops, pauses or resumes (`trading_started`, ...);
- `error` when a venue refuses an order.

Publishing never fails the operation that caused it: the change is committed already.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from ordex.db import session_orders as orders_repo
from ordex.db.session_orders import NewFill, SessionOrderRow
from ordex.db.trading_sessions import SessionRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import live_messages, notifications
from ordex.services.session_stats import Position, derive_positions
from ordex.timestamps import iso_millis

log = get_logger(__name__)

SYSTEM_MESSAGES = {
    "trading_started": "Trading session started",
    "trading_stopped": "Trading session stopped",
    "trading_paused": "Trading session paused",
    "trading_resumed": "Trading session resumed",
}


def num(value: Decimal | None) -> float | None:
    """A JSON number for the cryptofunk shapes (money stays Decimal up to here)."""
    return None if value is None else float(value)


Message = tuple[str, dict[str, Any]]


async def _send(redis: RedisClient, user_id: uuid.UUID, messages: Sequence[Message]) -> None:
    """Publishes the messages, in order, in one round trip to Redis."""
    if not messages:
        return
    channel = f"{live_messages.USER_CHANNEL_PREFIX}{user_id}"
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for message_type, data in messages:
                pipe.publish(channel, orjson.dumps(live_messages.envelope(message_type, data)))
            await pipe.execute()
    except Exception as exc:  # the change is committed; a lost message is only logged
        log.warning("live messages not published", count=len(messages), error=str(exc))


def _order_message(order: SessionOrderRow) -> Message:
    return (
        "order_update",
        {
            "order_id": str(order.id),
            "session_id": None if order.session_id is None else str(order.session_id),
            "symbol": order.symbol,
            "side": order.side,
            "type": order.type,
            "status": order.status,
            "quantity": num(order.quantity),
            "executed_quantity": num(order.executed_quantity),
            "filled_at": None if order.filled_at is None else iso_millis(order.filled_at),
        },
    )


def _trade_messages(order: SessionOrderRow, fills: Sequence[NewFill]) -> list[Message]:
    return [
        (
            "trade",
            {
                "trade_id": f"{order.id}:{fill.trade_key}",
                "order_id": str(order.id),
                "session_id": None if order.session_id is None else str(order.session_id),
                "symbol": order.symbol,
                "side": order.side,
                "price": num(fill.price),
                "quantity": num(fill.quantity),
                "commission": num(fill.fee),
                "executed_at": iso_millis(fill.executed_at or order.updated_at),
            },
        )
        for fill in fills
    ]


def position_data(position: Position) -> dict[str, Any]:
    return {
        "position_id": str(position.id),
        "session_id": None if position.session_id is None else str(position.session_id),
        "symbol": position.symbol,
        "side": position.side,
        "entry_price": num(position.entry_price),
        "quantity": num(position.quantity),
        "unrealized_pnl": num(position.unrealized_pnl),
        "realized_pnl": num(position.realized_pnl),
    }


async def order_update(redis: RedisClient, order: SessionOrderRow) -> None:
    await _send(redis, order.user_id, [_order_message(order)])


async def execution(
    conn: Connection, redis: RedisClient, order: SessionOrderRow, fills: Sequence[NewFill]
) -> None:
    """Everything an order's change shows: its fills, its status, then the session's latest
    position in the symbol (marked at its last fill) when it traded."""
    messages = [*_trade_messages(order, fills), _order_message(order)]
    if fills:
        rows = await orders_repo.latest_position_trades(
            conn, order.user_id, order.session_id, order.symbol
        )
        positions = derive_positions(rows)
        if positions:
            messages.append(("position_update", position_data(positions[-1])))
    await _send(redis, order.user_id, messages)
    await notifications.order_changed(conn, redis, order, fills)


async def system_status(redis: RedisClient, status: str, session: SessionRow) -> None:
    message: Message = (
        "system_status",
        {
            "status": status,
            "message": SYSTEM_MESSAGES[status],
            "metadata": {
                "session_id": str(session.id),
                "symbol": session.symbol,
                "mode": session.mode,
                "venue": session.venue,
                "exchange": session.exchange,
            },
        },
    )
    await _send(redis, session.user_id, [message])


async def venue_error(
    redis: RedisClient, user_id: uuid.UUID, message: str, details: str, *, severity: str = "high"
) -> None:
    data = {"error": message, "details": details, "severity": severity}
    await _send(redis, user_id, [("error", data)])
