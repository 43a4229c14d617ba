"""Helpers of the session tests: the API as two users, live messages, waiting for the watcher."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from tests.marketdata.fake_binance import FakeBinance
from tests.workspace.helpers import User, channel_messages


@dataclass
class SessionsApi:
    http: httpx.AsyncClient
    alice: User
    bob: User
    redis_url: str
    fake: FakeBinance

    async def post(self, path: str, body: Any, user: User | None = None) -> httpx.Response:
        return await self.http.post(path, json=body, headers=(user or self.alice).headers)

    async def get(self, path: str, user: User | None = None, **params: Any) -> httpx.Response:
        return await self.http.get(path, params=params, headers=(user or self.alice).headers)

    async def delete(self, path: str, user: User | None = None) -> httpx.Response:
        return await self.http.delete(path, headers=(user or self.alice).headers)

    async def start(self, user: User | None = None, **body: Any) -> str:
        body = {"symbol": "BTC/USDT", "initial_capital": 100_000, **body}
        response = await self.post("/api/v1/trade/start", body, user)
        assert response.status_code == 200, response.text
        session_id: str = response.json()["session_id"]
        return session_id

    async def order(
        self, user: User | None = None, status: int = 201, **body: Any
    ) -> dict[str, Any]:
        response = await self.post("/api/v1/orders", body, user)
        assert response.status_code == status, response.text
        order: dict[str, Any] = response.json()["order"] if status == 201 else response.json()
        return order

    async def order_by_id(self, order_id: str, user: User | None = None) -> dict[str, Any]:
        response = await self.get(f"/api/v1/orders/{order_id}", user)
        assert response.status_code == 200, response.text
        order: dict[str, Any] = response.json()["order"]
        return order

    async def wait_order(
        self, order_id: str, done: Callable[[dict[str, Any]], bool], seconds: float = 10.0
    ) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            while True:
                order = await self.order_by_id(order_id)
                if done(order):
                    return order
                await asyncio.sleep(0.05)


def error(
    response: httpx.Response, status: int, code: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """The /api error envelope, checked."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str) and body["error"], body
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110  (a condition outside this loop)
            await asyncio.sleep(0.02)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


class Inbox:
    """Live messages of one user (their Redis channel, which every API process relays to
    `/api/v1/ws`)."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]

    async def wait_for(
        self,
        kind: str,
        check: Callable[[dict[str, Any]], bool] = lambda _: True,
        seconds: float = 5,
    ) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            while True:
                for message in self.of(kind):
                    if check(message["data"]):
                        return message
                self.arrived.clear()
                await self.arrived.wait()


@asynccontextmanager
async def live_messages(redis_url: str, user_id: uuid.UUID) -> AsyncIterator[Inbox]:
    inbox = Inbox()

    def deliver(message: dict[str, Any]) -> None:
        inbox.messages.append(message)
        inbox.arrived.set()

    async with channel_messages(redis_url, f"live:user:{user_id}", deliver):
        yield inbox
