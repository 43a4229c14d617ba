"""`/api/v1/trade/*`: trading sessions (cryptofunk) — start, stop, pause, resume, and reading them.

- `POST /api/v1/trade/start` -> 200 `{message, session_id, symbol, mode, venue, exchange,
  started_at}`; `stop` -> `{message, session_id, final_capital, total_pnl, total_trades, ...,
  stopped_at}`; `pause` and `resume` -> `{message, session_id, symbol, status, note}`.
- `GET /api/v1/trade/sessions` (`status`, `limit`, `offset`) and `GET /api/v1/trade/sessions/{id}`:
  the contract's Session model with its statistics.

Errors use the `/api` envelope: 400 naming the field (a session id that is not a UUID included),
404 SESSION_NOT_FOUND for an unknown session or another user's.

This router also runs the session watcher (`workers.session_watcher`) for the app's lifetime: it
follows resting paper orders and working live orders.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, Query, Request

from ordex.api.deps import CurrentUser, DbConn
from ordex.api.routes.exchange import market_registry
from ordex.api.schemas_trade import (
    TRADE_ERRORS,
    Paused,
    SessionEnvelope,
    SessionIdBody,
    SessionList,
    SessionStatus,
    StartBody,
    Started,
    StopBody,
    Stopped,
    UuidText,
    body_schema,
    exact_json,
)
from ordex.api.workspace_deps import get_secret_box
from ordex.crypto import SecretBox
from ordex.db.trading_sessions import SessionRow
from ordex.db.types import Connection
from ordex.services import trading_sessions
from ordex.services.market_data import CcxtExchanges, MarketDataService
from ordex.services.market_data_settings import MarketDataSettings
from ordex.services.session_messages import num
from ordex.services.session_order_requests import (
    SessionContext,
    decimal_field,
    invalid,
    text_field,
    uuid_field,
)
from ordex.services.session_stats import Statistics
from ordex.services.trading_sessions import MARKET_TYPES, MODES, VENUES, StartInput
from ordex.services.venues import SessionSettings, Venues
from ordex.timestamps import iso_millis
from ordex.workers.session_watcher import SessionWatcher


def _market_data(app: FastAPI) -> MarketDataService:
    """The app's market-data service (the one `/api/exchange/*` uses), built on first use."""
    service: MarketDataService | None = getattr(app.state, "market_data", None)
    if service is None:
        settings = MarketDataSettings()
        service = MarketDataService(
            CcxtExchanges(
                base_urls=settings.ordex_ccxt_base_urls, timeout_ms=settings.ordex_ccxt_timeout_ms
            )
        )
        app.state.market_data = service
    return service


def app_venues(app: FastAPI, box: SecretBox) -> Venues:
    venues: Venues | None = getattr(app.state, "session_venues", None)
    if venues is None:
        settings = getattr(app.state, "session_settings", None) or SessionSettings()
        venues = app.state.session_venues = Venues(_market_data(app), box, settings)
    return venues


@asynccontextmanager
async def _watching(app: FastAPI) -> AsyncIterator[None]:
    box: SecretBox | None = getattr(app.state, "secret_box", None)
    if box is None:
        box = app.state.secret_box = SecretBox.from_settings(app.state.settings)
    venues = app_venues(app, box)
    watcher = SessionWatcher(
        app.state.pool, app.state.redis, venues, lease_ms=app.state.settings.ordex_lease_ms
    )
    app.state.session_watcher = watcher
    await watcher.start_if_needed()
    try:
        yield
    finally:
        await watcher.close()
        await venues.close()


router = APIRouter(prefix="/api/v1/trade", tags=["trading sessions"], lifespan=_watching)


async def context_for(request: Request, user_id: uuid.UUID, conn: Connection) -> SessionContext:
    """The session services' context for a request (a plain function, not a dependency, so the
    busiest route solves no more dependencies than it needs)."""
    app = request.app
    watcher: SessionWatcher | None = getattr(app.state, "session_watcher", None)
    return SessionContext(
        conn=conn,
        redis=app.state.redis,
        registry=await market_registry(request, conn),
        venues=app_venues(app, get_secret_box(request)),
        user_id=user_id,
        wake_watcher=(lambda: None) if watcher is None else watcher.wake,
    )


async def session_context(request: Request, user: CurrentUser, conn: DbConn) -> SessionContext:
    return await context_for(request, user.id, conn)


Context = Annotated[SessionContext, Depends(session_context)]


def _object(body: Any) -> Mapping[str, object]:
    if not isinstance(body, Mapping):
        raise invalid("The body must be a JSON object")
    return cast(Mapping[str, object], body)


def _known(body: Mapping[str, object], fields: type[StartBody | StopBody | SessionIdBody]) -> None:
    unknown = sorted(set(body) - set(fields.model_fields))
    if unknown:
        raise invalid(f"unknown field {unknown[0]}", unknown[0])


def _choice(
    body: Mapping[str, object], name: str, allowed: tuple[str, ...], upper: bool
) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        normal = value.strip().upper() if upper else value.strip().lower()
        if normal in allowed:
            return normal
    raise invalid(f"{name} must be one of {', '.join(allowed)}", name)


def parse_start(body: Mapping[str, object]) -> StartInput:
    _known(body, StartBody)
    symbol = cast(str, text_field(body, "symbol", required=True, max_length=64))
    capital = cast(Decimal, decimal_field(body, "initial_capital", required=True))
    exchange = text_field(body, "exchange", required=False, max_length=50)
    if exchange is not None:
        exchange = exchange.lower()
        if not exchange.replace("_", "").isalnum():
            raise invalid("exchange must be a ccxt exchange id or ordex", "exchange")
    return StartInput(
        symbol=symbol,
        initial_capital=capital,
        mode=_choice(body, "mode", MODES, upper=True) or "PAPER",
        exchange=exchange,
        venue=_choice(body, "venue", VENUES, upper=False),
        market_type=_choice(body, "market_type", MARKET_TYPES, upper=False) or "spot",
        account_id=uuid_field(body, "account_id", required=False),
        flow_id=uuid_field(body, "flow_id", required=False),
        agent=text_field(body, "agent", required=False, max_length=200),
    )


def _session_id(body: Mapping[str, object]) -> uuid.UUID:
    return cast(uuid.UUID, uuid_field(body, "session_id", required=True))


@router.post(
    "/start", response_model=Started, responses=TRADE_ERRORS, openapi_extra=body_schema(StartBody)
)
async def start_trading(request: Request, ctx: Context) -> dict[str, Any]:
    """Start a session. PAPER trades on the paper venue (simulated against the exchange's real
    book); LIVE on the exchange with the caller's stored keys, or on ordex's own markets when the
    exchange is `ordex`."""
    session = await trading_sessions.start(ctx, parse_start(_object(await exact_json(request))))
    return {
        "message": "Trading started successfully",
        "session_id": str(session.id),
        "symbol": session.symbol,
        "mode": session.mode,
        "venue": session.venue,
        "exchange": session.exchange,
        "started_at": iso_millis(session.started_at),
    }


@router.post(
    "/stop", response_model=Stopped, responses=TRADE_ERRORS, openapi_extra=body_schema(StopBody)
)
async def stop_trading(request: Request, ctx: Context) -> dict[str, Any]:
    """Stop a session: no new orders, its working orders are cancelled, its statistics are
    computed from its fills and kept."""
    body = _object(await exact_json(request))
    _known(body, StopBody)
    session_id = _session_id(body)
    reported = decimal_field(body, "final_capital", required=False, allow_zero=True)
    session, stats = await trading_sessions.stop(ctx, session_id, reported)
    return stop_trading_answer(session, stats, reported)


def stop_trading_answer(
    session: SessionRow, stats: Statistics, reported: Decimal | None
) -> dict[str, Any]:
    """The answer to a stop, from the stopped session and its statistics."""
    assert session.stopped_at is not None
    return {
        "message": "Trading stopped successfully",
        "session_id": str(session.id),
        "final_capital": num(stats.equity),
        "reported_final_capital": num(reported),
        "total_pnl": num(stats.total_pnl),
        "total_trades": stats.total_trades,
        "winning_trades": stats.winning_trades,
        "losing_trades": stats.losing_trades,
        "max_drawdown": num(stats.max_drawdown),
        "sharpe_ratio": num(stats.sharpe_ratio),
        "stopped_at": iso_millis(session.stopped_at),
    }


@router.post(
    "/pause",
    response_model=Paused,
    responses=TRADE_ERRORS,
    openapi_extra=body_schema(SessionIdBody),
)
async def pause_trading(request: Request, ctx: Context) -> dict[str, Any]:
    """Pause a running session: new orders are refused; its resting orders and stops stay."""
    body = _object(await exact_json(request))
    _known(body, SessionIdBody)
    session = await trading_sessions.pause(ctx, _session_id(body))
    return {
        "message": "Trading paused successfully",
        "session_id": str(session.id),
        "symbol": session.symbol,
        "status": session.status,
        "note": "New orders are refused until the session is resumed; resting orders stay",
    }


@router.post(
    "/resume",
    response_model=Paused,
    responses=TRADE_ERRORS,
    openapi_extra=body_schema(SessionIdBody),
)
async def resume_trading(request: Request, ctx: Context) -> dict[str, Any]:
    """Resume a paused session."""
    body = _object(await exact_json(request))
    _known(body, SessionIdBody)
    session = await trading_sessions.resume(ctx, _session_id(body))
    return {
        "message": "Trading resumed successfully",
        "session_id": str(session.id),
        "symbol": session.symbol,
        "status": session.status,
        "note": "The session accepts orders again",
    }


@router.get("/sessions", response_model=SessionList, responses=TRADE_ERRORS)
async def list_sessions(
    ctx: Context,
    status: SessionStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """The caller's sessions, newest first, with their statistics."""
    rows = await trading_sessions.list_sessions(ctx, status, limit, offset)
    sessions = [await trading_sessions.session_json(ctx, row) for row in rows]
    return {"sessions": sessions, "count": len(sessions)}


@router.get("/sessions/{session_id}", response_model=SessionEnvelope, responses=TRADE_ERRORS)
async def get_session(session_id: UuidText, ctx: Context) -> dict[str, Any]:
    parsed = uuid_field({"session_id": session_id}, "session_id", required=True)
    assert parsed is not None
    session = await trading_sessions.get(ctx, parsed)
    return {"session": await trading_sessions.session_json(ctx, session)}
