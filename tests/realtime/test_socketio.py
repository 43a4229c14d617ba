"""Socket.IO with the python-socketio client against the served app: authenticate, subscribe to
ccxt exchanges and ordex's own markets, data, unsubscribe, shared upstreams, state:changed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import socketio  # type: ignore[import-untyped]
from redis.asyncio import Redis

from ordex.config import Settings
from ordex.streams import events_stream
from tests.marketdata.fake_binance import API_KEY, SECRET, FakeBinance
from tests.realtime.conftest import LiveServer

BINANCE = {"exchangeId": "binance", "marketType": "spot", "ccxtType": "regular"}
TIMEOUT = 5.0


class Recorder:
    """A connected client and the events it received, by name."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.events: dict[str, asyncio.Queue[Any]] = {}
        for name in ("authenticated", "unauthorized", "subscribed", "unsubscribed", "data",
                     "error", "state:changed"):  # fmt: skip
            queue: asyncio.Queue[Any] = asyncio.Queue()
            self.events[name] = queue
            client.on(name, queue.put)

    async def next(self, name: str) -> Any:
        return await asyncio.wait_for(self.events[name].get(), TIMEOUT)

    async def emit(self, name: str, payload: Any) -> None:
        await self.client.emit(name, payload)

    async def authenticate(self, token: str) -> Any:
        await self.emit("authenticate", {"token": token})
        return await self.next("authenticated")


@asynccontextmanager
async def connected(live: LiveServer) -> AsyncIterator[Recorder]:
    client = socketio.AsyncClient(reconnection=False)
    recorder = Recorder(client)
    await client.connect(live.url, transports=["websocket"], socketio_path="socket.io")
    try:
        yield recorder
    finally:
        await client.disconnect()


async def wait_until(predicate: Any) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def test_authentication_is_required_and_checked(live: LiveServer) -> None:
    async with connected(live) as sio:
        await sio.emit("subscribe", {"config": BINANCE, "symbol": "BTC/USDT", "dataType": "ticker"})
        refused = await sio.next("error")
        assert refused["code"] == "UNAUTHENTICATED"

        await sio.emit("authenticate", {"token": "not-a-token"})
        assert (await sio.next("unauthorized"))["code"] == "UNAUTHENTICATED"

        token, user_id = await live.sign_up("sio@example.com")
        assert (await sio.authenticate(token)) == {"userId": user_id}


async def test_subscribe_receive_unsubscribe_ccxt_ticker(
    live: LiveServer, fake_binance: FakeBinance
) -> None:
    token, _ = await live.sign_up("ticker@example.com")
    async with connected(live) as sio:
        await sio.authenticate(token)
        await sio.emit(
            "subscribe",
            {
                "exchangeId": "binance",
                "symbol": "BTC/USDT",
                "dataType": "ticker",
                "config": BINANCE,
            },
        )
        subscribed = await sio.next("subscribed")
        assert subscribed["subscriptionId"] == "binance:spot:BTC/USDT:ticker"
        first = await sio.next("data")
        assert first["dataType"] == "ticker" and first["exchangeId"] == "binance"
        assert first["data"]["last"] == 42150.5
        await sio.next("data")  # polled again

        hub = live.runtime.feeds()
        assert hub.upstream_count() == 1
        await sio.emit("unsubscribe", {"subscriptionId": subscribed["subscriptionId"]})
        assert (await sio.next("unsubscribed"))["found"] is True
        assert hub.upstream_count() == 0 and hub.feed_count() == 0
        polled = fake_binance.requests.count("/api/v3/ticker/24hr")
        await asyncio.sleep(0.3)
        assert fake_binance.requests.count("/api/v3/ticker/24hr") == polled  # no leaked loop


async def test_one_upstream_per_feed_closed_when_the_last_subscriber_leaves(
    live: LiveServer,
) -> None:
    token, _ = await live.sign_up("shared@example.com")
    subscribe = {"symbol": "ETH/USDT", "dataType": "trades", "config": BINANCE}
    hub = live.runtime.feeds()
    async with connected(live) as first, connected(live) as second:
        for sio in (first, second):
            await sio.authenticate(token)
            await sio.emit("subscribe", subscribe)
            await sio.next("subscribed")
        assert hub.feed_count() == 1 and hub.upstream_count() == 1
        for sio in (first, second):
            trades = (await sio.next("data"))["data"]
            assert trades[0]["symbol"] == "ETH/USDT"
        await first.client.disconnect()
        await wait_until(lambda: len(next(iter(hub._feeds.values())).members) == 1)
        assert hub.upstream_count() == 1
    await wait_until(lambda: hub.upstream_count() == 0)
    assert hub.feed_count() == 0


async def test_bad_subscriptions_answer_error(live: LiveServer) -> None:
    token, _ = await live.sign_up("bad@example.com")
    async with connected(live) as sio:
        await sio.authenticate(token)
        cases = [
            ({"symbol": "NOPE/USDT", "dataType": "ticker", "config": BINANCE}, "BAD_SYMBOL"),
            ({"symbol": "BTC/USDT", "dataType": "candles", "config": BINANCE}, "NOT_SUPPORTED"),
            ({"dataType": "balance", "config": BINANCE}, "NO_API_KEYS"),
            ({"symbol": "BTC/USDT", "dataType": "ticker", "config": {"exchangeId": "nope"}},
             "UNKNOWN_EXCHANGE"),
            ({"symbol": "DOGE/USDC", "dataType": "trades", "config": {"exchangeId": "ordex"}},
             "BAD_SYMBOL"),
        ]  # fmt: skip
        for payload, code in cases:
            await sio.emit("subscribe", payload)
            assert (await sio.next("error"))["code"] == code, payload
        assert live.runtime.feeds().upstream_count() == 0


async def test_ordex_trades_and_book_from_engine_events(
    live: LiveServer, settings: Settings
) -> None:
    token, _ = await live.sign_up("ordex@example.com")
    ordex = {"exchangeId": "ordex"}
    async with connected(live) as sio:
        await sio.authenticate(token)
        await sio.emit("subscribe", {"symbol": "BTC/USDC", "dataType": "trades", "config": ordex})
        await sio.next("subscribed")
        assert (await sio.next("data"))["data"] == []  # no trades yet
        await sio.emit(
            "subscribe", {"symbol": "BTC-USDC", "dataType": "orderbook", "config": ordex}
        )
        await sio.next("subscribed")
        assert (await sio.next("data"))["data"]["bids"] == []

        assert settings.redis_url is not None
        redis = Redis.from_url(settings.redis_url)
        events = [
            {"seq": 7, "type": "book_delta", "market": "BTC-USDC", "side": "BUY",
             "price": "64990", "qty": "0.5", "orders": 1},
            {"seq": 8, "type": "trade", "market": "BTC-USDC", "taker_order_id": 2,
             "taker_account": 8, "maker_order_id": 1, "maker_account": 7, "taker_side": "SELL",
             "price": "65000", "qty": "0.1", "taker_fee": "3.25", "maker_fee": "1.3"},
        ]  # fmt: skip
        try:
            for event in events:
                await redis.xadd(events_stream("BTC-USDC"), {"payload": orjson.dumps(event)})
        finally:
            await redis.aclose()
        received = [await sio.next("data"), await sio.next("data")]
        by_type = {m["dataType"]: m["data"] for m in received}
        assert by_type["orderbook"]["bids"] == [[64990.0, 0.5]]
        assert by_type["trades"][0]["price"] == 65000.0
        assert by_type["trades"][0]["side"] == "sell" and by_type["trades"][0]["id"] == "8"


async def test_state_changed_reaches_the_users_sockets(live: LiveServer) -> None:
    token, user_id = await live.sign_up("state@example.com")
    other_token, _ = await live.sign_up("other@example.com")
    async with connected(live) as mine, connected(live) as theirs:
        await mine.authenticate(token)
        await theirs.authenticate(other_token)
        await asyncio.sleep(0.2)  # the state relay subscribes
        response = await live.http.post(
            "/api/dashboards",
            json={"title": "Live"},
            headers={"Authorization": f"Bearer {token}", "X-Client-Id": "tab-1"},
        )
        assert response.status_code == 201, response.text
        event = await mine.next("state:changed")
        assert event["userId"] == user_id and event["domain"] == "dashboard"
        assert event["action"] == "created" and event["origin"] == "tab-1"
        assert theirs.events["state:changed"].empty()


async def test_many_clients_get_one_event(live: LiveServer, settings: Settings) -> None:
    token, _ = await live.sign_up("many@example.com")
    clients = 40
    subscribe = {"symbol": "ETH/USDC", "dataType": "trades", "config": {"exchangeId": "ordex"}}
    recorders: list[Recorder] = []
    try:
        for _ in range(clients):
            client = socketio.AsyncClient(reconnection=False)
            recorder = Recorder(client)
            await client.connect(live.url, transports=["websocket"])
            recorders.append(recorder)
            await recorder.authenticate(token)
            await recorder.emit("subscribe", subscribe)
            await recorder.next("subscribed")
            await recorder.next("data")
        assert live.runtime.feeds().feed_count() == 1
        assert settings.redis_url is not None
        redis = Redis.from_url(settings.redis_url)
        trade = {"seq": 1, "type": "trade", "market": "ETH-USDC", "taker_order_id": 2,
                 "taker_account": 8, "maker_order_id": 1, "maker_account": 7,
                 "taker_side": "BUY", "price": "3000", "qty": "1", "taker_fee": "0",
                 "maker_fee": "0"}  # fmt: skip
        try:
            await redis.xadd(events_stream("ETH-USDC"), {"payload": orjson.dumps(trade)})
        finally:
            await redis.aclose()
        for recorder in recorders:
            message = await recorder.next("data")
            assert message["data"][0]["price"] == 3000.0
    finally:
        await asyncio.gather(*(r.client.disconnect() for r in recorders))
    await wait_until(lambda: live.runtime.feeds().feed_count() == 0)


async def test_ccxt_pro_feed_streams_from_the_exchange_websocket(
    live: LiveServer, fake_binance: FakeBinance
) -> None:
    token, _ = await live.sign_up("pro@example.com")
    pro = {**BINANCE, "ccxtType": "pro"}
    hub = live.runtime.feeds()
    async with connected(live) as first, connected(live) as second:
        for sio in (first, second):
            await sio.authenticate(token)
            await sio.emit("subscribe", {"symbol": "BTC/USDT", "dataType": "trades", "config": pro})
            subscribed = await sio.next("subscribed")
        ids = set()
        for _ in range(3):
            message = await first.next("data")
            ids.add(message["data"][-1]["id"])
        assert len(ids) == 3  # new trades from the stream, not a repeated poll
        assert fake_binance.stream_connections == 1 and hub.upstream_count() == 1
        assert fake_binance.subscribed_streams == {"btcusdt@trade"}
        for sio in (first, second):
            await sio.emit("unsubscribe", {"subscriptionId": subscribed["subscriptionId"]})
            await sio.next("unsubscribed")
        assert hub.upstream_count() == 0
        await wait_until(lambda: not fake_binance.subscribed_streams)


async def test_ohlcv_and_balance_feeds(live: LiveServer, fake_binance: FakeBinance) -> None:
    token, _ = await live.sign_up("feeds@example.com")
    created = await live.http.post(
        "/api/accounts",
        json={"exchange": "binance", "apiKey": API_KEY, "secret": SECRET},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text
    async with connected(live) as sio:
        await sio.authenticate(token)
        await sio.emit(
            "subscribe",
            {"symbol": "BTC/USDT", "dataType": "ohlcv", "timeframe": "1m", "config": BINANCE},
        )
        assert (await sio.next("subscribed"))["subscriptionId"] == "binance:spot:BTC/USDT:ohlcv:1m"
        candles = (await sio.next("data"))["data"]
        assert len(candles[0]) == 6
        await sio.emit("subscribe", {"dataType": "balance", "config": BINANCE})
        await sio.next("subscribed")
        while (message := await sio.next("data"))["dataType"] != "balance":
            pass
        assert message["data"]["BTC"] == {"free": 1.25, "used": 0.25, "total": 1.5}
        assert "/api/v3/account" in fake_binance.requests


async def test_any_process_can_emit_to_a_users_room_through_redis(
    live: LiveServer, settings: Settings
) -> None:
    """Redis is the client manager's queue: another process's emit reaches this one's sockets."""
    token, user_id = await live.sign_up("queue@example.com")
    async with connected(live) as sio:
        await sio.authenticate(token)
        await asyncio.sleep(0.3)  # this process's manager has subscribed to the queue
        other_process = socketio.AsyncRedisManager(settings.redis_url, write_only=True)
        await other_process.emit(
            "state:changed", {"type": "state:changed", "userId": user_id}, room=f"user:{user_id}"
        )
        assert (await sio.next("state:changed"))["userId"] == user_id


async def test_the_auth_token_cookie_signs_in_a_same_origin_connection(live: LiveServer) -> None:
    token, user_id = await live.sign_up("cookie@example.com")
    host = live.url.removeprefix("http://")
    same_origin = {"Cookie": f"auth_token={token}", "Origin": live.url, "Host": host}
    client = socketio.AsyncClient(reconnection=False)
    sio = Recorder(client)
    await client.connect(
        live.url, headers=same_origin, transports=["websocket"], socketio_path="socket.io"
    )
    try:
        assert (await sio.next("authenticated")) == {"userId": user_id}
        await sio.emit("subscribe", {"config": BINANCE, "symbol": "BTC/USDT", "dataType": "ticker"})
        assert (await sio.next("subscribed"))["subscriptionId"] == "binance:spot:BTC/USDT:ticker"
    finally:
        await client.disconnect()

    # Another site's page cannot ride on the cookie; a bad cookie signs nobody in.
    for headers in (
        {"Cookie": f"auth_token={token}", "Origin": "http://elsewhere.example"},
        {"Cookie": "auth_token=not-a-token"},
    ):
        client = socketio.AsyncClient(reconnection=False)
        sio = Recorder(client)
        await client.connect(
            live.url, headers=headers, transports=["websocket"], socketio_path="socket.io"
        )
        try:
            await sio.emit(
                "subscribe", {"config": BINANCE, "symbol": "BTC/USDT", "dataType": "ticker"}
            )
            assert (await sio.next("error"))["code"] == "UNAUTHENTICATED"
            assert sio.events["authenticated"].empty()
        finally:
            await client.disconnect()
