"""Which routes serve a path: the `Allow` header of a 405, and literal paths kept to their routes.

A literal path (`/api/widgets/batch`) and a parameter route beside it (`/api/widgets/{id}`) both
match `DELETE /api/widgets/batch`; Starlette would run the parameter route for the methods the
literal one lacks. `shadow_literal_paths` makes a literal path belong to its own routes only, so
such a request is a 405 naming the literal path's methods, as the OpenAPI document describes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.convertors import StringConvertor, register_url_convertor
from starlette.routing import BaseRoute, compile_path

_PARAM = re.compile(r"^\{(\w+)\}$")


def leaf_routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(prefix, route) for every route, routers included by `include_router` opened up."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from leaf_routes(included.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix, route


def allowed_methods(request: Request) -> list[str]:
    return methods_for(request.app.router.routes, request.scope.get("path", ""))


def methods_for(routes: Iterable[BaseRoute], path: str) -> list[str]:
    """Every method some route serves `path` with."""
    methods: set[str] = set()
    for prefix, route in leaf_routes(routes):
        regex = getattr(route, "path_regex", None)
        route_methods = getattr(route, "methods", None)
        if regex is None or not route_methods or not path.startswith(prefix):
            continue
        if regex.match(path[len(prefix) :]):
            methods.update(route_methods)
    return sorted(methods)


def _excluding(values: Iterable[str]) -> StringConvertor:
    words = "|".join(re.escape(value) for value in sorted(values))
    kind = type("Excluding", (StringConvertor,), {"regex": f"(?!(?:{words})(?:/|$))[^/]+"})
    convertor: StringConvertor = kind()
    return convertor


def _exclude(route: APIRoute, name: str, values: set[str]) -> None:
    convertor = "ordex_not_" + "_".join(
        re.sub(r"[^A-Za-z0-9]", "_", value) for value in sorted(values)
    )
    register_url_convertor(convertor, _excluding(values))
    path = route.path.replace("{" + name + "}", "{" + name + ":" + convertor + "}")
    route.path = path
    route.path_regex, route.path_format, route.param_convertors = compile_path(path)


def shadow_literal_paths(app: FastAPI) -> None:
    routes = [
        (prefix, route)
        for prefix, route in leaf_routes(app.router.routes)
        if isinstance(route, APIRoute)
    ]
    literals = [prefix + route.path for prefix, route in routes if "{" not in route.path]
    for prefix, route in routes:
        segments = (prefix + route.path).split("/")
        params = [i for i, segment in enumerate(segments) if "{" in segment]
        if len(params) != 1 or not _PARAM.match(segments[params[0]]):
            continue  # several parameters, or one with a convertor already
        at = params[0]
        shadowed = {
            literal.split("/")[at]
            for literal in literals
            if len(literal.split("/")) == len(segments)
            and all(
                i == at or a == b
                for i, (a, b) in enumerate(zip(literal.split("/"), segments, strict=True))
            )
        }
        if shadowed:
            _exclude(route, segments[at][1:-1], shadowed)
