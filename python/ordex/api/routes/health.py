"""`GET /`, `GET /health` (public) and `GET /api/v1/status` (needs a credential)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ordex.api.schemas import API_ERRORS
from ordex.db.pool import ping
from ordex.redis_client import RedisClient
from ordex.version import VERSION

public_router = APIRouter(tags=["health"], responses=API_ERRORS)
router = APIRouter(tags=["health"], responses=API_ERRORS)

API_NAME = "ordex API"
CHECK_TIMEOUT_SECONDS = 2.0


def format_uptime(seconds: float) -> str:
    """Go-style duration, as the status contract shows: 2h15m30s."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def uptime(request: Request) -> str:
    started: float = request.app.state.started_at
    return format_uptime(time.monotonic() - started)


async def _check_database(pool: asyncpg.Pool) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await ping(pool)
    except Exception:
        return "database connection failed"
    return None


async def _check_redis(redis: RedisClient) -> str | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await redis.ping()
    except Exception:
        return "redis connection failed"
    return None


async def component_health(request: Request) -> dict[str, str | None]:
    database, redis = await asyncio.gather(
        _check_database(request.app.state.pool), _check_redis(request.app.state.redis)
    )
    return {"database": database, "redis": redis}


@public_router.get("/", summary="API name, version and status")
async def root() -> dict[str, str]:
    return {"name": API_NAME, "version": VERSION, "status": "running"}


@public_router.get("/health", summary="Database and Redis health; 503 when one is down")
async def health(request: Request) -> JSONResponse:
    failures = await component_health(request)
    components = {name: "unhealthy" if err else "healthy" for name, err in failures.items()}
    errors = [err for err in failures.values() if err]
    body: dict[str, Any]
    if errors:
        body = {
            "status": "unhealthy",
            "error": "; ".join(errors),
            "version": VERSION,
            "components": components,
        }
        return JSONResponse(body, status_code=503)
    body = {
        "status": "healthy",
        "version": VERSION,
        "uptime": uptime(request),
        "components": components,
    }
    return JSONResponse(body)


@router.get("/api/v1/status", summary="Detailed system status with every component")
async def status(request: Request) -> dict[str, Any]:
    failures = await component_health(request)
    components = {name: "unhealthy" if err else "healthy" for name, err in failures.items()}
    components["api"] = "healthy"
    components["websocket"] = "healthy"
    return {
        "status": "operational" if not any(failures.values()) else "degraded",
        "version": VERSION,
        "uptime": uptime(request),
        "components": components,
        "websocket": {"connected_clients": 0},
    }
