"""The live venue: orders on a real exchange through ccxt, signed with the user's stored keys.

- Placing (`place`): the order row is written first (status NEW, no exchange id yet) and
  committed, then ccxt `createOrder` sends it with the row's id as the client order id. An order
  the exchange refuses (invalid, unaffordable, keys refused) is deleted again and answered with the
  exchange's reason (400, or 401/403 for the keys); when the exchange's answer is lost (a timeout,
  the exchange down) the row stays NEW with an `error_message`, and the session watcher finds out
  by the client order id what became of it.
- Fills are recorded as the exchange reports them: the fills of a `createOrder` answer (Binance's
  FULL response), then `fetchOrder` by the session watcher and, when the executed quantity grew,
  `fetchOrderTrades`; each fill once, keyed by the exchange's trade id. Fees are converted to the
  quote asset at the fill's price when the exchange charged the base asset.
- Cancelling (`cancel`): ccxt `cancelOrder`; an order the exchange no longer knows as open is
  looked up so its real final state (often FILLED) is recorded.

Status mapping from ccxt: open -> NEW (PARTIALLY_FILLED once something filled), closed -> FILLED,
canceled -> CANCELED, expired -> EXPIRED, rejected -> REJECTED.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async  # type: ignore[import-untyped]

from ordex.db import session_orders as orders_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.session_orders import Execution, NewFill, NewSessionOrder, SessionOrderRow
from ordex.db.trading_sessions import SessionRow
from ordex.services import notifications, session_messages
from ordex.services.errors import ServiceError
from ordex.services.market_data import ExchangeConfig, map_ccxt_error
from ordex.services.markets import plain
from ordex.services.paper_matching import number
from ordex.services.session_order_requests import (
    OrderInput,
    SessionContext,
    check_grid,
    not_running,
)
from ordex.services.venues import MarketSpec

ZERO = Decimal(0)
CCXT_TYPES: dict[str, tuple[str, str | None]] = {
    "MARKET": ("market", None),
    "LIMIT": ("limit", None),
    "STOP_LOSS": ("market", "stopLossPrice"),
    "STOP_LOSS_LIMIT": ("limit", "stopLossPrice"),
    "TAKE_PROFIT": ("market", "takeProfitPrice"),
    "TAKE_PROFIT_LIMIT": ("limit", "takeProfitPrice"),
}
STATUSES = {
    "open": "NEW",
    "closed": "FILLED",
    "canceled": "CANCELED",
    "cancelled": "CANCELED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
}
# ccxt errors after which the order certainly does not exist on the exchange.
REFUSALS: tuple[type[Exception], ...] = (
    ccxt_async.InvalidOrder,
    ccxt_async.InsufficientFunds,
    ccxt_async.BadRequest,
    ccxt_async.BadSymbol,
    ccxt_async.AuthenticationError,
    ccxt_async.NotSupported,
    ccxt_async.ArgumentsRequired,
)


def _refusal(exc: Exception, exchange: str) -> ServiceError:
    if isinstance(exc, ccxt_async.InsufficientFunds):
        return ServiceError(
            400, "INSUFFICIENT_BALANCE", f"{exchange}: insufficient balance", details=str(exc)
        )
    if isinstance(exc, ccxt_async.InvalidOrder | ccxt_async.BadRequest | ccxt_async.BadSymbol):
        return ServiceError(
            400, "ORDER_REFUSED", f"{exchange} refused the order", details=str(exc)[:300]
        )
    return map_ccxt_error(exc, exchange)


async def _instance(ctx: SessionContext, session: SessionRow) -> tuple[ExchangeConfig, Any]:
    return await ctx.venues.private(
        ctx.conn, session.user_id, session.exchange, session.market_type,
        session.exchange_account_id,
    )  # fmt: skip


def _by_client_id(order: SessionOrderRow) -> tuple[str | None, dict[str, str]]:
    """How to name the order to the exchange: its id there, or our id as its client order id."""
    if order.exchange_order_id:
        return order.exchange_order_id, {}
    return None, {"clientOrderId": str(order.id)}


async def place(
    ctx: SessionContext, session: SessionRow, spec: MarketSpec, order: OrderInput
) -> tuple[SessionOrderRow, list[NewFill]]:
    check_grid(order, spec)
    config, exchange = await _instance(ctx, session)
    order_id = uuid.uuid4()
    async with ctx.conn.transaction():
        locked = await sessions_repo.get_session(ctx.conn, ctx.user_id, session.id, lock="share")
        if locked is None or locked.status != "RUNNING":
            raise not_running(locked or session)
        await orders_repo.insert_order(
            ctx.conn,
            NewSessionOrder(
                id=order_id, user_id=ctx.user_id, session_id=session.id, venue="live",
                exchange=session.exchange, symbol=spec.symbol, order_id=None, side=order.side,
                type=order.type, time_in_force=order.time_in_force, price=order.price,
                stop_price=order.stop_price, quantity=order.quantity, reason=order.reason,
            ),
        )  # fmt: skip
    ccxt_type, stop_param = CCXT_TYPES[order.type]
    params: dict[str, str] = {"clientOrderId": str(order_id)}
    if ccxt_type == "limit":
        params["timeInForce"] = order.time_in_force
    if stop_param is not None:
        assert order.stop_price is not None
        params[stop_param] = plain(order.stop_price)
    price = None if order.price is None else plain(order.price)
    try:
        report = await exchange.create_order(
            spec.symbol, ccxt_type, order.side.lower(), plain(order.quantity), price, params
        )
    except REFUSALS as exc:
        await orders_repo.delete_order(ctx.conn, order_id)
        error = _refusal(exc, session.exchange)
        await session_messages.venue_error(ctx.redis, ctx.user_id, error.message, str(exc)[:300])
        await notifications.order_refused(
            ctx.conn, ctx.redis, session, order.side, order.quantity, error.message
        )
        raise error from exc
    except (ccxt_async.BaseError, TimeoutError) as exc:
        # The exchange may or may not have the order: the watcher asks it by client order id.
        error = map_ccxt_error(exc, session.exchange)
        await orders_repo.update_execution(
            ctx.conn,
            order_id,
            Execution(
                status="NEW", executed_quantity=ZERO, executed_quote_quantity=ZERO, fees=ZERO,
                hold_amount=ZERO, triggered=False,
                error_message=f"exchange did not confirm the order: {error.message}",
            ),
        )  # fmt: skip
        ctx.wake_watcher()
        raise error from exc
    row = await orders_repo.get_order(ctx.conn, ctx.user_id, order_id)
    assert row is not None
    row, fills = await _record(ctx, config, exchange, spec, row, report)
    if row.is_working:
        ctx.wake_watcher()
    return row, fills


async def cancel(
    ctx: SessionContext, session: SessionRow, spec: MarketSpec, order: SessionOrderRow
) -> SessionOrderRow:
    config, exchange = await _instance(ctx, session)
    exchange_id, params = _by_client_id(order)
    try:
        report = await exchange.cancel_order(exchange_id, order.symbol, params)
    except ccxt_async.OrderNotFound:
        # Not open there any more: record what it became (filled, most likely).
        return await sync(ctx, session, spec, order)
    except (ccxt_async.BaseError, TimeoutError) as exc:
        raise map_ccxt_error(exc, session.exchange) from exc
    row, fills = await _record(ctx, config, exchange, spec, order, report)
    await session_messages.execution(ctx.conn, ctx.redis, row, fills)
    return row


async def sync(
    ctx: SessionContext, session: SessionRow, spec: MarketSpec, order: SessionOrderRow
) -> SessionOrderRow:
    """Asks the exchange about a working order and records what changed."""
    config, exchange = await _instance(ctx, session)
    exchange_id, params = _by_client_id(order)
    try:
        report = await exchange.fetch_order(exchange_id, order.symbol, params)
    except ccxt_async.OrderNotFound:
        if order.exchange_order_id is not None:
            raise ServiceError(
                502, "EXCHANGE_ERROR", f"{session.exchange} no longer knows order"
            ) from None
        # Never placed: the exchange has no order with our client order id.
        await orders_repo.update_execution(
            ctx.conn,
            order.id,
            Execution(
                status="REJECTED", executed_quantity=ZERO, executed_quote_quantity=ZERO,
                fees=ZERO, hold_amount=ZERO, triggered=False,
                error_message=f"{session.exchange} never received the order",
            ),
        )  # fmt: skip
        row = await orders_repo.get_order(ctx.conn, None, order.id)
        assert row is not None
        await session_messages.execution(ctx.conn, ctx.redis, row, [])
        return row
    except (ccxt_async.BaseError, TimeoutError) as exc:
        raise map_ccxt_error(exc, session.exchange) from exc
    before = (order.status, order.executed_quantity)
    row, fills = await _record(ctx, config, exchange, spec, order, report)
    if fills or (row.status, row.executed_quantity) != before:
        await session_messages.execution(ctx.conn, ctx.redis, row, fills)
    return row


def _fee_in_quote(fee: Any, price: Decimal, spec: MarketSpec) -> Decimal:
    if not isinstance(fee, dict) or fee.get("cost") is None:
        return ZERO
    cost = number(fee["cost"])
    return cost * price if fee.get("currency") == spec.base else cost


def _fills(trades: Sequence[Any], spec: MarketSpec) -> list[NewFill]:
    fills: list[NewFill] = []
    for trade in trades:
        if trade.get("price") is None or not trade.get("amount"):
            continue
        price = number(trade["price"])
        timestamp = trade.get("timestamp")
        fills.append(
            NewFill(
                trade_key=str(trade.get("id") or f"{timestamp}:{trade['price']}:{trade['amount']}"),
                liquidity="MAKER" if trade.get("takerOrMaker") == "maker" else "TAKER",
                price=price,
                quantity=number(trade["amount"]),
                fee=_fee_in_quote(trade.get("fee"), price, spec),
                fee_asset=spec.quote,
                executed_at=(
                    None if timestamp is None else datetime.fromtimestamp(timestamp / 1000, UTC)
                ),
            )
        )
    return fills


async def _record(
    ctx: SessionContext,
    config: ExchangeConfig,
    exchange: Any,
    spec: MarketSpec,
    order: SessionOrderRow,
    report: dict[str, Any],
) -> tuple[SessionOrderRow, list[NewFill]]:
    """Stores what an exchange order report says: new fills, executed quantities, status."""
    filled = number(report.get("filled") or 0)
    cost = report.get("cost")
    quote = number(cost) if cost is not None else filled * number(report.get("average") or 0)
    status = STATUSES.get(str(report.get("status")), "NEW")
    if status == "NEW" and filled > 0:
        status = "PARTIALLY_FILLED"
    trades = list(report.get("trades") or [])
    known = await orders_repo.fill_keys(ctx.conn, order.id)
    reported = sum((number(t["amount"]) for t in trades if t.get("amount")), ZERO)
    exchange_id = report.get("id")
    if (
        filled > order.executed_quantity
        and reported < filled
        and exchange.has.get("fetchOrderTrades")
        and exchange_id
    ):
        try:
            trades = await exchange.fetch_order_trades(exchange_id, order.symbol)
        except ccxt_async.BaseError as exc:
            raise map_ccxt_error(exc, config.exchange_id) from exc
    fills = [f for f in _fills(trades, spec) if f.trade_key not in known]
    stored_quantity = order.executed_quantity + sum((f.quantity for f in fills), ZERO)
    if filled > stored_quantity:
        # No trade list for the difference: one fill at the average price of what is new.
        delta = filled - stored_quantity
        new_quote = (
            quote - order.executed_quote_quantity - sum((f.price * f.quantity for f in fills), ZERO)
        )
        fills.append(
            NewFill(
                trade_key=f"filled:{plain(filled)}", liquidity="TAKER",
                price=new_quote / delta if new_quote > 0 else number(report.get("average") or 0),
                quantity=delta, fee=ZERO, fee_asset=spec.quote,
            )
        )  # fmt: skip
    async with ctx.conn.transaction():
        locked = await orders_repo.get_order(ctx.conn, None, order.id, lock=True)
        assert locked is not None
        stored = await orders_repo.insert_fills(
            ctx.conn, order.id, [f for f in fills if f.price > 0]
        )
        await orders_repo.update_execution(
            ctx.conn,
            order.id,
            Execution(
                status=status,
                executed_quantity=max(filled, locked.executed_quantity),
                executed_quote_quantity=max(quote, locked.executed_quote_quantity),
                fees=locked.fees + sum((f.fee for f in stored), ZERO),
                hold_amount=ZERO,
                triggered=locked.triggered,
                exchange_order_id=None if exchange_id is None else str(exchange_id),
                error_message=None,
            ),
        )
        row = await orders_repo.get_order(ctx.conn, None, order.id)
    assert row is not None
    return row, stored
