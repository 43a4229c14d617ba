"""Trading sessions (`/api/v1/trade/*`): start, stop, pause, resume, and their statistics.

- **Start** takes the contract's body (`symbol`, `initial_capital` > 0, `mode` PAPER | LIVE in any
  case, PAPER by default) plus optional `exchange` (the configured default, binance, when left
  out), `venue`, `market_type` (spot), `account_id` (which stored keys a live session uses; the
  newest of the exchange by default), `flow_id` and `agent`. PAPER trades on the `paper` venue;
  LIVE on the `live` one, or on `internal` when the exchange is `ordex`. The symbol must be a
  market of the exchange; a live session needs stored keys the exchange accepts. A paper session's
  simulated account starts with `initial_capital` of the market's quote asset.
- **Pause** (RUNNING -> PAUSED): new orders are refused; resting orders and stops stay and fill.
  **Resume** (PAUSED -> RUNNING). **Stop** (RUNNING or PAUSED -> STOPPED): new orders are refused
  from that moment, the session's working orders are cancelled on their venues, and the statistics
  are computed from its fills (`session_stats`) and kept. `final_capital` in the stop body is
  optional; when given it is kept as `reported_final_capital` next to the computed one, never used
  for the statistics.
- A session that is not in the state an action needs is a 400 (SESSION_NOT_RUNNING,
  SESSION_NOT_PAUSED, SESSION_STOPPED); another user's session is a 404.

Every change is published as a `system_status` message to the owner's live clients.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ordex.db import session_orders as orders_repo
from ordex.db import trading_sessions as sessions_repo
from ordex.db.trading_sessions import NewSession, SessionRow, StoppedStats
from ordex.services import (
    agents,
    exchange_accounts,
    notifications,
    session_messages,
    session_orders,
)
from ordex.services.errors import ServiceError
from ordex.services.market_data import ORDEX_EXCHANGE_ID
from ordex.services.session_messages import num
from ordex.services.session_order_requests import SessionContext, invalid
from ordex.services.session_stats import Statistics, statistics
from ordex.timestamps import iso_millis

MODES = ("PAPER", "LIVE")
VENUES = ("internal", "paper", "live")
MARKET_TYPES = ("spot", "margin", "swap", "future")


@dataclass(frozen=True, slots=True)
class StartInput:
    symbol: str
    initial_capital: Decimal
    mode: str
    exchange: str | None
    venue: str | None
    market_type: str
    account_id: uuid.UUID | None
    flow_id: uuid.UUID | None
    agent: str | None


def session_not_found(session_id: object) -> ServiceError:
    return session_orders.session_not_found(session_id)


def choose_venue(mode: str, exchange: str, venue: str | None) -> str:
    """The design note's rule; an explicit venue must agree with the mode."""
    default = (
        "paper" if mode == "PAPER" else "internal" if exchange == ORDEX_EXCHANGE_ID else "live"
    )
    if venue is None:
        return default
    if mode == "PAPER" and venue != "paper":
        raise invalid(f"mode PAPER trades on the paper venue, not {venue}", "venue")
    if mode == "LIVE" and venue == "paper":
        raise invalid("mode LIVE does not trade on the paper venue", "venue")
    if venue == "internal" and exchange != ORDEX_EXCHANGE_ID:
        raise invalid("the internal venue is ordex's own markets: exchange must be ordex", "venue")
    if venue == "live" and exchange == ORDEX_EXCHANGE_ID:
        raise invalid("ordex's own markets are the internal venue", "venue")
    return venue


async def start(ctx: SessionContext, body: StartInput) -> SessionRow:
    exchange = body.exchange or ctx.venues.settings.ordex_session_default_exchange
    venue = choose_venue(body.mode, exchange, body.venue)
    if body.flow_id is not None and not await sessions_repo.flow_exists(
        ctx.conn, ctx.user_id, body.flow_id
    ):
        raise ServiceError(404, "FLOW_NOT_FOUND", "flow not found", field="flow_id")
    spec = await ctx.venues.spec(ctx.registry, exchange, body.market_type, body.symbol)
    account_id = body.account_id
    if venue == "live":
        # Loads the exchange's markets with the keys: refused keys are a 401/403 now, not later.
        await ctx.venues.private(ctx.conn, ctx.user_id, exchange, body.market_type, account_id)
        if account_id is None:
            account_id = await _newest_account(ctx, exchange)
    new = NewSession(
        user_id=ctx.user_id, mode=body.mode, venue=venue, exchange=exchange,
        market_type=body.market_type, symbol=body.symbol, base_asset=spec.base,
        quote_asset=spec.quote, exchange_account_id=account_id,
        initial_capital=body.initial_capital, flow_id=body.flow_id, agent=body.agent,
    )  # fmt: skip
    async with ctx.conn.transaction():
        session = await sessions_repo.insert_session(ctx.conn, new)
        if venue == "paper":
            await sessions_repo.insert_balance(
                ctx.conn, session.id, spec.quote, body.initial_capital
            )
            if spec.base != spec.quote:
                await sessions_repo.insert_balance(ctx.conn, session.id, spec.base, Decimal(0))
    await session_messages.system_status(ctx.redis, "trading_started", session)
    await notifications.session_started(ctx.conn, ctx.redis, session)
    await agents.register_runner(
        ctx.conn, ctx.user_id, runner_name(session), runner_metadata(session), redis=ctx.redis
    )
    return session


def runner_name(session: SessionRow) -> str:
    """The agent that stands for a session's runner (every running session is an agent)."""
    return f"session-{session.id}"


def runner_metadata(session: SessionRow) -> dict[str, Any]:
    return {
        "session_id": str(session.id),
        "mode": session.mode,
        "venue": session.venue,
        "exchange": session.exchange,
        "symbol": session.symbol,
        "flow_id": None if session.flow_id is None else str(session.flow_id),
        "agent": session.agent,
    }


async def _newest_account(ctx: SessionContext, exchange: str) -> uuid.UUID | None:
    accounts = [
        a for a in await exchange_accounts.list_accounts(ctx.conn, ctx.user_id)
        if a.exchange == exchange
    ]  # fmt: skip
    return accounts[-1].id if accounts else None


async def get(ctx: SessionContext, session_id: uuid.UUID) -> SessionRow:
    session = await sessions_repo.get_session(ctx.conn, ctx.user_id, session_id)
    if session is None:
        raise session_not_found(session_id)
    return session


async def _transition(
    ctx: SessionContext, session_id: uuid.UUID, wanted_from: str, to: str
) -> SessionRow:
    async with ctx.conn.transaction():
        session = await sessions_repo.get_session(ctx.conn, ctx.user_id, session_id, lock="update")
        if session is None:
            raise session_not_found(session_id)
        if session.status != wanted_from:
            raise _wrong_state(session, wanted_from)
        return await sessions_repo.set_status(ctx.conn, session_id, to)


def _wrong_state(session: SessionRow, wanted: str) -> ServiceError:
    if session.status == "STOPPED":
        return ServiceError(
            400, "SESSION_STOPPED", "trading session is stopped", field="session_id"
        )
    code = "SESSION_NOT_RUNNING" if wanted == "RUNNING" else "SESSION_NOT_PAUSED"
    return ServiceError(
        400, code, f"trading session is {session.status.lower()}", field="session_id"
    )


async def pause(ctx: SessionContext, session_id: uuid.UUID) -> SessionRow:
    session = await _transition(ctx, session_id, "RUNNING", "PAUSED")
    await session_messages.system_status(ctx.redis, "trading_paused", session)
    return session


async def resume(ctx: SessionContext, session_id: uuid.UUID) -> SessionRow:
    session = await _transition(ctx, session_id, "PAUSED", "RUNNING")
    await session_messages.system_status(ctx.redis, "trading_resumed", session)
    return session


async def stop(
    ctx: SessionContext, session_id: uuid.UUID, reported_final_capital: Decimal | None
) -> tuple[SessionRow, Statistics]:
    async with ctx.conn.transaction():
        session = await sessions_repo.get_session(ctx.conn, ctx.user_id, session_id, lock="update")
        if session is None:
            raise session_not_found(session_id)
        if session.status == "STOPPED":
            raise _wrong_state(session, "RUNNING")
        session = await sessions_repo.mark_stopped(ctx.conn, session_id, reported_final_capital)
    await session_orders.cancel_working(ctx, session)
    stats = await current_statistics(ctx, session)
    session = await sessions_repo.record_stats(
        ctx.conn,
        session_id,
        StoppedStats(
            final_capital=stats.equity,
            total_pnl=stats.total_pnl,
            total_trades=stats.total_trades,
            winning_trades=stats.winning_trades,
            losing_trades=stats.losing_trades,
            max_drawdown=stats.max_drawdown,
            max_drawdown_percent=stats.max_drawdown_percent,
            sharpe_ratio=stats.sharpe_ratio,
        ),
    )
    await session_messages.system_status(ctx.redis, "trading_stopped", session)
    await notifications.session_stopped(ctx.conn, ctx.redis, session)
    await agents.runner_stopped(ctx.conn, ctx.user_id, runner_name(session), redis=ctx.redis)
    return session, stats


async def current_statistics(ctx: SessionContext, session: SessionRow) -> Statistics:
    """The session's statistics from its fills, marked at the venue's last prices now (or at
    its stop)."""
    trades = await orders_repo.trades(ctx.conn, ctx.user_id, session_ids=[session.id])
    marks: dict[str, Decimal | None] = {}
    for symbol in sorted({t.symbol for t in trades}):
        marks[symbol] = await ctx.venues.last_price(
            ctx.conn, ctx.redis, ctx.registry, session.exchange, session.market_type, symbol
        )
    until = session.stopped_at or datetime.now(UTC)
    return statistics(session.initial_capital, trades, marks, session.started_at, until)


async def list_sessions(
    ctx: SessionContext, status: str | None, limit: int, offset: int
) -> list[SessionRow]:
    return await sessions_repo.list_sessions(
        ctx.conn, ctx.user_id, status=status, limit=limit, offset=offset
    )


async def session_json(ctx: SessionContext, session: SessionRow) -> dict[str, Any]:
    """The contract's Session model (plus status, venue and the running figures). A stopped
    session shows the statistics kept at its stop; a running one's are computed now."""
    if session.status == "STOPPED" and session.total_pnl is not None:
        assert session.final_capital is not None
        figures: dict[str, Any] = {
            "final_capital": num(session.final_capital),
            "total_pnl": num(session.total_pnl),
            "total_trades": session.total_trades,
            "winning_trades": session.winning_trades,
            "losing_trades": session.losing_trades,
            "max_drawdown": num(session.max_drawdown),
            "max_drawdown_percent": num(session.max_drawdown_percent),
            "sharpe_ratio": num(session.sharpe_ratio),
        }
    else:
        stats = await current_statistics(ctx, session)
        figures = {
            "final_capital": num(stats.equity),
            "total_pnl": num(stats.total_pnl),
            "total_trades": stats.total_trades,
            "winning_trades": stats.winning_trades,
            "losing_trades": stats.losing_trades,
            "max_drawdown": num(stats.max_drawdown),
            "max_drawdown_percent": num(stats.max_drawdown_percent),
            "sharpe_ratio": num(stats.sharpe_ratio),
        }
    return {
        "id": str(session.id),
        "mode": session.mode,
        "venue": session.venue,
        "status": session.status,
        "symbol": session.symbol,
        "exchange": session.exchange,
        "market_type": session.market_type,
        "flow_id": None if session.flow_id is None else str(session.flow_id),
        "agent": session.agent,
        "started_at": iso_millis(session.started_at),
        "paused_at": None if session.paused_at is None else iso_millis(session.paused_at),
        "stopped_at": None if session.stopped_at is None else iso_millis(session.stopped_at),
        "initial_capital": num(session.initial_capital),
        "reported_final_capital": num(session.reported_final_capital),
        **figures,
        "created_at": iso_millis(session.created_at),
        "updated_at": iso_millis(session.updated_at),
    }
