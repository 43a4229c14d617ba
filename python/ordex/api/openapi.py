"""The OpenAPI document completed with what every route answers and refuses, in one place.

The routes declare their bodies and their specific errors; what holds for every route of a family
is added here, so no route (present or future) can leave it out:

- 400 with the family's error envelope (the handlers in `api/errors.py` answer 400, never 422);
- 401 and 403 on the operations that require a credential;
- 404 on the operations with path parameters; 413 and 400 on those with a body;
- 429 on the operations behind a rate limit; 503 on all (the database or Redis away).

Request bodies also get the limits `api/json_guard.py` enforces on every JSON body: no NUL in
strings, numbers within the 64-bit integer range, and free-form JSON described as `JsonValue`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ordex.api.errors import is_api_family
from ordex.api.json_guard import INT64_MAX, INT64_MIN, MAX_JSON_DEPTH
from ordex.api.route_paths import leaf_routes

NO_NUL = "^[^\\u0000]*$"

_DESCRIPTIONS = {
    "400": "Invalid request",
    "401": "Missing or invalid credential",
    "403": "Not allowed for this role or account state",
    "404": "Not found, or not the caller's",
    "413": "Request body too large",
    "429": "Too many attempts; try again later",
    "503": "A backing service (database, Redis) is unavailable",
}

_JSON_VALUE = {
    "description": (
        "Any JSON value: strings without NUL characters (and valid Unicode), numbers within the"
        f" 64-bit integer range, nested at most {MAX_JSON_DEPTH} levels"
    ),
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "number", "minimum": INT64_MIN, "maximum": INT64_MAX},
        {"type": "string", "pattern": NO_NUL},
        {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
        {"$ref": "#/components/schemas/JsonObject"},
    ],
}
_JSON_OBJECT = {
    "type": "object",
    "propertyNames": {"pattern": NO_NUL},
    "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
}


def _uses(dependant: Dependant, wanted: Callable[[Callable[..., Any]], bool]) -> bool:
    return any(
        (dep.call is not None and wanted(dep.call)) or _uses(dep, wanted)
        for dep in dependant.dependencies
    )


def _rate_limited(call: Callable[..., Any]) -> bool:
    return getattr(call, "__qualname__", "").startswith("rate_limited.")


def _error_schema(path: str) -> dict[str, Any]:
    name = "ApiErrorOut" if is_api_family(path) else "RootErrorOut"
    return {"$ref": f"#/components/schemas/{name}"}


def _add(responses: dict[str, Any], status: str, path: str) -> None:
    if status not in responses:
        responses[status] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"schema": _error_schema(path)}},
        }


def _free_form(schema: dict[str, Any]) -> bool:
    keys = set(schema) - {"title", "description", "default", "examples"}
    if not keys:
        return True
    return (
        schema.get("type") == "object"
        and "properties" not in schema
        and "propertyNames" not in schema
        and schema.get("additionalProperties", True) is True
        and keys <= {"type", "additionalProperties"}
    )


_RAW_BOUNDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
}


def _dict_keys(schema: dict[str, Any]) -> None:
    """pydantic writes `dict[Key, V]` with a patterned key as `patternProperties`, which lets any
    other key through; every key is validated, so it is `propertyNames` plus `additionalProperties`."""
    patterns = schema.get("patternProperties")
    if (
        isinstance(patterns, dict)
        and len(patterns) == 1
        and "additionalProperties" not in schema
        and "properties" not in schema
    ):
        ((pattern, values),) = patterns.items()
        del schema["patternProperties"]
        schema["propertyNames"] = {"pattern": pattern}
        schema["additionalProperties"] = values


class _BodyLimits:
    """Rewrites request-body schemas (components once each) with the edge's limits."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.done: set[str] = set()

    def visit(self, schema: Any) -> Any:
        if not isinstance(schema, dict):
            return schema
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            name = ref.rsplit("/", 1)[-1]
            if name not in self.done and name in self.components:
                self.done.add(name)
                self.components[name] = self.visit(self.components[name])
            return schema
        if isinstance(ref, str):
            return schema  # into the schema's own $defs, visited there
        if _free_form(schema):
            kept = {k: v for k, v in schema.items() if k in ("title", "description", "default")}
            target = "JsonObject" if schema.get("type") == "object" else "JsonValue"
            return {**kept, "$ref": f"#/components/schemas/{target}"}
        kind = schema.get("type")
        _dict_keys(schema)
        for raw, keyword in _RAW_BOUNDS.items():
            # pydantic leaves a bound after a before-validator under its Python name.
            if raw in schema:
                schema.setdefault(keyword, schema.pop(raw))
        if kind == "string" and not {"enum", "const", "format"} & set(schema):
            if "pattern" not in schema:
                schema["pattern"] = NO_NUL
            elif schema["pattern"] != NO_NUL:
                schema.setdefault("allOf", []).append({"pattern": NO_NUL})
        elif kind in ("integer", "number"):
            self._bound(schema)
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            if isinstance(schema.get(key), list):
                schema[key] = [self.visit(item) for item in schema[key]]
        for key in ("items", "additionalProperties", "propertyNames"):
            if isinstance(schema.get(key), dict):
                schema[key] = self.visit(schema[key])
        for key in ("properties", "$defs"):  # $defs: a schema inlined whole, as trade's bodies
            if isinstance(schema.get(key), dict):
                schema[key] = {name: self.visit(item) for name, item in schema[key].items()}
        if kind == "object" and "propertyNames" not in schema:
            if "properties" not in schema:
                schema["propertyNames"] = {"pattern": NO_NUL}
            elif "additionalProperties" not in schema:
                # Extra fields are ignored, but still pass the edge's checks.
                schema["propertyNames"] = {"pattern": NO_NUL}
                schema["additionalProperties"] = {"$ref": "#/components/schemas/JsonValue"}
        return schema

    @staticmethod
    def _bound(schema: dict[str, Any]) -> None:
        if schema.get("exclusiveMinimum", 0) < INT64_MIN:
            del schema["exclusiveMinimum"]
        if schema.get("exclusiveMaximum", 0) > INT64_MAX:
            del schema["exclusiveMaximum"]
        if "exclusiveMinimum" not in schema:
            schema["minimum"] = max(schema.get("minimum", INT64_MIN), INT64_MIN)
        if "exclusiveMaximum" not in schema:
            schema["maximum"] = min(schema.get("maximum", INT64_MAX), INT64_MAX)


def _complete(schema: dict[str, Any], routes: list[APIRoute]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["JsonValue"] = _JSON_VALUE
    components["JsonObject"] = _JSON_OBJECT
    limited = {
        (route.path_format, method.lower())
        for route in routes
        if _uses(route.dependant, _rate_limited)
        for method in route.methods or ()
    }
    limits = _BodyLimits(components)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            if "HTTPValidationError" in str(responses.get("422")):
                del responses["422"]  # FastAPI's, never answered: validation errors are 400s
            _add(responses, "400", path)
            if operation.get("security"):
                _add(responses, "401", path)
                _add(responses, "403", path)
            if "{" in path:
                _add(responses, "404", path)
            body = operation.get("requestBody")
            if body is not None:
                _add(responses, "413", path)
                for media in body.get("content", {}).values():
                    if "schema" in media:
                        media["schema"] = limits.visit(media["schema"])
            if (path, method) in limited:
                _add(responses, "429", path)
            _add(responses, "503", path)
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in str(schema.get("paths")):
            components.pop(unused, None)


def complete_openapi(app: FastAPI) -> None:
    """Wrap `app.openapi` (after the credentials are declared) with `_complete`."""
    build = app.openapi
    routes = [route for _, route in leaf_routes(app.routes) if isinstance(route, APIRoute)]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        _complete(schema, routes)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
