"""Error envelopes by API family, and the handlers that guarantee bad input never yields a 500.

- root (exchange):  {"error": {"code": CODE, "message": message}}
- under /api:       {"error": message, "code": CODE, "details"?: ..., "field"?: ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordex.api.route_paths import allowed_methods
from ordex.logging import get_logger
from ordex.services.errors import ServiceError

log = get_logger(__name__)

_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_REQUEST",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def code_for_status(status: int) -> str:
    return _CODES.get(status, HTTPStatus(status).phrase.upper().replace(" ", "_"))


def is_api_family(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def error_body(
    path: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: Any = None,
    field: str | None = None,
) -> dict[str, Any]:
    code = code or code_for_status(status)
    if is_api_family(path):
        body: dict[str, Any] = {"error": message, "code": code}
        if details is not None:
            body["details"] = details
        if field is not None:
            body["field"] = field
        return body
    inner: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        inner["field"] = field
    return {"error": inner}


def error_response(
    path: str,
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: Any = None,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(path, status, message, code=code, details=details, field=field),
        status_code=status,
        headers=headers,
    )


def _field_name(loc: Sequence[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or None


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    path = request.url.path
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(path, 400, "invalid JSON body", code="INVALID_JSON")
    first = errors[0] if errors else {}
    field = _field_name(first.get("loc", ()))
    details = "; ".join(
        f"{_field_name(e.get('loc', ())) or 'body'}: {e.get('msg', 'invalid')}" for e in errors
    )
    return error_response(
        path, 400, "invalid request body", code="VALIDATION_ERROR", details=details, field=field
    )


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 404 and message == "Not Found":
        message = "Not found"
    headers = dict(exc.headers) if exc.headers else None
    if status == 405:
        # Starlette names only the first route matching the path; a path served by several
        # routes (GET on one, POST on another) allows the methods of all of them.
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return error_response(request.url.path, status, message, headers=headers)


async def _service_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(
        request.url.path,
        exc.status_code,
        exc.message,
        code=exc.code,
        details=exc.details,
        field=exc.field,
        headers=exc.headers,
    )


async def _unhandled_handler(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", path=request.url.path, exc_info=exc)
    return error_response(request.url.path, 500, "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(ServiceError, _service_handler)
    app.add_exception_handler(Exception, _unhandled_handler)


class BodySizeLimitMiddleware:
    """413 for bodies over the limit, by Content-Length up front or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                response = error_response(path, 400, "invalid Content-Length header")
                await response(scope, receive, send)
                return
            if too_large:
                response = error_response(path, 413, f"request body exceeds {self.max_bytes} bytes")
                await response(scope, receive, send)
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPException from body reading; the handler renders it.
                    raise StarletteHTTPException(
                        413, f"request body exceeds {self.max_bytes} bytes"
                    )
            return message

        await self.app(scope, limited_receive, send)
