"""App factory: lifespan opens the asyncpg pool and the Redis client; routers per family.

Routers in PROTECTED get a credential check on every route, so a route added to one of them can
never be left open; only the routers in PUBLIC (health, docs, the sign-in flows) skip it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import redis.exceptions
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig

from ordex.api.deps import document_credentials, get_principal
from ordex.api.errors import BodySizeLimitMiddleware, error_response, install_error_handlers
from ordex.api.json_guard import JsonBodyGuard
from ordex.api.metrics import install_metrics
from ordex.api.middleware import AccessLogMiddleware, ReleaseConnection
from ordex.api.openapi import complete_openapi
from ordex.api.realtime.mount import RealtimeMount
from ordex.api.realtime.runtime import RealtimeRuntime
from ordex.api.route_paths import shadow_literal_paths
from ordex.api.routes import (
    accounts,
    admin,
    agents,
    assistant,
    auth,
    automation_config,
    dashboard,
    dashboards,
    decisions,
    devbe,
    droids,
    engine,
    exchange,
    exchange_keys,
    exchanges,
    executions,
    flows,
    groups,
    health,
    manual_orders,
    market_data,
    notifications,
    positions,
    providers,
    proxy,
    root_auth,
    session_orders,
    settings,
    trade,
    user_token,
    v1_indexer,
    widget_settings,
    widgets,
)
from ordex.config import Settings
from ordex.db.pool import create_pool
from ordex.logging import configure_logging, get_logger
from ordex.process_tuning import settle_heap
from ordex.redis_client import connect, pubsub_url
from ordex.security import configure_password_hashing
from ordex.services.credential_cache import CredentialCache
from ordex.services.order_batcher import DEFAULT_CONCURRENCY as ORDER_BATCH_CONCURRENCY
from ordex.services.order_batcher import OrderBatcher
from ordex.version import VERSION
from ordex.web import install_web

log = get_logger(__name__)

PUBLIC: tuple[APIRouter, ...] = (health.public_router, root_auth.router, auth.router)
PROTECTED: tuple[APIRouter, ...] = (
    health.router,
    admin.router,
    user_token.router,
    exchange.router,
    manual_orders.router,
    session_orders.router,  # early: agents place orders at a high rate
    trade.router,
    positions.router,
    dashboards.router,
    widgets.router,
    groups.router,
    widget_settings.router,  # before settings: /api/settings/widget/... is not a setting key
    settings.router,
    providers.router,
    accounts.router,
    exchange_keys.router,
    exchanges.router,
    flows.router,
    market_data.router,
    engine.router,
    executions.router,
    proxy.router,
    agents.router,
    decisions.router,
    automation_config.router,
    assistant.router,
    notifications.router,
    dashboard.router,
    v1_indexer.router,
    devbe.router,
    droids.router,
)


_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def _otel_requested() -> bool:
    return os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true"


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("backing service unavailable", path=request.url.path, error=str(exc))
    return error_response(request.url.path, 503, "Service temporarily unavailable")


POOL_CLOSE_SECONDS = 10.0


async def _close_pool(pool: asyncpg.Pool) -> None:
    """Closes gracefully, but never hangs a shutdown: `Pool.close` waits for every connection to
    come back, and one still held by a request cut off mid-way would keep it waiting for good."""
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_SECONDS)
    except TimeoutError:
        log.warning("database pool did not close in time; terminating its connections")
        pool.terminate()


def create_app(settings: Settings | None = None) -> FastAPI:
    # Not the cached settings: granian may fork workers after `ordex serve` has set the URLs.
    settings = (settings or Settings()).with_secrets()
    if settings.database_url is None or settings.redis_url is None:
        raise RuntimeError("DATABASE_URL and REDIS_URL must be set (`ordex serve` sets them)")
    database_url, redis_url = settings.database_url, settings.redis_url
    if not logging.getLogger().handlers:
        # A freshly spawned worker process: log like `ordex serve` does.
        configure_logging(settings.log_level, settings.log_json)
    configure_password_hashing(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(
            database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
        )
        # A Redis Cluster client for redis+cluster:// URLs (redis_client.py).
        app.state.redis = connect(redis_url, health_check_interval=30)
        app.state.started_at = time.monotonic()
        app.state.exchange_runtime = None
        # The order batches have connections of their own: an order waiting for its batch holds
        # its request's connection, so batches drawing from that pool could wait on a full one.
        app.state.order_pool = await create_pool(
            database_url, min_size=0, max_size=ORDER_BATCH_CONCURRENCY
        )
        app.state.order_batcher = OrderBatcher(
            app.state.order_pool, app.state.redis, concurrency=ORDER_BATCH_CONCURRENCY
        )
        if settings.ordex_run_workers:
            from ordex.workers.runtime import start_embedded

            app.state.exchange_runtime = await start_embedded(
                app.state.pool,
                app.state.redis,
                wait_replicas=settings.ordex_redis_wait_replicas,
                wait_ms=settings.ordex_redis_wait_ms,
            )
        app.state.indexer = None
        if settings.ordex_run_workers:
            # The EVM indexer, when an ETH RPC URL is configured (one owner by its Redis lease).
            from ordex.workers.indexer import start_embedded as start_indexer

            app.state.indexer = await start_indexer(
                app.state.pool,
                app.state.redis,
                settings.home,
                settings.ordex_lease_ms,
                settings.eth_rpc_url,
            )
        app.state.droids = None
        if settings.ordex_run_workers:
            # The Uniswap v3 droids, when an ETH RPC URL is configured (a lease per droid).
            from ordex.crypto import SecretBox
            from ordex.workers.droids import start_embedded as start_droids

            app.state.droids = await start_droids(
                app.state.pool,
                app.state.redis,
                SecretBox.from_settings(settings),
                settings.home,
                settings.ordex_lease_ms,
                settings.eth_rpc_url,
            )
        settle_heap()
        try:
            yield
        finally:
            await app.state.realtime.close()
            await app.state.order_batcher.close()
            await _close_pool(app.state.order_pool)
            if app.state.droids is not None:
                await app.state.droids.close()
            if app.state.indexer is not None:
                await app.state.indexer.close()
            if app.state.exchange_runtime is not None:
                await app.state.exchange_runtime.stop()
            await app.state.redis.aclose()
            await _close_pool(app.state.pool)

    app = FastAPI(
        title="ordex",
        version=VERSION,
        description="Self-hosted crypto trading platform",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        # Metrics are Prometheus's (/metrics); FastAPI's own OpenTelemetry would otherwise look
        # its providers up on every request. FASTAPI_OTEL_AUTO_CONFIGURE=true keeps it.
        telemetry=None if _otel_requested() else _NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.started_at = time.monotonic()
    app.state.credential_cache = CredentialCache(settings.auth_cache_seconds)

    install_error_handlers(app)
    app.add_exception_handler(redis.exceptions.ConnectionError, _unavailable)
    app.add_exception_handler(redis.exceptions.TimeoutError, _unavailable)
    app.add_exception_handler(asyncpg.exceptions.CannotConnectNowError, _unavailable)
    app.add_exception_handler(asyncpg.exceptions.TooManyConnectionsError, _unavailable)
    app.add_exception_handler(asyncpg.exceptions.ConnectionDoesNotExistError, _unavailable)
    # Sockets refused or missing (a database or Redis that went away) surface as OSError.
    app.add_exception_handler(OSError, _unavailable)

    # Routes match in the order they are included: the exchange's first, being the busiest (none
    # of their paths overlaps another router's).
    guard = [Depends(get_principal)]
    app.include_router(exchange.router, dependencies=guard)
    for router in PUBLIC:
        app.include_router(router)
    for router in PROTECTED:
        if router is not exchange.router:
            app.include_router(router, dependencies=guard)
    document_credentials(app, PUBLIC, PROTECTED)
    complete_openapi(app)
    shadow_literal_paths(app)
    install_web(app)  # the web terminal at /app; `/` sends browsers there

    app.add_middleware(ReleaseConnection)  # innermost: after the error handlers have answered
    install_metrics(app)
    # Socket.IO at /socket.io and the WebSocket at /api/v1/ws, on the same port as the API.
    app.state.realtime = RealtimeRuntime(app, settings, pubsub_url(redis_url))
    app.add_middleware(RealtimeMount, server=app.state.realtime.sio)
    app.add_middleware(JsonBodyGuard)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.access_log:
        app.add_middleware(AccessLogMiddleware)
    return app
