"""The live streams on the API's own port, in front of the routes: `/socket.io/` goes to the
Socket.IO server and a WebSocket to `/api/v1/ws` to its handler (which checks the credential at
the handshake); everything else, lifespan included, goes to the API."""

from __future__ import annotations

from typing import Any

import socketio  # type: ignore[import-untyped]
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from ordex.api.realtime.socketio import SOCKETIO_PATH
from ordex.api.realtime.ws import WS_PATH, websocket_endpoint


class RealtimeMount:
    def __init__(self, app: ASGIApp, server: Any) -> None:
        self.app = app
        self.socketio = socketio.ASGIApp(server, socketio_path=SOCKETIO_PATH)
        self._prefix = f"/{SOCKETIO_PATH}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        path: str = scope.get("path", "")
        if kind in ("http", "websocket") and (
            path == self._prefix or path.startswith(self._prefix + "/")
        ):
            await self.socketio(scope, receive, send)
        elif kind == "websocket" and path.rstrip("/") == WS_PATH:
            await websocket_endpoint(WebSocket(scope, receive, send))
        else:
            await self.app(scope, receive, send)
