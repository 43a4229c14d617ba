"""`POST /api/proxy/request`: the CORS proxy. Internal destinations are refused (403), a slow
target answers 408, an oversized answer 413, an unreachable one 502."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ordex.services.market_data_settings import MarketDataSettings
from ordex.services.proxy import CorsProxy, ProxyRequest

router = APIRouter(tags=["proxy"])


class ProxyBody(BaseModel):
    url: str = Field(min_length=1, max_length=4096)
    method: str = Field(default="GET", max_length=10)
    headers: dict[str, str] | None = Field(default=None, max_length=100)
    body: Any = None
    timeout: int | None = Field(default=None, ge=1, description="milliseconds")


def cors_proxy(request: Request) -> CorsProxy:
    """One proxy (and connection pool) per app, built on first use."""
    proxy: CorsProxy | None = getattr(request.app.state, "cors_proxy", None)
    if proxy is None:
        proxy = CorsProxy(MarketDataSettings())
        request.app.state.cors_proxy = proxy
    return proxy


@router.post("/api/proxy/request")
async def proxy_request(
    body: ProxyBody, proxy: Annotated[CorsProxy, Depends(cors_proxy)]
) -> dict[str, Any]:
    return await proxy.request(
        ProxyRequest(
            url=body.url,
            method=body.method,
            headers=body.headers,
            body=body.body,
            timeout_ms=body.timeout,
        )
    )
