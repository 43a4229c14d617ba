"""Helpers of the agents and decisions tests: a live-message subscription and decision bodies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from ordex.services.live_messages import USER_CHANNEL_PREFIX
from tests.workspace.helpers import EventInbox, channel_messages


@asynccontextmanager
async def live_messages(redis_url: str, user_id: uuid.UUID) -> AsyncIterator[EventInbox]:
    """The user's live messages (`live:user:{id}`, what /api/v1/ws relays) during the block."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    async with channel_messages(redis_url, f"{USER_CHANNEL_PREFIX}{user_id}", queue.put_nowait):
        yield EventInbox(queue)


async def next_of_type(inbox: EventInbox, message_type: str) -> dict[str, Any]:
    """The next message of that type (others are skipped)."""
    while True:
        message = await inbox.next()
        if message["type"] == message_type:
            return message


def decision_body(**overrides: Any) -> dict[str, Any]:
    """The contract's example decision, as an agent writes it."""
    body: dict[str, Any] = {
        "agent": "trend-agent",
        "symbol": "BTC/USDT",
        "type": "signal",
        "decision": "BUY",
        "confidence": 0.85,
        "reasoning": "Strong uptrend confirmed by:\n1. RSI at 35 (oversold)\n2. MACD bullish "
        "crossover\n3. Price above 50-day EMA\n4. Volume increasing on up days",
        "context": {"price": 42000.00, "rsi": 35.2, "macd": 120.5, "volume_24h": 1500000000},
        "prompt": "Full LLM prompt text...",
        "response": "Full LLM response text...",
        "model": "claude-sonnet-4",
        "tokens": {"prompt": 1250, "completion": 180},
        "latency": 1250,
    }
    body.update(overrides)
    return body


async def write_decision(
    client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/decisions", json=decision_body(**overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    decision: dict[str, Any] = response.json()["decision"]
    return decision
