"""The internal venue: ordex's own markets, through the exchange pipeline.

An internal session order is an order of the exchange (`services.orders.submit_order`, venue
`SESSION`): held and queued to its market's engine in one transaction with its `session_orders`
row, so it is either both or neither. Its status, executed quantities and fills are the exchange's
from then on (the persister writes them; `session_order_view` shows them), and its live messages
come from the exchange's engine events. The symbol is any spelling of an ordex market (`BTC/USDC`,
`BTC-USDC`, `BTC_USDC`).

A cancel is queued to the engine like `DELETE /orders/{id}`; the answer waits up to
`ordex_session_cancel_wait_ms` for the engine's `cancelled` to be persisted and then shows the
order as it is (CANCELED, or still NEW if the engine has not answered yet).
"""

from __future__ import annotations

import asyncio
import time
import uuid

from ordex.db import session_orders as orders_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.session_orders import NewSessionOrder, SessionOrderRow
from ordex.db.trading_sessions import SessionRow
from ordex.engine_types import TimeInForce
from ordex.services import orders as orders_service
from ordex.services.errors import ServiceError
from ordex.services.exchange_errors import ExchangeError
from ordex.services.order_requests import OrderRequest
from ordex.services.session_order_requests import OrderInput, SessionContext, not_running
from ordex.services.trading_accounts import ensure_trading_account
from ordex.services.venues import bad_symbol

CANCEL_POLL_SECONDS = 0.02
# The exchange's field names, as this contract spells them.
FIELDS = {
    "marketId": "symbol",
    "triggerPrice": "stop_price",
    "timeInForce": "time_in_force",
    "account": "session_id",
}


def as_api_error(error: ExchangeError) -> ServiceError:
    """An exchange refusal in this family's terms: 400 for anything about the order."""
    status = 400 if error.status_code in (404, 409, 422) else error.status_code
    field = FIELDS.get(error.field or "", error.field)
    return ServiceError(status, error.code, error.message, field=field)


def _request(order: OrderInput, market_id: str) -> OrderRequest:
    tif: TimeInForce = order.time_in_force
    if not order.is_limit_priced and tif == "GTC":
        tif = "IOC"  # market-priced orders execute at once; GTC means nothing for them
    return OrderRequest(
        market_id=market_id,
        side=order.side,
        order_type=order.type,
        quantity=order.quantity,
        price=order.price,
        trigger_price=order.stop_price,
        time_in_force=tif,
    )


async def place(
    ctx: SessionContext, session: SessionRow | None, order: OrderInput
) -> SessionOrderRow:
    market = ctx.registry.find(order.symbol)
    if market is None:
        raise bad_symbol("ordex", order.symbol)
    account_id = await ensure_trading_account(ctx.conn, ctx.user_id)
    order_id = uuid.uuid4()
    try:
        async with ctx.conn.transaction():
            if session is not None:
                locked = await sessions_repo.get_session(
                    ctx.conn, ctx.user_id, session.id, lock="share"
                )
                if locked is None or locked.status != "RUNNING":
                    raise not_running(locked or session)
            submitted = await orders_service.submit_order(
                ctx.conn, ctx.redis, ctx.registry, account_id, _request(order, market.id),
                venue="SESSION",
            )  # fmt: skip
            await orders_repo.insert_order(
                ctx.conn,
                NewSessionOrder(
                    id=order_id, user_id=ctx.user_id,
                    session_id=None if session is None else session.id, venue="internal",
                    exchange="ordex", symbol=order.symbol, order_id=submitted.inserted.id,
                    side=order.side, type=order.type, time_in_force=order.time_in_force,
                    price=order.price, stop_price=order.stop_price, quantity=order.quantity,
                    reason=order.reason,
                ),
            )  # fmt: skip
    except ExchangeError as error:
        raise as_api_error(error) from error
    row = await orders_repo.get_order(ctx.conn, ctx.user_id, order_id)
    assert row is not None
    return row


async def cancel(ctx: SessionContext, order: SessionOrderRow, wait_ms: int) -> SessionOrderRow:
    assert order.order_id is not None
    account_id = await ensure_trading_account(ctx.conn, ctx.user_id)
    try:
        await orders_service.cancel_order(ctx.conn, account_id, order.order_id)
    except ExchangeError as error:
        raise as_api_error(error) from error
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        row = await orders_repo.get_order(ctx.conn, ctx.user_id, order.id)
        assert row is not None
        if not row.is_working or time.monotonic() >= deadline:
            return row
        await asyncio.sleep(CANCEL_POLL_SECONDS)
