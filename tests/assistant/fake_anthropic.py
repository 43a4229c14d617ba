"""A local HTTP server that speaks the Anthropic Messages API as the `anthropic` SDK reads it.

`POST /v1/messages` with `stream: true` answers the real event sequence (message_start,
content_block_start / ping / content_block_delta / content_block_stop for text and tool_use blocks
with input_json_delta, message_delta, message_stop); `GET /v1/models` lists models; errors are
Anthropic's error JSON. Each call to /v1/messages takes the next scripted reply.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

GOOD_KEY = "sk-ant-api03-good-key-0123456789"
MODEL = "claude-test-model"

Event = tuple[str, dict[str, Any]]


def error_json(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_1"}


def message_start(message_id: str = "msg_01") -> Event:
    return (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": MODEL,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 25, "output_tokens": 1},
            },
        },
    )


def text_block(index: int, chunks: list[str]) -> list[Event]:
    events: list[Event] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    for chunk in chunks:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": chunk},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def tool_block(index: int, tool_id: str, name: str, tool_input: dict[str, Any]) -> list[Event]:
    text = json.dumps(tool_input)
    pieces = [text[i : i + 17] for i in range(0, len(text), 17)]
    events: list[Event] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "input_json_delta", "partial_json": ""},
            },
        ),
    ]
    for piece in pieces:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def message_end(stop_reason: str = "end_turn") -> list[Event]:
    return [
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 15},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def text_reply(chunks: list[str]) -> list[Event]:
    return [message_start(), *text_block(0, chunks), *message_end()]


def tool_reply(text: str, tool_id: str, tool_input: dict[str, Any]) -> list[Event]:
    return [
        message_start(),
        *text_block(0, [text]),
        *tool_block(1, tool_id, "propose_flow_change", tool_input),
        *message_end("tool_use"),
    ]


@dataclass
class Reply:
    """One scripted answer: a stream of events, an HTTP error, or a stream that breaks off
    (`broken`: the connection is cut) or stalls (`stall`: nothing more is sent)."""

    events: list[Event] = field(default_factory=list)
    status: int = 200
    error: dict[str, Any] | None = None
    broken: bool = False
    stall: bool = False
    # Hold the stream after the event at this index until `gate` is set.
    gate: asyncio.Event | None = None
    gate_after: int = -1


@dataclass
class FakeAnthropic:
    base_url: str = ""
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    model_checks: list[str] = field(default_factory=list)
    models_status: int = 200
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(
            {"headers": {k.lower(): v for k, v in request.headers.items()}, "body": body}
        )
        if request.headers.get("x-api-key") != GOOD_KEY:
            return web.json_response(
                error_json("authentication_error", "invalid x-api-key"), status=401
            )
        reply = self.replies.pop(0) if self.replies else Reply(events=text_reply(["(no script)"]))
        if reply.error is not None:
            return web.json_response(reply.error, status=reply.status)
        assert body.get("stream") is True
        response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "request-id": "req_1"}
        )
        await response.prepare(request)
        for index, (name, data) in enumerate(reply.events):
            await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            await asyncio.sleep(0.001)
            if reply.gate is not None and index == reply.gate_after:
                async with asyncio.timeout(10):
                    await reply.gate.wait()
        if reply.broken:
            assert request.transport is not None
            request.transport.close()
            return response
        if reply.stall:
            async with asyncio.timeout(30):
                await self.release.wait()
        await response.write_eof()
        return response

    async def models(self, request: web.Request) -> web.Response:
        key = request.headers.get("x-api-key", "")
        self.model_checks.append(key)
        if self.models_status != 200:
            return web.json_response(
                error_json("overloaded_error", "Overloaded"), status=self.models_status
            )
        if key != GOOD_KEY:
            return web.json_response(
                error_json("authentication_error", "invalid x-api-key"), status=401
            )
        model = {
            "type": "model",
            "id": MODEL,
            "display_name": "Claude Test",
            "created_at": "2025-02-19T00:00:00Z",
        }
        return web.json_response(
            {"data": [model], "has_more": False, "first_id": MODEL, "last_id": MODEL}
        )


@asynccontextmanager
async def serve() -> AsyncIterator[FakeAnthropic]:
    fake = FakeAnthropic()
    app = web.Application()
    app.router.add_post("/v1/messages", fake.messages)
    app.router.add_get("/v1/models", fake.models)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.base_url = f"http://{host}:{port}"
    try:
        yield fake
    finally:
        fake.release.set()
        await runner.cleanup()
