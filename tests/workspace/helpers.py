"""Helpers of the workspace tests: signed-in users and Redis subscriptions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from tests.platform.helpers import bearer, register


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def sign_up(client: httpx.AsyncClient, email: str, **extra: Any) -> User:
    response = await register(client, email, **extra)
    assert response.status_code == 201, response.text
    # The auth cookie would otherwise sign every later request in as this user.
    client.cookies.clear()
    body = response.json()
    return User(id=uuid.UUID(body["user"]["id"]), token=body["token"])


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is True
    return body.get("data")


def api_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the /api error envelope and return it."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str)
    if code is not None:
        assert body["code"] == code, body
    return body


class EventInbox:
    """Messages of one user's state:changed channel."""

    def __init__(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.queue = queue

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(5):
            return await self.queue.get()

    def drain(self) -> list[dict[str, Any]]:
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items


@asynccontextmanager
async def channel_messages(
    redis_url: str, channel: str, deliver: Callable[[dict[str, Any]], None]
) -> AsyncIterator[None]:
    """Hands every JSON message published on the Redis channel to `deliver` during the block."""
    client = Redis.from_url(redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(channel)

    async def pump() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                deliver(orjson.loads(message["data"]))

    task = asyncio.create_task(pump())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


@asynccontextmanager
async def state_events(redis_url: str, user_id: uuid.UUID) -> AsyncIterator[EventInbox]:
    """Subscribe to a user's `state:changed:{userId}` channel for the duration of the block."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with channel_messages(redis_url, f"state:changed:{user_id}", queue.put_nowait):
        yield EventInbox(queue)
