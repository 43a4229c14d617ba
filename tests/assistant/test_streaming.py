"""The answer really streams: its first text reaches the client while the upstream answer is still
being written (driven through the raw ASGI interface, as httpx's ASGI transport buffers)."""

from __future__ import annotations

import asyncio

import httpx
import orjson
from asgi_lifespan import LifespanManager
from starlette.types import Message, Scope

from ordex.api.app import create_app
from ordex.config import RegistrationMode, Settings
from tests.assistant.fake_anthropic import FakeAnthropic, Reply, text_reply
from tests.assistant.helpers import save_key, sse_events
from tests.workspace.helpers import sign_up


async def test_text_reaches_the_client_before_the_answer_ends(
    settings: Settings, anthropic_api: FakeAnthropic
) -> None:
    app = create_app(settings.model_copy(update={"registration_mode": RegistrationMode.OPEN}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            alice = await sign_up(client, "alice@example.com")
            await save_key(client, alice)

        gate = asyncio.Event()
        # message_start, content_block_start, ping, "first" (index 3) | " second", ...
        anthropic_api.script(
            Reply(events=text_reply(["first", " second"]), gate=gate, gate_after=3)
        )
        body = orjson.dumps({"messages": [{"role": "user", "content": "hi"}]})
        chunks: asyncio.Queue[bytes] = asyncio.Queue()
        finished = asyncio.Event()
        request_sent = False

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("body"):
                    await chunks.put(message["body"])
                if not message.get("more_body", False):
                    finished.set()

        scope: Scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/api/chat", "raw_path": b"/api/chat", "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
            "headers": [
                (b"host", b"testserver"),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"authorization", f"Bearer {alice.token}".encode()),
            ],
        }  # fmt: skip

        async def run() -> None:
            await manager.app(scope, receive, send)

        task = asyncio.create_task(run())
        received = b""
        async with asyncio.timeout(10):
            while b"first" not in received:
                received += await chunks.get()
        assert b"second" not in received and not task.done()  # upstream held at the gate
        gate.set()
        async with asyncio.timeout(10):
            await task
        while not chunks.empty():
            received += chunks.get_nowait()
        assert sse_events(received.decode()) == [
            (None, {"text": "first"}),
            (None, {"text": " second"}),
            (None, "[DONE]"),
        ]
