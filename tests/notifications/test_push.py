"""A notification reaches the user's Socket.IO sockets (event `notification`, room
`user:{userId}`) and WebSocket clients (message type `notification`) as it is written, and nobody
else's; a silenced one reaches nobody."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import socketio  # type: ignore[import-untyped]
import websockets

from ordex.services import notifications
from tests.realtime.conftest import LiveServer

TIMEOUT = 5.0


async def _ws_next(connection: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            message: dict[str, Any] = orjson.loads(await connection.recv())
            if message["type"] == kind:
                return message


async def test_a_notification_is_pushed_on_socketio_and_the_websocket(live: LiveServer) -> None:
    token, user_id = await live.sign_up("alice@example.com")
    other_token, _ = await live.sign_up("bob@example.com")
    mine: asyncio.Queue[Any] = asyncio.Queue()
    theirs: asyncio.Queue[Any] = asyncio.Queue()
    clients = []
    for queue, credential in ((mine, token), (theirs, other_token)):
        client = socketio.AsyncClient(reconnection=False)
        client.on("notification", queue.put)
        await client.connect(live.url, transports=["websocket"], auth={"token": credential})
        clients.append(client)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with websockets.connect(f"{live.ws_url}/api/v1/ws", additional_headers=headers) as ws:
            await asyncio.sleep(0.3)  # the sockets' rooms and the live relay are in place
            app = live.app
            async with app.state.pool.acquire() as conn:
                row = await notifications.notify(
                    conn,
                    app.state.redis,
                    uuid.UUID(user_id),
                    "engine_start",
                    "Execution started",
                    "BTC/USDT paper trading started on binance (paper venue)",
                    {"execution_id": "exec_1"},
                    action_url="/flows/flow_1",
                )
            assert row is not None
            pushed = await asyncio.wait_for(mine.get(), TIMEOUT)
            message = await _ws_next(ws, "notification")
        listed = (await live.http.get("/api/notifications", headers=headers)).json()
        assert pushed == listed["notifications"][0] == message["data"]
        assert pushed["id"] == str(row.id) and pushed["type"] == "engine"
        assert pushed["data"] == {"execution_id": "exec_1"}
        await asyncio.sleep(0.2)
        assert theirs.empty()

        # Silenced: neither written nor pushed.
        put = await live.http.put(
            "/api/profile/preferences",
            json={"notification_preferences": {"engine_start": False}},
            headers=headers,
        )
        assert put.status_code == 200, put.text
        async with app.state.pool.acquire() as conn:
            silenced = await notifications.notify(
                conn, app.state.redis, uuid.UUID(user_id), "engine_start", "t", "m", {}
            )
        assert silenced is None
        await asyncio.sleep(0.2)
        assert mine.empty()
    finally:
        for client in clients:
            await client.disconnect()
