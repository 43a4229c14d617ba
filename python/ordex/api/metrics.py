"""Prometheus metrics of the HTTP API: a request counter and a latency histogram per route
template, served at `/metrics`.

The route template is read from the route the router picked (`scope["route"]`) once the request
is done, instead of matching the path against every route a second time before the request as
a generic instrumentation would: that second match cost more than the rest of the telemetry.
Requests that match no route count under the handler `none`.
"""

from __future__ import annotations

import os
import time

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METRICS_PATH = "/metrics"

# Process-wide like the default registry they live in; every app of the process shares them.
REQUESTS = Counter(
    "http_requests_total",
    "Total number of requests by method, status and handler.",
    ("method", "status", "handler"),
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Latency with only few buckets by handler and method.",
    ("method", "handler"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # `labels()` costs more than the observation; one child per label set, made once.
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            handler = getattr(route, "path_format", None) or "none"
            key = (scope["method"], handler, f"{status // 100}xx")
            children = self._children.get(key)
            if children is None:
                children = (
                    REQUESTS.labels(key[0], key[2], handler),
                    LATENCY.labels(key[0], handler),
                )
                self._children[key] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - started)


async def _metrics(request: Request) -> Response:
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several API processes: every process's samples, as prometheus_client documents it.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install_metrics(app: FastAPI) -> None:
    app.add_middleware(HttpMetricsMiddleware)
    app.add_api_route(METRICS_PATH, _metrics, methods=["GET"], include_in_schema=False)
