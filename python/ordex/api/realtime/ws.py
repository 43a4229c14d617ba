"""WebSocket `/api/v1/ws`: the user's live messages in the envelope `{"type", "timestamp", "data"}`.

Messages: `position_update`, `order_update`, `trade` (from the exchange's engine events for the
user's orders), `agent_status`, `system_status`, `error` (published by other parts of the platform),
and `ping`/`pong` both ways.

The credential is checked at the handshake, like every HTTP route: `Authorization: Bearer`,
`X-API-Key`, the `auth_token` cookie, or a `token` query parameter (browsers cannot set headers on
a WebSocket). A refused handshake is an HTTP 403; nothing is accepted before the check.

Limits (the contract's): client messages over 512 bytes close the connection (1009); each client
has a send buffer of 256 messages, and a client whose buffer is still full 50 ms after a message
found it full is dropped (1008), so it holds up the others once, briefly, and never again; a send that takes longer than 10 s drops the client too. The server sends a
`ping` message every 54 s. ASGI has no protocol-level ping frames, so the pong deadline (60 s)
applies to clients that take part in the ping/pong exchange (that have sent a `ping` or `pong`);
a dead peer of any other client is found by the write timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from ordex.api.deps import AUTH_COOKIE
from ordex.logging import get_logger
from ordex.services import auth as auth_service
from ordex.services.errors import ServiceError
from ordex.services.live_messages import envelope

log = get_logger(__name__)

MAX_CLIENT_MESSAGE_BYTES = 512
SEND_BUFFER = 256
WRITE_TIMEOUT_SECONDS = 10.0
PING_INTERVAL_SECONDS = 54.0
PONG_TIMEOUT_SECONDS = 60.0
FULL_BUFFER_GRACE_SECONDS = 0.05
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008


@dataclass(eq=False)
class WsClient:
    websocket: WebSocket
    user_id: uuid.UUID
    queue: asyncio.Queue[bytes | None] = field(
        default_factory=lambda: asyncio.Queue(maxsize=SEND_BUFFER)
    )
    dropped: bool = False
    close_reason: str | None = None  # set when the server drops the client
    sending_since: float | None = None  # when the send in progress started
    writer: asyncio.Task[None] | None = None
    answers_pings: bool = False
    last_heard: float = field(default_factory=time.monotonic)

    def offer(self, payload: bytes) -> bool:
        """Queues a message; False when the buffer is full (the client is too slow)."""
        if self.dropped:
            return True
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            return False
        return True


class WsHub:
    """The WebSocket clients of this process, by user."""

    def __init__(
        self,
        *,
        ping_interval: float = PING_INTERVAL_SECONDS,
        pong_timeout: float = PONG_TIMEOUT_SECONDS,
        write_timeout: float = WRITE_TIMEOUT_SECONDS,
    ) -> None:
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.write_timeout = write_timeout
        self._by_user: dict[uuid.UUID, set[WsClient]] = {}
        self.dropped_slow = 0
        self._watchdog: asyncio.Task[None] | None = None

    def ensure_watchdog(self) -> None:
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.create_task(watch_writes(self), name="ws-write-watchdog")

    async def close(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog

    def has_user(self, user_id: uuid.UUID) -> bool:
        return user_id in self._by_user

    def client_count(self) -> int:
        return sum(len(clients) for clients in self._by_user.values())

    def add(self, client: WsClient) -> None:
        self._by_user.setdefault(client.user_id, set()).add(client)

    def remove(self, client: WsClient) -> None:
        clients = self._by_user.get(client.user_id)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self._by_user[client.user_id]

    async def deliver(self, user_id: uuid.UUID | None, message: dict[str, Any]) -> None:
        """One message to a user's clients (None: to every client); encoded once."""
        if user_id is None:
            targets = [c for clients in self._by_user.values() for c in clients]
        else:
            targets = list(self._by_user.get(user_id, ()))
        if not targets:
            return
        payload = orjson.dumps(message)
        behind = [client for client in targets if not client.offer(payload)]
        if behind:
            await self._grace(behind, payload)

    async def _grace(self, behind: list[WsClient], payload: bytes) -> None:
        """A full buffer right after a burst is not yet a slow client: the writers get a moment
        (at most FULL_BUFFER_GRACE_SECONDS) to drain; whoever is still full then is dropped."""
        deadline = time.monotonic() + FULL_BUFFER_GRACE_SECONDS
        while behind and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
            behind = [client for client in behind if not client.offer(payload)]
        for client in behind:
            self.drop(client, "send buffer full")

    def drop(self, client: WsClient, reason: str) -> None:
        if client.dropped:
            return
        client.dropped = True
        client.close_reason = reason
        self.dropped_slow += 1
        self.remove(client)
        log.info("websocket client dropped", user=str(client.user_id), reason=reason)
        # Wake the writer so it closes the connection; the queue may be full, so make room.
        with contextlib.suppress(asyncio.QueueEmpty):
            client.queue.get_nowait()
        client.queue.put_nowait(None)


def _presented_token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (
        (websocket.headers.get("x-api-key") or "").strip()
        or websocket.cookies.get(AUTH_COOKIE)
        or websocket.query_params.get("token")
        or None
    )


async def _authenticate(websocket: WebSocket) -> uuid.UUID | None:
    token = _presented_token(websocket)
    if token is None:
        return None
    app = websocket.app
    try:
        async with app.state.pool.acquire() as conn:
            principal = await auth_service.resolve(conn, app.state.settings, token)
    except ServiceError:
        return None
    user_id: uuid.UUID = principal.user.id
    return user_id


WS_PATH = "/api/v1/ws"


async def websocket_endpoint(websocket: WebSocket) -> None:
    user_id = await _authenticate(websocket)
    if user_id is None:
        await websocket.close(code=CLOSE_POLICY)  # before accept: an HTTP 403 to the client
        return
    runtime = websocket.app.state.realtime
    await runtime.ensure_fanout()
    hub: WsHub = runtime.ws_hub
    await websocket.accept()
    client = WsClient(websocket, user_id)
    hub.add(client)
    reader = asyncio.create_task(_read(hub, client))
    writer = client.writer = asyncio.create_task(_write(hub, client))
    hub.ensure_watchdog()
    pinger = asyncio.create_task(_ping(hub, client))
    try:
        # Either side ending ends the connection: the client left (reader), or the server
        # dropped it (writer); returning lets the server release a connection whose socket
        # no longer drains.
        await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hub.remove(client)
        if not client.dropped:
            client.dropped = True
            with contextlib.suppress(asyncio.QueueFull):
                client.queue.put_nowait(None)
        for task in (pinger, reader):
            task.cancel()
        # The pending receive goes first: a close frame does not go out while it waits.
        await asyncio.gather(pinger, reader, return_exceptions=True)
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(writer, hub.write_timeout)
        reason = client.close_reason
        # After a send timed out, a close frame would wait behind it: just let go.
        connected = websocket.client_state == WebSocketState.CONNECTED
        if reason and reason != "write timeout" and connected:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(hub.write_timeout):
                    await websocket.close(CLOSE_POLICY, reason)


async def _read(hub: WsHub, client: WsClient) -> None:
    websocket = client.websocket
    while not client.dropped:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        raw: bytes | str | None = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > MAX_CLIENT_MESSAGE_BYTES:
            client.dropped = True
            hub.remove(client)
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_TOO_BIG, "message exceeds 512 bytes")
            return
        client.last_heard = time.monotonic()
        await _answer(client, raw)


async def _answer(client: WsClient, raw: bytes | str) -> None:
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        message = None
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ping":
        client.answers_pings = True
        client.offer(orjson.dumps(envelope("pong", {})))
    elif kind == "pong":
        client.answers_pings = True
    else:
        error = {"error": "unsupported message", "details": "send ping", "severity": "low"}
        client.offer(orjson.dumps(envelope("error", error)))


async def _write(hub: WsHub, client: WsClient) -> None:
    """Sends the queue in order. The 10 s write timeout is kept by the hub's watchdog (one timer
    for every client rather than one per message); it cancels a writer stuck in a send."""
    websocket = client.websocket
    try:
        while (payload := await client.queue.get()) is not None:
            client.sending_since = time.monotonic()
            await websocket.send({"type": "websocket.send", "text": payload.decode()})
            client.sending_since = None
    except asyncio.CancelledError:
        if client.close_reason != "write timeout":
            raise
        return  # stuck in a send: closing would block the same way
    except (WebSocketDisconnect, RuntimeError, OSError):
        client.dropped = True
        hub.remove(client)
        return


async def watch_writes(hub: WsHub) -> None:
    """Drops clients whose current send has taken longer than the write timeout."""
    while True:
        await asyncio.sleep(min(1.0, hub.write_timeout / 4))
        now = time.monotonic()
        for clients in list(hub._by_user.values()):
            for client in list(clients):
                started = client.sending_since
                if started is not None and now - started > hub.write_timeout:
                    hub.drop(client, "write timeout")
                    client.close_reason = "write timeout"  # even if dropped for another reason
                    if client.writer is not None:
                        client.writer.cancel()


async def _ping(hub: WsHub, client: WsClient) -> None:
    while not client.dropped:
        await asyncio.sleep(hub.ping_interval)
        stale = time.monotonic() - client.last_heard > hub.pong_timeout
        if client.answers_pings and stale:
            hub.drop(client, "no pong")
            return
        if not client.offer(orjson.dumps(envelope("ping", {}))):
            hub.drop(client, "send buffer full")
            return
