"""WebSocket `/api/v1/ws` with the `websockets` client against the served app: the handshake's
credential check, ping/pong, the 512-byte limit, the user's exchange messages from engine events,
published status messages, and a slow client dropped without holding up the others."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import pytest
import websockets
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from ordex.config import Settings
from ordex.services.live_messages import MESSAGE_TYPES, publish
from ordex.services.trading_accounts import ensure_trading_account
from ordex.streams import events_stream, top_of_book_key
from tests.realtime.conftest import LiveServer

TIMEOUT = 5.0


@asynccontextmanager
async def ws_client(
    live: LiveServer, token: str, **options: Any
) -> AsyncIterator[ClientConnection]:
    async with websockets.connect(
        f"{live.ws_url}/api/v1/ws", additional_headers={"Authorization": f"Bearer {token}"},
        **options,
    ) as connection:  # fmt: skip
        yield connection


async def receive(connection: ClientConnection, *skip: str) -> dict[str, Any]:
    """The next message whose type is not in `skip`."""
    while True:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(connection.recv(), TIMEOUT))
        assert set(message) == {"type", "timestamp", "data"}
        assert message["type"] in MESSAGE_TYPES
        if message["type"] not in skip:
            return message


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    assert settings.redis_url is not None
    client = Redis.from_url(settings.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


async def append_events(redis: Redis, market: str, *events: dict[str, Any]) -> None:
    for event in events:
        await redis.xadd(events_stream(market), {"payload": orjson.dumps(event)})


async def test_handshake_needs_a_valid_credential(live: LiveServer) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{live.ws_url}/api/v1/ws", additional_headers=headers):
                pass
        assert refused.value.response.status_code == 403
    token, _ = await live.sign_up("query@example.com")
    async with websockets.connect(f"{live.ws_url}/api/v1/ws?token={token}") as connection:
        await connection.send(orjson.dumps({"type": "ping", "timestamp": "x", "data": {}}).decode())
        assert (await receive(connection))["type"] == "pong"


async def test_ping_pong_errors_and_the_size_limit(live: LiveServer) -> None:
    token, _ = await live.sign_up("ping@example.com")
    async with ws_client(live, token) as connection:
        ping = {"type": "ping", "timestamp": "2025-01-15T10:30:00Z", "data": {}}
        await connection.send(orjson.dumps(ping).decode())
        pong = await receive(connection)
        assert pong["type"] == "pong" and pong["data"] == {}
        assert pong["timestamp"].endswith("Z")

        await connection.send("not json")
        error = await receive(connection)
        assert error["type"] == "error" and error["data"]["severity"] == "low"

        await connection.send("x" * 512)  # at the limit: answered
        assert (await receive(connection))["type"] == "error"
        await connection.send("x" * 513)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await receive(connection)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_exchange_events_become_the_users_messages(
    live: LiveServer, settings: Settings, redis: Redis
) -> None:
    token, user_id = await live.sign_up("trader@example.com")
    other_token, other_id = await live.sign_up("maker@example.com")
    conn = await asyncpg.connect(settings.database_url)
    try:
        taker = await ensure_trading_account(conn, uuid.UUID(user_id))
        maker = await ensure_trading_account(conn, uuid.UUID(other_id))
        # The perpetual position as the persister leaves it after the trade below (seq 3).
        await conn.execute(
            "INSERT INTO positions (account_id, market_id, size, cost, realized_pnl) "
            "VALUES ($1, 'BTC-PERP', 0.1, 6500, 0)",
            taker,
        )
        await conn.execute(
            "INSERT INTO market_progress (market_id, last_seq) VALUES ('BTC-PERP', 3)"
        )
    finally:
        await conn.close()
    await redis.hset(top_of_book_key("BTC-PERP"), mapping={"last": "65100"})

    async with ws_client(live, token) as mine, ws_client(live, other_token) as theirs:
        await append_events(
            redis,
            "BTC-PERP",
            {"seq": 1, "type": "accepted", "market": "BTC-PERP", "order_id": 11,
             "account": maker, "side": "SELL", "order_type": "LIMIT", "price": "65000",
             "qty": "0.25"},
            {"seq": 2, "type": "accepted", "market": "BTC-PERP", "order_id": 12,
             "account": taker, "side": "BUY", "order_type": "MARKET", "price": None,
             "qty": "0.1"},
            {"seq": 3, "type": "trade", "market": "BTC-PERP", "taker_order_id": 12,
             "taker_account": taker, "maker_order_id": 11, "maker_account": maker,
             "taker_side": "BUY", "price": "65000", "qty": "0.1", "taker_fee": "3.25",
             "maker_fee": "1.3"},
        )  # fmt: skip
        new = await receive(mine)
        assert new["type"] == "order_update"
        assert new["data"] == {
            "order_id": "12", "symbol": "BTC/USDC:USDC", "side": "BUY", "type": "MARKET",
            "status": "NEW", "quantity": 0.1, "executed_quantity": 0.0, "filled_at": None,
        }  # fmt: skip
        trade = await receive(mine)
        assert trade["type"] == "trade"
        assert trade["data"]["order_id"] == "12" and trade["data"]["side"] == "BUY"
        assert (trade["data"]["price"], trade["data"]["quantity"]) == (65000.0, 0.1)
        assert trade["data"]["commission"] == 3.25
        filled = await receive(mine)
        assert filled["type"] == "order_update" and filled["data"]["status"] == "FILLED"
        assert filled["data"]["executed_quantity"] == 0.1 and filled["data"]["filled_at"]
        position = await receive(mine)
        assert position["type"] == "position_update"
        assert position["data"]["side"] == "LONG" and position["data"]["entry_price"] == 65000.0
        assert position["data"]["quantity"] == 0.1
        assert position["data"]["unrealized_pnl"] == pytest.approx(10.0)

        maker_new = await receive(theirs)
        assert maker_new["data"]["order_id"] == "11" and maker_new["data"]["status"] == "NEW"
        maker_trade = await receive(theirs)
        assert maker_trade["type"] == "trade" and maker_trade["data"]["side"] == "SELL"
        partial = await receive(theirs)
        assert partial["data"]["status"] == "PARTIALLY_FILLED"
        assert partial["data"]["executed_quantity"] == 0.1

        await append_events(
            redis,
            "BTC-PERP",
            {"seq": 4, "type": "cancelled", "market": "BTC-PERP", "order_id": 11,
             "account": maker, "remaining": "0.15", "reason": "USER"},
        )  # fmt: skip
        cancelled = await receive(theirs, "position_update")
        assert cancelled["data"]["status"] == "CANCELED"
        assert cancelled["data"]["executed_quantity"] == 0.1


async def test_published_status_messages(live: LiveServer, redis: Redis) -> None:
    token, user_id = await live.sign_up("agents@example.com")
    other_token, _ = await live.sign_up("bystander@example.com")
    async with ws_client(live, token) as mine, ws_client(live, other_token) as theirs:
        await publish(
            redis,
            "system_status",
            {"status": "trading_started", "message": "Trading session started", "metadata": {}},
        )
        for connection in (mine, theirs):
            message = await receive(connection)
            assert message["type"] == "system_status"
            assert message["data"]["status"] == "trading_started"
        agent = {"name": "technical-agent", "status": "active", "is_healthy": True}
        await publish(redis, "agent_status", agent, user_id=uuid.UUID(user_id))
        await publish(redis, "error", {"error": "x", "details": "y", "severity": "high"})
        assert (await receive(mine))["data"] == agent
        assert (await receive(mine))["type"] == "error"
        assert (await receive(theirs))["type"] == "error"  # the agent status was not theirs


async def test_slow_client_is_dropped_and_others_keep_receiving(live: LiveServer) -> None:
    fast_token, fast_user = await live.sign_up("fast@example.com")
    slow_token, _ = await live.sign_up("slow@example.com")
    hub = live.runtime.ws_hub
    hub.write_timeout = 1.0
    metadata = {"blob": "x" * 8000}
    total = 1500
    async with (
        ws_client(live, fast_token) as fast,
        ws_client(live, slow_token, max_queue=1, max_size=2**20) as slow,
    ):
        (fast_server_side,) = hub._by_user[uuid.UUID(fast_user)]
        received = 0

        async def read_fast() -> None:
            nonlocal received
            while received < total:
                message = await receive(fast)
                assert message["type"] == "system_status"
                received += 1

        reader = asyncio.create_task(read_fast())
        # The slow client never reads: its socket fills, then its 256-message buffer. The
        # producer goes at the pace the fast client sustains.
        for i in range(total):
            message = {"type": "system_status", "timestamp": "t",
                       "data": {"status": str(i), "metadata": metadata}}  # fmt: skip
            await hub.deliver(None, message)
            for _ in range(10_000):
                if fast_server_side.queue.qsize() <= 64:
                    break
                await asyncio.sleep(0.001)
        await asyncio.wait_for(reader, 30)
        assert received == total
        assert hub.dropped_slow == 1 and not fast_server_side.dropped
        assert hub.client_count() == 1
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await asyncio.wait_for(slow.recv(), TIMEOUT)


async def test_many_clients_and_the_pong_deadline(live: LiveServer, redis: Redis) -> None:
    token, _ = await live.sign_up("crowd@example.com")
    hub = live.runtime.ws_hub
    async with contextlib.AsyncExitStack() as stack:
        crowd = [await stack.enter_async_context(ws_client(live, token)) for _ in range(30)]
        await publish(redis, "system_status", {"status": "trading_stopped", "message": "m"})
        for connection in crowd:
            assert (await receive(connection))["data"]["status"] == "trading_stopped"

    hub.ping_interval, hub.pong_timeout, hub.write_timeout = 0.2, 0.5, 2.0
    async with ws_client(live, token) as silent:
        # Taking part in ping/pong once, then never answering: closed after the deadline.
        await silent.send(orjson.dumps({"type": "pong", "timestamp": "t", "data": {}}).decode())
        with pytest.raises(websockets.ConnectionClosed):
            async with asyncio.timeout(15):
                while True:
                    message = orjson.loads(await silent.recv())
                    assert message["type"] == "ping"
    assert hub.client_count() == 0
