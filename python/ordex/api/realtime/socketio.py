"""Socket.IO at `/socket.io` on the API's own port (python-socketio, ASGI).

Client events:
- `authenticate` `{token}` -> `authenticated` `{userId}`, or `unauthorized` `{error, code}`; a token
  may also come in the connection's `auth` object. Any credential the HTTP API takes works. A
  browser on the terminal's own origin is signed in at connect by its `auth_token` cookie (sent with
  the WebSocket upgrade), so the page never holds a token.
- `subscribe` `{exchangeId, symbol, dataType, timeframe?, config: {exchangeId, marketType,
  ccxtType, accountId?}}` with dataType one of ticker, trades, orderbook, ohlcv, balance ->
  `subscribed` `{subscriptionId, ...}` then `data` `{subscriptionId, exchangeId, symbol, dataType,
  data, timestamp}`; `error` `{subscriptionId?, error, code}` when it cannot be served.
- `unsubscribe` `{subscriptionId}` -> `unsubscribed` `{subscriptionId}`.

Server events: `state:changed` (the user's workspace changes, as documented in
docs/state-events.md).

The server's client manager is Redis (`AsyncRedisManager`): anything emitted to a room, by any API
process or by a write-only manager elsewhere, reaches that room's clients in every process. Feeds
and `state:changed` are produced in each process for its own clients (each process holds the
upstreams its clients need), so they are emitted locally only (`ignore_queue`), never twice.
A Socket.IO client whose outgoing queue stays over `MAX_QUEUED_PACKETS` without draining between
two sweeps is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlsplit

import socketio  # type: ignore[import-untyped]

from ordex.api.deps import AUTH_COOKIE
from ordex.logging import get_logger
from ordex.services import auth as auth_service
from ordex.services.errors import ServiceError
from ordex.services.live_feeds import FeedSpec
from ordex.services.market_data import ExchangeConfig, stored_credentials

log = get_logger(__name__)

SOCKETIO_PATH = "socket.io"
MAX_QUEUED_PACKETS = 1024
SWEEP_SECONDS = 1.0


def user_room(user_id: uuid.UUID | str) -> str:
    return f"user:{user_id}"


def create_server(redis_url: str) -> Any:
    return socketio.AsyncServer(
        async_mode="asgi",
        client_manager=socketio.AsyncRedisManager(redis_url, channel="socketio"),
        # Any origin may connect with a token in events; the cookie counts only for a connection
        # from the same origin (`cookie_token`), so another site cannot ride on it.
        cors_allowed_origins="*",
        logger=False,
        engineio_logger=False,
    )


def _text(payload: dict[str, Any], key: str, limit: int = 64) -> str | None:
    value = payload.get(key)
    if isinstance(value, str) and 0 < len(value) <= limit:
        return value
    return None


def cookie_token(environ: dict[str, Any]) -> str | None:
    """The `auth_token` cookie of a connection whose Origin, when sent, is its own Host."""
    raw = environ.get("HTTP_COOKIE")
    if not isinstance(raw, str) or AUTH_COOKIE not in raw:
        return None
    origin = environ.get("HTTP_ORIGIN")
    if origin and urlsplit(origin).netloc != environ.get("HTTP_HOST", ""):
        return None
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(raw)
    except CookieError:
        return None
    morsel = cookies.get(AUTH_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def feed_spec(payload: Any, user_id: uuid.UUID) -> FeedSpec:
    """A `subscribe` payload as a feed; ServiceError 400 for a malformed one."""
    if not isinstance(payload, dict):
        raise ServiceError(400, "VALIDATION_ERROR", "subscribe expects an object")
    raw_config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
    assert isinstance(raw_config, dict)
    exchange_id = _text(raw_config, "exchangeId", 50) or _text(payload, "exchangeId", 50)
    if exchange_id is None or not exchange_id.replace("_", "").isalnum():
        raise ServiceError(400, "VALIDATION_ERROR", "exchangeId is required", field="exchangeId")
    ccxt_type = raw_config.get("ccxtType", "regular")
    if ccxt_type not in ("regular", "pro"):
        raise ServiceError(400, "VALIDATION_ERROR", "ccxtType is regular or pro", field="ccxtType")
    account_id = None
    if raw_config.get("accountId") is not None:
        try:
            account_id = uuid.UUID(str(raw_config["accountId"]))
        except ValueError:
            raise ServiceError(400, "VALIDATION_ERROR", "invalid accountId") from None
    config = ExchangeConfig(
        exchange_id.lower(),
        _text(raw_config, "marketType", 16) or "spot",
        ccxt_type,
        account_id,
    )
    data_type = _text(payload, "dataType", 16) or ""
    return FeedSpec(
        config=config,
        data_type=data_type,
        symbol=_text(payload, "symbol"),
        timeframe=_text(payload, "timeframe", 8) or "1m",
        user_id=user_id if data_type == "balance" else None,
    )


def register_handlers(server: Any, runtime: Any) -> None:
    """The Socket.IO events; `runtime` is the app's RealtimeRuntime."""

    async def authenticate(sid: str, token: Any) -> uuid.UUID | None:
        if not isinstance(token, str) or not token or len(token) > 4096:
            return None
        try:
            async with runtime.pool.acquire() as conn:
                principal = await auth_service.resolve(conn, runtime.settings, token)
        except ServiceError:
            return None
        user_id: uuid.UUID = principal.user.id
        await server.save_session(sid, {"user_id": user_id})
        await server.enter_room(sid, user_room(user_id))
        await runtime.ensure_state_listener()
        return user_id

    async def current_user(sid: str) -> uuid.UUID | None:
        session = await server.get_session(sid)
        user_id: uuid.UUID | None = session.get("user_id")
        return user_id

    @server.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        runtime.ensure_sweeper()
        token = auth.get("token") if isinstance(auth, dict) else None
        token = token or cookie_token(environ)
        if token:
            user_id = await authenticate(sid, token)
            if user_id is not None:
                await server.emit("authenticated", {"userId": str(user_id)}, to=sid)

    @server.on("authenticate")  # type: ignore[untyped-decorator]
    async def on_authenticate(sid: str, payload: Any = None) -> None:
        token = payload.get("token") if isinstance(payload, dict) else payload
        user_id = await authenticate(sid, token)
        if user_id is None:
            await server.emit(
                "unauthorized",
                {"error": "Invalid or expired token", "code": "UNAUTHENTICATED"},
                to=sid,
            )
            return
        await server.emit("authenticated", {"userId": str(user_id)}, to=sid)

    @server.on("subscribe")  # type: ignore[untyped-decorator]
    async def on_subscribe(sid: str, payload: Any = None) -> None:
        user_id = await current_user(sid)
        if user_id is None:
            await server.emit(
                "error", {"error": "Authenticate first", "code": "UNAUTHENTICATED"}, to=sid
            )
            return
        try:
            spec = feed_spec(payload, user_id)
            credentials = None
            if spec.data_type == "balance" and not spec.config.is_ordex:
                async with runtime.pool.acquire() as conn:
                    credentials = await stored_credentials(
                        conn,
                        runtime.secret_box(),
                        user_id,
                        spec.config.exchange_id,
                        spec.config.account_id,
                    )
            if spec.config.is_ordex:
                await runtime.ensure_fanout()
            await server.enter_room(sid, spec.room)
            feed = await runtime.feeds().subscribe(sid, spec, credentials)
        except ServiceError as exc:
            if "spec" in locals():
                await server.leave_room(sid, spec.room)
            await server.emit(
                "error",
                {
                    "subscriptionId": spec.subscription_id if "spec" in locals() else None,
                    "error": exc.message,
                    "code": exc.code,
                },
                to=sid,
            )
            return
        await server.emit(
            "subscribed",
            {
                "subscriptionId": feed.spec.subscription_id,
                "exchangeId": spec.config.exchange_id,
                "symbol": spec.symbol,
                "dataType": spec.data_type,
            },
            to=sid,
        )

    @server.on("unsubscribe")  # type: ignore[untyped-decorator]
    async def on_unsubscribe(sid: str, payload: Any = None) -> None:
        user_id = await current_user(sid)
        subscription_id = payload.get("subscriptionId") if isinstance(payload, dict) else None
        if user_id is None or not isinstance(subscription_id, str):
            await server.emit(
                "error", {"error": "subscriptionId is required", "code": "VALIDATION_ERROR"}, to=sid
            )
            return
        hub = runtime.feeds()
        left = False
        for room in list(server.rooms(sid)):
            if room.startswith("feed:") and _subscription_of(room, user_id) == subscription_id:
                await server.leave_room(sid, room)
                left = await hub.unsubscribe(sid, room) or left
        await server.emit(
            "unsubscribed", {"subscriptionId": subscription_id, "found": left}, to=sid
        )

    @server.event  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, *args: Any) -> None:
        if runtime.feeds_started():
            await runtime.feeds().leave_all(sid)


def _subscription_of(room: str, user_id: uuid.UUID) -> str:
    """The subscription id inside a feed room name (`feed:{ccxtType}:{id}[:{userId}]`)."""
    rest = room.split(":", 2)[2]
    suffix = f":{user_id}"
    return rest[: -len(suffix)] if rest.endswith(suffix) else rest


async def sweep_slow_clients(server: Any) -> None:
    """Disconnects Socket.IO clients that do not read: outgoing queue over MAX_QUEUED_PACKETS
    and not shorter than at the previous sweep (a burst that is draining is left alone)."""
    previous: dict[str, int] = {}
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        current: dict[str, int] = {}
        for eio_sid, socket in list(server.eio.sockets.items()):
            queue = getattr(socket, "queue", None)
            size = queue.qsize() if queue is not None else 0
            if size <= MAX_QUEUED_PACKETS:
                continue
            if size >= previous.get(eio_sid, size + 1):
                log.info("socket.io client dropped: not reading", eio_sid=eio_sid)
                with contextlib.suppress(Exception):
                    await socket.close(wait=False, abort=True)
            else:
                current[eio_sid] = size
        previous = current
