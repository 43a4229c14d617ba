"""The web terminal: plain HTML, CSS and ES modules served at `/app` from the package's `static/`
folder, with no build step. The page reads and writes through the same HTTP API and live streams
as any other client, signed in by the `auth_token` HttpOnly cookie; no token is ever handed to the
page's scripts.

`/` sends a browser (a request that accepts HTML) to `/app`; API clients still get the JSON
status there. Every terminal response carries a Content-Security-Policy that allows only the
app's own scripts, styles and connections.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static"
APP_PATH = "/app"
STATIC_PATH = f"{APP_PATH}/static"

# The page builds styles through the CSSOM (element.style), which CSP does not restrict; inline
# <style>/<script> and style attributes in markup are refused. `connect-src 'self'` covers the
# same-origin WebSocket (CSP Level 3 maps ws:/wss: to http:/https: for 'self').
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _with_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


class _SecuredStatic:
    """The static files with the terminal's security headers added to each response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                # Modules change with releases; revalidate rather than serve a stale mix.
                headers["Cache-Control"] = "no-cache"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except HTTPException as exc:
            # StaticFiles raises for a missing file or a bad method before sending anything; no
            # Starlette exception middleware stands in front of this one to answer it.
            answer = PlainTextResponse(str(exc.detail), status_code=exc.status_code)
            await _with_security_headers(answer)(scope, receive, send)


class WebTerminal:
    """In front of the API: `/app` and `/app/` answer the page, `/app/static/...` its files, and a
    browser's `GET /` is sent to `/app`; anything else goes on to the API untouched. Being
    middleware rather than routes, the terminal adds nothing to the API's route table or its
    OpenAPI document: it serves files only, and every piece of data behind them comes through the
    API's own routes and their credential check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.static = _SecuredStatic(StaticFiles(directory=STATIC_DIR))
        self.index = STATIC_DIR / "index.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method = scope.get("method")
        if path.startswith(STATIC_PATH + "/"):
            # StaticFiles resolves the path below its own root (no `..` escapes).
            await self.static({**scope, "root_path": STATIC_PATH, "path": path}, receive, send)
        elif path in (APP_PATH, APP_PATH + "/") and method in ("GET", "HEAD"):
            await self._page()(scope, receive, send)
        elif path == "/" and method in ("GET", "HEAD") and _accepts_html(scope):
            await RedirectResponse(APP_PATH, status_code=307)(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _page(self) -> Response:
        response = FileResponse(self.index, media_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        return _with_security_headers(response)


def _accepts_html(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"text/html" in value
    return False


def install_web(app: FastAPI) -> None:
    """Serves the terminal at `/app` (its files under `/app/static`) and sends browsers from `/`
    to it."""
    app.add_middleware(WebTerminal)
