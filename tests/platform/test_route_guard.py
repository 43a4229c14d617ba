"""Every registered route needs a credential unless it is on the public list.

Walking the app's routes means a route added later can never be left open by accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import httpx
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from ordex.api.app import create_app
from ordex.config import Settings

PUBLIC = {
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/refresh"),
    ("POST", "/api/auth/refresh"),
}


def _walk(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) for every route, through included routers at any depth."""
    for route in routes:
        # Newer FastAPI keeps an included router as one entry wrapping the original router.
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(inner.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix + getattr(route, "path", ""), route


def _without_converters(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)


def _routes(settings: Settings) -> list[tuple[str, str]]:
    app = create_app(settings)
    found: list[tuple[str, str]] = []
    for path, route in _walk(app.routes):
        if isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    found.append((method, _without_converters(path)))
        else:
            raise AssertionError(f"route of unknown kind, cannot check it: {route!r}")
    # Cross-check: nothing in the OpenAPI document escaped the walk.
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert documented <= set(found), documented - set(found)
    return found


async def test_every_non_public_route_needs_a_credential(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    routes = _routes(settings)
    assert ("GET", "/api/auth/me") in routes
    checked = 0
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        response = await client.request(method, concrete, json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        checked += 1
    assert checked >= 6


async def test_public_routes_answer_without_a_credential(client: httpx.AsyncClient) -> None:
    for path in ("/", "/health", "/docs", "/openapi.json", "/metrics"):
        response = await client.get(path)
        assert response.status_code == 200, path


def test_public_list_has_no_stale_entries(settings: Settings) -> None:
    routes = set(_routes(settings))
    assert routes >= PUBLIC
