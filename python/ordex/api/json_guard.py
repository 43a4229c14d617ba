"""JSON request bodies checked once at the edge, for every route, before any handler sees them.

What PostgreSQL, orjson and asyncpg cannot take is refused here with a 400, so it can never turn
into a 500 half-way through a request: NUL characters and lone surrogates in strings (text and
jsonb refuse them), nesting deeper than MAX_JSON_DEPTH (orjson stops at 255 levels, Python's
parser at its recursion limit), and numbers beyond the 64-bit integer range (orjson refuses such
integers; BIGINT and most NUMERIC columns cannot hold them). The OpenAPI document states the same
limits (see `ordex.api.openapi`).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordex.api.errors import error_response, is_api_family
from ordex.api.route_paths import methods_for

MAX_JSON_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class UnstorableJson(ValueError):
    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        super().__init__(f"{'.'.join(path)}: {message}" if path else message)
        self.path = path


def _check_text(text: str, path: tuple[str, ...]) -> None:
    if "\x00" in text:
        raise UnstorableJson("strings must not contain NUL characters", path)
    try:
        text.encode()
    except UnicodeEncodeError:
        raise UnstorableJson("strings must be valid Unicode (no lone surrogates)", path) from None


def check_json(value: Any, path: tuple[str, ...] = ()) -> None:
    """Raise UnstorableJson (naming where) for what the API refuses in any JSON body (see the
    module doc)."""
    if isinstance(value, str):
        _check_text(value, path)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        # orjson reads an integer beyond 64 bits as the nearest double: one just below INT64_MIN
        # comes out as exactly -2**63, so a double must lie strictly inside the range.
        inside = (
            INT64_MIN <= value <= INT64_MAX
            if isinstance(value, int)
            else INT64_MIN < value < INT64_MAX
        )
        if not inside:
            raise UnstorableJson(f"numbers must lie within {INT64_MIN}..{INT64_MAX}", path)
    elif len(path) >= MAX_JSON_DEPTH:
        raise UnstorableJson(f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels", path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path)
            check_json(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, (*path, str(index)))


class NotJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise NotJson(f"{name} is not JSON")


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


class JsonBodyGuard:
    """Reads a JSON body whole, checks it with `check_json`, then hands the same bytes on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD") or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        messages: list[Message] = []
        while True:
            try:
                message = await receive()
            except HTTPException as exc:  # the body size limit, while streaming
                response = error_response(scope.get("path", ""), exc.status_code, exc.detail)
                await response(scope, receive, send)
                return
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        path = scope.get("path", "")
        problem = _problem(body)
        if problem is not None and problem["code"] == "INVALID_JSON" and not is_api_family(path):
            # The exchange's root routes parse strictly and answer with their own codes
            # (INVALID_ORDER, VALIDATION_ERROR), as the exchange contract documents.
            problem = None
        if problem is not None and _routed(scope):
            response = error_response(path, 400, **problem)
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _routed(scope: Scope) -> bool:
    """Whether a route takes this method on this path (else the router's 404 or 405 answers)."""
    app = scope.get("app")
    router = getattr(app, "router", None)
    if router is None:
        return True
    return scope["method"] in methods_for(router.routes, scope.get("path", ""))


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _nesting(body: bytes) -> int:
    """How deep the body's arrays and objects nest (strings left out), without parsing it."""
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _parse(body: bytes) -> Any:
    """orjson first (its parser stops at 1,024 levels by itself); what it refuses (lone
    surrogates, numbers beyond a double, NaN) goes to Python's parser, but only once the nesting is
    known to be shallow: the C parser recurses, and with the high recursion limit some libraries
    set (py-evm) a deep body would overflow the C stack instead of raising RecursionError."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    if _nesting(body) > MAX_JSON_DEPTH:
        raise UnstorableJson(f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels")
    return json.loads(body, parse_constant=_reject_constant)


def _problem(body: bytes) -> dict[str, Any] | None:
    """The error (message, code, field) for a body the API refuses, None for any other."""
    if not body.strip():
        return None
    try:
        check_json(_parse(body))
    except NotJson as exc:
        return {"message": f"invalid JSON body: {exc}", "code": "INVALID_JSON"}
    except UnstorableJson as exc:
        field = exc.path[0] if exc.path else None  # the body's field, as the models name it
        return {"message": str(exc), "code": "VALIDATION_ERROR", "field": field}
    except RecursionError:
        message = f"JSON must not nest deeper than {MAX_JSON_DEPTH} levels"
        return {"message": message, "code": "VALIDATION_ERROR"}
    except ValueError:
        return None  # not JSON at all: the route's own parsing answers 400 INVALID_JSON
    return None
