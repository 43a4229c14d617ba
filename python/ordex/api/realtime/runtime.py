"""The live streams of one API process: the Socket.IO server, the WebSocket clients, the market
feeds, and the readers behind them (engine events, `state:changed`, `live:*` messages).

Readers start with the first client that needs them and stop with the app, so an API process
without live clients holds no extra connections or tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI
from redis.exceptions import RedisError

from ordex.api.realtime.lifecycle import close_market_data
from ordex.api.realtime.socketio import (
    create_server,
    register_handlers,
    sweep_slow_clients,
    user_room,
)
from ordex.api.realtime.ws import WsHub
from ordex.config import Settings
from ordex.crypto import SecretBox
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services.live_feeds import FeedHub
from ordex.services.live_messages import BROADCAST_CHANNEL, USER_CHANNEL_PREFIX, UserMessages
from ordex.services.market_data import CcxtExchanges, MarketDataService
from ordex.services.market_data_settings import MarketDataSettings
from ordex.services.markets import MarketRegistry
from ordex.services.state_events import CHANNEL_PREFIX as STATE_CHANNEL_PREFIX
from ordex.workers.live_fanout import EngineEventFanout

log = get_logger(__name__)


class RealtimeRuntime:
    def __init__(self, app: FastAPI, settings: Settings, redis_url: str) -> None:
        self._app = app
        self.settings = settings
        self.sio = create_server(redis_url)
        self.ws_hub = WsHub()
        self._feeds: FeedHub | None = None
        self._fanout: EngineEventFanout | None = None
        self._user_messages: UserMessages | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self._registry: MarketRegistry | None = None
        register_handlers(self.sio, self)

    # ----- what the handlers use ----------------------------------------------------------

    @property
    def pool(self) -> asyncpg.Pool:
        pool: asyncpg.Pool = self._app.state.pool
        return pool

    @property
    def redis(self) -> RedisClient:
        redis: RedisClient = self._app.state.redis
        return redis

    def secret_box(self) -> SecretBox:
        box: SecretBox | None = getattr(self._app.state, "secret_box", None)
        if box is None:
            box = SecretBox.from_settings(self.settings)
            self._app.state.secret_box = box
        return box

    def market_data(self) -> MarketDataService:
        service: MarketDataService | None = getattr(self._app.state, "market_data", None)
        if service is None:
            md = MarketDataSettings()
            service = MarketDataService(
                CcxtExchanges(
                    base_urls=md.ordex_ccxt_base_urls, timeout_ms=md.ordex_ccxt_timeout_ms
                )
            )
            self._app.state.market_data = service
        return service

    async def registry(self) -> MarketRegistry:
        if self._registry is None:
            async with self.pool.acquire() as conn:
                self._registry = await MarketRegistry.load(conn)
        return self._registry

    def feeds_started(self) -> bool:
        return self._feeds is not None

    def feeds(self) -> FeedHub:
        if self._feeds is None:
            poll = MarketDataSettings().ordex_ccxt_poll_seconds
            self._feeds = FeedHub(
                self.market_data(),
                self.pool,
                self.redis,
                self.registry,
                self._emit_feed,
                poll_seconds=poll,
            )
        return self._feeds

    async def _emit_feed(self, room: str, event: str, payload: dict[str, Any]) -> None:
        await self.sio.emit(event, payload, room=room, ignore_queue=True)

    # ----- readers ----------------------------------------------------------------------------

    def _start_task(self, name: str, coroutine: Any) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            self._tasks[name] = asyncio.create_task(coroutine, name=name)
        else:
            coroutine.close()

    def ensure_sweeper(self) -> None:
        self._start_task("socketio-sweeper", sweep_slow_clients(self.sio))

    async def ensure_fanout(self) -> None:
        """The engine-event reader and the `live:*` relay, started once."""
        async with self._lock:
            if self._fanout is not None:
                return
            registry = await self.registry()
            messages = UserMessages(self.pool, self.redis, registry, self.ws_hub.has_user)
            messages.add_sink(self.ws_hub.deliver)
            fanout = EngineEventFanout(self.redis, [m.id for m in registry.markets])
            fanout.add_listener(messages.on_engine_events)
            fanout.add_listener(self.feeds().on_engine_events)
            await fanout.start()
            self._fanout, self._user_messages = fanout, messages
            self._start_task("live-relay", self._relay_live_messages())

    async def ensure_state_listener(self) -> None:
        self._start_task("state-relay", self._relay_state_events())

    async def _relay_state_events(self) -> None:
        """`state:changed:{userId}` -> the user's Socket.IO room in this process."""

        async def handle(channel: str, data: bytes) -> None:
            user_id = channel[len(STATE_CHANNEL_PREFIX) :]
            await self.sio.emit(
                "state:changed", orjson.loads(data), room=user_room(user_id), ignore_queue=True
            )

        await self._relay([f"{STATE_CHANNEL_PREFIX}*"], handle)

    async def _relay_live_messages(self) -> None:
        """`live:user:{userId}` and `live:broadcast` -> this process's WebSocket clients."""

        async def handle(channel: str, data: bytes) -> None:
            message = orjson.loads(data)
            if channel == BROADCAST_CHANNEL:
                await self.ws_hub.deliver(None, message)
            else:
                user_id = uuid.UUID(channel[len(USER_CHANNEL_PREFIX) :])
                await self.ws_hub.deliver(user_id, message)

        await self._relay([f"{USER_CHANNEL_PREFIX}*", BROADCAST_CHANNEL], handle)

    async def _relay(self, patterns: list[str], handle: Any) -> None:
        delay = 0.5
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(*patterns)
                delay = 0.5
                async for message in pubsub.listen():
                    channel = message["channel"]
                    channel = channel.decode() if isinstance(channel, bytes) else channel
                    try:
                        await handle(channel, message["data"])
                    except (ValueError, orjson.JSONDecodeError) as exc:
                        log.warning("live relay skipped a message", channel=channel, error=str(exc))
            except (RedisError, OSError) as exc:
                log.warning("live relay lost Redis", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]

    # ----- shutdown ---------------------------------------------------------------------------

    async def close(self) -> None:
        if self._fanout is not None:
            await self._fanout.stop()
        if self._user_messages is not None:
            await self._user_messages.close()
        if self._feeds is not None:
            await self._feeds.close()
        await self.ws_hub.close()
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
        await self._close_socketio()
        await close_market_data(self._app)

    async def _close_socketio(self) -> None:
        for eio_sid in list(self.sio.eio.sockets):
            with contextlib.suppress(Exception):
                await self.sio.eio.sockets[eio_sid].close(wait=False, abort=True)
        manager = self.sio.manager
        listener = getattr(manager, "thread", None)
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        redis = getattr(manager, "redis", None)
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()
        with contextlib.suppress(Exception):
            await self.sio.shutdown()
