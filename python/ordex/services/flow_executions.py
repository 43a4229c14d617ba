"""Live flow executions: a trading session with a flow, stepped one closed candle at a time by the
flow worker (workers/flow_runner.py) through the backtest's evaluator (`ordex.FlowRun`).

- **Frozen at the start.** The flow document (with the session's exchange, symbol and capital in
  its settings), the timeframe and the candle range are stored when the execution is first seen,
  so a restarted worker replays the same candles through the same flow to the same state.
- **Warm-up.** Candles from `from_ms` (the flow's warm-up before the start) are stepped without
  sending anything; candles closing at or after `live_from_ms` (the session's start) send the
  orders queued at their close.
- **Exactly once.** Each order gets a client order id derived from (execution, bar, node) and is
  recorded in the transaction that places it on the session's venue: a crash before the commit
  leaves neither (the replay sends it), after it both (the replay skips it). A paper or internal
  order is a database write, so this is exact; a live order's exchange call is outside the
  transaction (a crash between the call and the commit could repeat it).
- **Risk exits.** The evaluator closes a position on a stop or target inside a bar; the execution
  sends that exit as a market order at the bar's close.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

import ordex
from ordex.db import flow_executions as repo
from ordex.db import flows as flows_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.flow_executions import ExecutionRow, NewExecution, OrderIntent, TradeRow
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import agents, session_orders
from ordex.services.automation_config import environment_settings
from ordex.services.candles import timeframe_ms
from ordex.services.errors import ServiceError
from ordex.services.flows import document_json
from ordex.services.session_order_requests import OrderInput, SessionContext

log = get_logger(__name__)

NOTHING_HELD = "NOTHING_HELD"
RISK_EXITS = frozenset({"stop_loss", "take_profit", "trailing_stop"})


def execution_document(
    flow_document: dict[str, Any], session: sessions_repo.SessionRow
) -> dict[str, Any]:
    """The flow with the session's market and capital in its settings."""
    settings = dict(flow_document.get("settings") or {})
    settings.update(
        exchange=session.exchange,
        symbol=session.symbol,
        initialCapital=format(session.initial_capital.normalize(), "f"),
    )
    return {**flow_document, "settings": settings}


async def create_execution(
    conn: Connection, session_id: uuid.UUID, *, replay_ms: int = 0
) -> ExecutionRow | None:
    """The execution of a running flow session, created on first sight. `replay_ms` moves its
    start that far into the past (replays of recorded candles, tests)."""
    found = await sessions_repo.get_sessions(conn, [session_id])
    if not found or found[0].flow_id is None:
        return None
    session = found[0]
    assert session.flow_id is not None
    flow = await flows_repo.get_flow(conn, session.user_id, session.flow_id)
    if flow is None:
        return None
    document = execution_document(document_json(flow.document), session)
    timeframe = str(document["settings"].get("timeframe") or "1h")
    try:
        interval = timeframe_ms(timeframe)
    except ServiceError:
        interval = timeframe_ms("1h")
        timeframe = "1h"
    try:
        warmup = int(ordex.validate_flow(document)["warmup"])
    except ordex.FlowValidationError:
        warmup = 0  # the worker records why it cannot run it
    live_from = int(session.started_at.timestamp() * 1000) - replay_ms
    from_ms = live_from // interval * interval - (warmup + 1) * interval
    new = NewExecution(
        session_id=session.id, user_id=session.user_id, flow_id=session.flow_id,
        document=document, timeframe=timeframe, from_ms=from_ms, live_from_ms=live_from,
    )  # fmt: skip
    await repo.insert_execution(conn, new)
    return await repo.get_execution(conn, session.id)


def client_order_id(session_id: uuid.UUID, bar_ms: int, node: str) -> str:
    """Derived from (execution, bar, node): the same order of a replayed bar has the same id."""
    return f"flow-{session_id.hex}-{bar_ms}-{node}"


@dataclass(frozen=True, slots=True)
class BarOrder:
    node: str
    side: str  # buy | sell
    kind: str  # entry | exit
    quantity: Decimal
    limit_price: Decimal | None
    reason: str


def bar_orders(step: dict[str, Any]) -> list[BarOrder]:
    """The orders a stepped bar sends: the risk exits its fills made inside it (at market), then
    the orders its actions queued at its close."""
    out: list[BarOrder] = []
    for fill in step["fills"]:
        reason = fill["exitReason"]
        if reason in RISK_EXITS:
            out.append(
                BarOrder(
                    f"risk:{reason}", fill["side"], "exit", Decimal(fill["quantity"]), None, reason
                )
            )
    for order in step["orders"]:
        node = order["node"] or f"risk:{order['reason']}"
        limit = order["limitPrice"]
        out.append(
            BarOrder(
                node, order["side"], order["kind"], Decimal(order["quantity"]),
                None if limit is None else Decimal(limit), order["reason"],
            )
        )  # fmt: skip
    return out


def _down(value: Decimal, step: Decimal | None) -> Decimal:
    if step is None or step <= 0:
        return value
    return (value / step).to_integral_value(ROUND_DOWN) * step


async def _exit_quantity(
    ctx: SessionContext, execution: ExecutionRow, base: str, wanted: Decimal
) -> Decimal:
    """A paper exit sells at most the base the session holds (its venue's fees may have taken
    some of what the evaluator bought)."""
    if execution.venue != "paper":
        return wanted
    balances = await sessions_repo.read_balances(ctx.conn, execution.session_id)
    held = balances.get(base)
    if held is None:
        return wanted
    return min(wanted, held.total - held.held)


async def send_order(
    ctx: SessionContext, execution: ExecutionRow, bar_ms: int, order: BarOrder, close_ms: int
) -> bool:
    """Sends one order of a bar unless its client order id was sent already (False then). A
    venue's refusal is recorded on the order and counted as an execution error."""
    cid = client_order_id(execution.session_id, bar_ms, order.node)
    conn = ctx.conn
    async with conn.transaction():
        intent = OrderIntent(
            client_order_id=cid, session_id=execution.session_id, bar_ms=bar_ms,
            node=order.node, side=order.side, kind=order.kind, quantity=order.quantity,
            limit_price=order.limit_price, reason=order.reason, candle_close_ms=close_ms,
        )  # fmt: skip
        if not await repo.insert_intent(conn, intent):
            return False
        error: str | None = None
        row_id: uuid.UUID | None = None
        try:
            async with conn.transaction():
                spec = await ctx.venues.spec(
                    ctx.registry, execution.exchange, execution.market_type, execution.symbol
                )
                quantity = order.quantity
                if order.kind == "exit" and order.side == "sell":
                    quantity = await _exit_quantity(ctx, execution, spec.base, quantity)
                quantity = _down(quantity, spec.amount_step)
                if quantity <= 0 and order.kind == "exit":
                    # The evaluator's position was opened during the warm-up: the venue holds
                    # nothing to close. Recorded, not an error.
                    raise ServiceError(200, NOTHING_HELD, "the session holds nothing to close")
                if quantity <= 0:
                    raise ServiceError(400, "NOTHING_TO_SEND", "the order's quantity is 0")
                price = order.limit_price
                if price is not None:
                    price = _down(price, spec.price_step)
                row = await session_orders.place_order(
                    ctx,
                    OrderInput(
                        symbol=execution.symbol,
                        side="BUY" if order.side == "buy" else "SELL",
                        type="MARKET" if price is None else "LIMIT",
                        quantity=quantity,
                        price=price,
                        stop_price=None,
                        time_in_force="GTC" if price is None else "IOC",
                        session_id=execution.session_id,
                        reason=f"{cid} {order.reason}",
                    ),
                )
                row_id = row.id
        except ServiceError as exc:
            if exc.status_code >= 500:
                raise  # the venue is unreachable: nothing recorded, the replay sends it again
            error = f"{exc.code}: {exc.message}"
            log.info("flow order refused", client_order_id=cid, error=error)
        await repo.set_intent_result(
            conn, cid, row_id, error, count_error=not (error or "").startswith(NOTHING_HELD)
        )
    return True


def trade_rows(session_id: uuid.UUID, trades: list[dict[str, Any]], start: int) -> list[TradeRow]:
    return [
        TradeRow(
            session_id=session_id,
            seq=i,
            side=t["side"],
            entry_ms=t["entryTime"],
            exit_ms=t["exitTime"],
            quantity=Decimal(t["quantity"]),
            entry_price=Decimal(t["entryPrice"]),
            exit_price=Decimal(t["exitPrice"]),
            pnl=Decimal(t["pnl"]),
            fees=Decimal(t["fees"]),
            exit_reason=t["exitReason"],
        )
        for i, t in enumerate(trades[start:], start)
    ]


async def record_progress(
    conn: Connection, execution: ExecutionRow, run: ordex.FlowRun, last_bar_ms: int, recorded: int
) -> int:
    """Stores the run's progress and the trades closed since `recorded`; returns the new count."""
    trades = run.trades
    await repo.record_progress(
        conn, execution.session_id, last_bar_ms, run.bars, Decimal(run.equity),
        0 if run.position is None else 1, trade_rows(execution.session_id, trades, recorded),
    )  # fmt: skip
    return len(trades)


def heartbeat_seconds() -> float:
    return environment_settings().ordex_agent_heartbeat_seconds


async def heartbeat(conn: Connection, redis: RedisClient, execution: ExecutionRow) -> None:
    """The heartbeat of the execution's runner agent (the one its session registered when it
    started: `session-{id}`), with the execution's progress in its metadata."""
    await agents.register_runner(
        conn,
        execution.user_id,
        f"session-{execution.session_id}",
        {
            "session_id": str(execution.session_id),
            "flow_id": None if execution.flow_id is None else str(execution.flow_id),
            "exchange": execution.exchange,
            "symbol": execution.symbol,
            "venue": execution.venue,
            "timeframe": execution.timeframe,
            "bars": execution.bars,
            "last_candle_ms": execution.last_bar_ms,
            "errors": execution.error_count,
        },
        redis=redis,
    )
