"""Pure ASGI middlewares: one structured access-log line per HTTP request; the request's
database connection given back to the pool once the response is sent."""

from __future__ import annotations

import time

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordex.logging import get_logger

log = get_logger("ordex.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            client = scope.get("client")
            log.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 2),
                client=client[0] if client else None,
            )


REQUEST_CONNECTION = "ordex.connection"
"""Scope key of the request's (pool, connection), set by `deps.get_db` on first use."""


class ReleaseConnection:
    """Gives the connection `deps.get_db` acquired back to the pool after the response, whatever
    happened. A `yield` dependency would do the same at the cost of an exit stack, a context
    manager and a cancellation check per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            held: tuple[asyncpg.Pool, asyncpg.pool.PoolConnectionProxy] | None = scope.pop(
                REQUEST_CONNECTION, None
            )
            if held is not None:
                # asyncpg shields the release from cancellation and rolls back a transaction
                # left open.
                await held[0].release(held[1])
