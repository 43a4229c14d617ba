"""Helpers of the assistant tests: Server-Sent Events parsing, a saved key, a flow."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.assistant.fake_anthropic import GOOD_KEY
from tests.flows.examples import EXAMPLE_FLOW
from tests.workspace.helpers import User

SseEvent = tuple[str | None, Any]


def sse_events(text: str) -> list[SseEvent]:
    """(event name or None, decoded data) per event; comments (pings) skipped."""
    events: list[SseEvent] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            joined = "\n".join(data)
            events.append((name, joined if joined == "[DONE]" else json.loads(joined)))
    return events


async def save_key(client: httpx.AsyncClient, user: User, key: str = GOOD_KEY) -> None:
    response = await client.post("/api/ai-keys", json={"apiKey": key}, headers=user.headers)
    assert response.status_code == 200, response.text


async def create_flow(client: httpx.AsyncClient, user: User) -> dict[str, Any]:
    body = {"name": "RSI", **EXAMPLE_FLOW()}
    response = await client.post("/api/flows", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    flow: dict[str, Any] = response.json()
    return flow


async def chat(client: httpx.AsyncClient, user: User, content: str, **extra: Any) -> httpx.Response:
    body = {"messages": [{"role": "user", "content": content}], **extra}
    return await client.post("/api/chat", json=body, headers=user.headers)
