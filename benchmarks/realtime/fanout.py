"""Live fan-out to many clients on loopback: Socket.IO (`subscribe` to ordex's BTC-USDC trades) and
the WebSocket `/api/v1/ws` (the `trade` and `order_update` messages of one user's order, every
client signed in as that user).

The API runs as `ordex serve` (one granian worker) on embedded PostgreSQL and Redis. The clients
(python-socketio's client, `websockets`) run in several processes so that reading them is not the
bottleneck of one Python process. Trade events are appended to `engine.events.{BTC-USDC}` exactly
as the matcher appends them, so the path measured is the API's: its event reader, the fan-out,
the encoding and the sockets.

- throughput: a burst of trade events appended at once; messages per second = every client's
  messages of the burst / (last arrival - first append);
- latency: trade events appended one by one at a steady rate; for each (client, trade), arrival
  time - the moment the event was appended (wall clock, one machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from redis.asyncio import Redis

from benchmarks.exchange.servers import BIN_DIR, Servers, embedded_servers, percentile, row
from ordex.streams import events_stream

MARKET = "BTC-USDC"
# A burst stays under the WebSocket's 256-message send buffer (two messages per trade), so what
# is measured is delivery, not the dropping of clients that fall behind a larger one.
FULL = {"clients": 1000, "processes": 4, "burst": 100, "rate": 10, "seconds": 6.0}
QUICK = {"clients": 50, "processes": 2, "burst": 20, "rate": 10, "seconds": 1.0}
ORDER_ID = 1_000_000
MESSAGE_MARK = -2
CLOSED_MARK = -3
TARGET_LATENCY_P99_MS = 100.0


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ----- client processes ---------------------------------------------------------------------


def _seqs_socketio(payload: dict[str, Any]) -> list[int]:
    return [int(t["info"]["seq"]) for t in payload.get("data") or []]


def _seq_ws(message: dict[str, Any]) -> int | None:
    if message.get("type") == "trade":
        return int(message["data"]["trade_id"].split("-")[-2])
    return None


async def _socketio_clients(
    url: str, token: str, count: int, arrivals: list[tuple[int, float]], ready: asyncio.Event
) -> list[Any]:
    import socketio  # type: ignore[import-untyped]

    clients: list[Any] = []

    for _ in range(count):
        client = socketio.AsyncClient(reconnection=False)
        got_subscribed = asyncio.Event()

        async def on_data(payload: dict[str, Any]) -> None:
            now = time.time()
            arrivals.append((MESSAGE_MARK, now))  # one data message may carry several trades
            for seq in _seqs_socketio(payload):
                arrivals.append((seq, now))

        client.on("data", on_data)
        client.on("subscribed", lambda _payload, event=got_subscribed: event.set())
        client.on("error", lambda payload: print("socket.io error", payload, file=sys.stderr))
        client.on("unauthorized", lambda p: print("socket.io unauthorized", p, file=sys.stderr))
        await client.connect(url, transports=["websocket"])
        authenticated = asyncio.Event()
        client.on("authenticated", lambda _payload, event=authenticated: event.set())
        await client.emit("authenticate", {"token": token})
        await asyncio.wait_for(authenticated.wait(), 30)
        await client.emit(
            "subscribe",
            {"symbol": "BTC/USDC", "dataType": "trades", "config": {"exchangeId": "ordex"}},
        )
        await asyncio.wait_for(got_subscribed.wait(), 30)
        clients.append(client)
    ready.set()
    return clients


async def _ws_clients(
    url: str, token: str, count: int, arrivals: list[tuple[int, float]], ready: asyncio.Event
) -> list[asyncio.Task[None]]:
    import websockets

    async def read(connection: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in connection:
                now = time.time()
                seq = _seq_ws(orjson.loads(raw))
                arrivals.append((seq if seq is not None else -1, now))
        arrivals.append((CLOSED_MARK, time.time()))  # the server dropped this client

    tasks = []
    for _ in range(count):
        connection = await websockets.connect(
            f"{url.replace('http://', 'ws://')}/api/v1/ws?token={token}", max_queue=None
        )
        tasks.append(asyncio.create_task(read(connection)))
    ready.set()
    return tasks


def client_process(
    kind: str, url: str, token: str, count: int, ready: Any, stop: Any, results: Any
) -> None:
    async def main() -> None:
        arrivals: list[tuple[int, float]] = []
        connected = asyncio.Event()
        if kind == "socketio":
            handles: list[Any] = await _socketio_clients(url, token, count, arrivals, connected)
        else:
            handles = await _ws_clients(url, token, count, arrivals, connected)
        ready.set()
        # `stop` is a multiprocessing event: waited for in a thread, not on the loop.
        await asyncio.to_thread(stop.wait)
        results.put(arrivals)
        if kind == "socketio":
            await asyncio.gather(*(c.disconnect() for c in handles), return_exceptions=True)
        else:
            for task in handles:
                task.cancel()

    asyncio.run(main())


# ----- the measurement ------------------------------------------------------------------------


class ApiProcess:
    def __init__(self, servers: Servers, port: int) -> None:
        self._servers, self._port = servers, port
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ApiProcess:
        log = (self._servers.home / "api.log").open("ab")
        self.proc = subprocess.Popen(
            [str(BIN_DIR / "ordex"), "serve", "--port", str(self._port), "--workers", "1"],
            env=self._servers.env(REGISTRATION_MODE="open"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def _wait_for_api(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/health")).status_code < 500:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError("API did not start")


def _trade(seq: int, account: int) -> bytes:
    return orjson.dumps(
        {
            "seq": seq,
            "type": "trade",
            "market": MARKET,
            "taker_order_id": ORDER_ID,
            "taker_account": account,
            "maker_order_id": ORDER_ID + seq,
            "maker_account": 1,
            "taker_side": "BUY",
            "price": "65000",
            "qty": "0.001",
            "taker_fee": "0.03",
            "maker_fee": "0.01",
        }
    )


async def _prepare(servers: Servers, url: str) -> tuple[str, int]:
    """A user (token) with a trading account holding one large resting order."""
    async with httpx.AsyncClient(base_url=url) as http:
        email = f"bench-{uuid.uuid4().hex[:8]}@bench.example"
        response = await http.post(
            "/api/auth/register", json={"email": email, "password": "benchpassword1"}
        )
        response.raise_for_status()
        body = response.json()
    conn = await asyncpg.connect(servers.database_url)
    try:
        account: int = await conn.fetchval(
            "INSERT INTO trading_accounts (user_id) VALUES ($1) RETURNING id",
            uuid.UUID(body["user"]["id"]),
        )
    finally:
        await conn.close()
    return body["accessToken"], account


async def _drive(
    kind: str, servers: Servers, url: str, sizes: dict[str, Any]
) -> list[dict[str, Any]]:
    token, account = await _prepare(servers, url)
    redis = Redis.from_url(servers.redis_url)
    stream = events_stream(MARKET)
    seq = int(await redis.xlen(stream)) + 1_000
    accepted = {"seq": seq, "type": "accepted", "market": MARKET, "order_id": ORDER_ID,
                "account": account, "side": "BUY", "order_type": "LIMIT", "price": "65000",
                "qty": "1000000"}  # fmt: skip
    ctx = mp.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    per_process = sizes["clients"] // sizes["processes"]
    readies, procs = [], []
    for _ in range(sizes["processes"]):
        ready = ctx.Event()
        proc = ctx.Process(
            target=client_process, args=(kind, url, token, per_process, ready, stop, results)
        )
        proc.start()
        readies.append(ready)
        procs.append(proc)
    clients = per_process * sizes["processes"]
    try:
        for ready in readies:
            await asyncio.to_thread(ready.wait, 300)
        await asyncio.sleep(1.0)
        await redis.xadd(stream, {"payload": orjson.dumps(accepted)})
        await asyncio.sleep(0.5)

        # Latency: a steady rate.
        appended: dict[int, float] = {}
        steady_first = seq + 1
        count = int(sizes["rate"] * sizes["seconds"])
        for i in range(count):
            await redis.xadd(stream, {"payload": _trade(steady_first + i, account)})
            appended[steady_first + i] = time.time()
            await asyncio.sleep(1 / sizes["rate"])
        # Throughput: one burst.
        await asyncio.sleep(2.0)
        burst_first = steady_first + count
        async with redis.pipeline(transaction=False) as pipe:
            for i in range(sizes["burst"]):
                pipe.xadd(stream, {"payload": _trade(burst_first + i, account)})
            burst_started = time.time()
            await pipe.execute()
        await asyncio.sleep(5.0 + sizes["burst"] * clients / 100_000)

        await asyncio.sleep(2.0)
    finally:
        stop.set()
        arrivals: list[tuple[int, float]] = []
        for _ in procs:
            with contextlib.suppress(Exception):
                arrivals.extend(results.get(timeout=60))
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
        await redis.aclose()

    burst_seqs = range(burst_first, burst_first + sizes["burst"])
    burst_arrivals = [t for s, t in arrivals if s in burst_seqs]
    burst_end = max(burst_arrivals) if burst_arrivals else burst_started
    if kind == "ws":
        # Every trade gives each client a `trade` and an `order_update` message.
        burst_messages = len(burst_arrivals) * 2
        expected = sizes["burst"] * clients * 2
    else:
        burst_messages = sum(
            1 for s, t in arrivals if s == MESSAGE_MARK and burst_started <= t <= burst_end
        )
        expected = sizes["burst"] * clients  # at most: trades of one read share a message
    burst_seconds = burst_end - burst_started if burst_arrivals else float("nan")
    latencies = sorted((t - appended[s]) * 1000 for s, t in arrivals if s in appended)
    name = "Socket.IO" if kind == "socketio" else "WebSocket"
    rate = burst_messages / burst_seconds if burst_arrivals else float("nan")
    trade_rate = len(burst_arrivals) / burst_seconds if burst_arrivals else float("nan")
    steady = [t for s, t in arrivals if s in appended]
    steady_messages = len(steady) * (2 if kind == "ws" else 1)
    steady_seconds = (max(steady) - min(appended.values())) if steady else float("nan")
    p50 = percentile(latencies, 50) if latencies else float("nan")
    p99 = percentile(latencies, 99) if latencies else float("nan")
    delivered = len(latencies) / (count * clients) if count else 0.0
    return [
        row(
            f"{name} fan-out to {clients} clients",
            rate,
            "msg/s",
            "report",
            None,
            burst_trades=sizes["burst"],
            messages_received=burst_messages,
            messages_at_most=expected,
            trades_received=len(burst_arrivals),
            trades_per_second=round(trade_rate),
            clients_dropped=sum(1 for s, _ in arrivals if s == CLOSED_MARK),
            seconds=round(burst_seconds, 3),
        ),
        row(
            f"{name} engine trade -> client p50 ({clients} clients, {sizes['rate']}/s)",
            p50,
            "ms",
            "report",
            None,
        ),
        row(
            f"{name} engine trade -> client p99 ({clients} clients, {sizes['rate']}/s)",
            p99,
            "ms",
            f"< {TARGET_LATENCY_P99_MS:g} ms",
            p99 < TARGET_LATENCY_P99_MS and delivered == 1.0,
            delivered_fraction=delivered,
            samples=len(latencies),
            steady_messages_per_second=round(steady_messages / steady_seconds) if steady else 0,
        ),
    ]


async def measure(quick: bool) -> list[dict[str, Any]]:
    sizes = QUICK if quick else FULL
    rows: list[dict[str, Any]] = []
    with embedded_servers("realtime") as servers:
        (servers.home / "ordex-home").mkdir(exist_ok=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with ApiProcess(servers, port):
            await _wait_for_api(url)
            for kind in ("socketio", "ws"):
                rows.extend(await _drive(kind, servers, url, sizes))
    return rows


def run(quick: bool) -> list[dict[str, Any]]:
    # Client processes are spawned: they import this module fresh, not the parent's state.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    return asyncio.run(measure(quick))
