"""A production-shaped deployment on one machine: API processes (`ordex serve`, no workers), matcher
processes and a worker process (`ordex worker ...`), all on a Redis Cluster and one PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ordex.embedded import free_port
from ordex.redis_client import RedisClient
from ordex.streams import matcher_lease_key

MARKETS = ("BTC-PERP", "ETH-PERP", "BTC-USDC", "ETH-USDC")
PASSWORD = "long-password"
ORDEX = str(Path(sys.executable).parent / "ordex")
_emails = itertools.count(1)


@dataclass
class Deployment:
    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    api_urls: list[str] = field(default_factory=list)

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [ORDEX, *args],
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def start_api(self, name: str) -> str:
        port = free_port()
        home = self.logs / f"home-{name}"
        self.start(name, "serve", "--port", str(port), ORDEX_HOME=str(home))
        url = f"http://127.0.0.1:{port}"
        self.api_urls.append(url)
        return url

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self, *names: str) -> None:
        chosen = [self.procs[n] for n in names] if names else list(self.procs.values())
        for proc in chosen:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in chosen:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    async def wait_healthy(self, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2.0) as client:
            for url in self.api_urls:
                while True:
                    for name, proc in self.procs.items():
                        assert proc.poll() is None, f"{name} exited; see {self.logs / name}.log"
                    try:
                        if (await client.get(f"{url}/health")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert time.monotonic() < deadline, f"{url} did not become healthy"
                    await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Trader:
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(client: httpx.AsyncClient, deposits: dict[str, str]) -> Trader:
    email = f"scaleout{next(_emails)}@example.com"
    registered = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    logged_in = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    client.cookies.clear()
    trader = Trader(logged_in.json()["token"])
    for asset, amount in deposits.items():
        response = await client.post(
            "/deposits", json={"asset": asset, "amount": amount}, headers=trader.headers
        )
        assert response.status_code == 200, response.text
    return trader


def random_order(rng: random.Random) -> dict[str, object]:
    market = rng.choice(MARKETS)
    return {
        "marketId": market,
        "side": rng.choice(("BUY", "SELL")),
        "type": "LIMIT",
        "quantity": str(rng.randint(1, 20) / 10),
        "price": str(rng.randint(95, 105)),
        "timeInForce": "IOC" if rng.random() < 0.15 else "GTC",
        **({"leverage": 5} if market.endswith("PERP") else {}),
    }


async def burst(
    api_urls: list[str],
    traders: list[Trader],
    count: int,
    *,
    seed: int,
    concurrency: int = 8,
    halfway: tuple[int, asyncio.Event] | None = None,
) -> Counter[int]:
    """`count` orders spread over every API process; the status codes answered. `halfway`:
    an event set once that many orders are answered."""
    statuses: Counter[int] = Counter()
    clients = [httpx.AsyncClient(base_url=url, timeout=30.0) for url in api_urls]
    sent = itertools.count()

    async def producer(index: int) -> None:
        rng = random.Random(seed + index)
        while next(sent) < count:
            client = clients[rng.randrange(len(clients))]
            trader = traders[rng.randrange(len(traders))]
            try:
                response = await client.post(
                    "/orders", json=random_order(rng), headers=trader.headers
                )
                statuses[response.status_code] += 1
            except httpx.HTTPError:
                statuses[0] += 1
            if halfway is not None and statuses.total() >= halfway[0]:
                halfway[1].set()

    try:
        await asyncio.gather(*(producer(i) for i in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    return statuses


async def lease_holders(redis: RedisClient, markets: tuple[str, ...] = MARKETS) -> dict[str, int]:
    """Each market's matcher lease: the pid of the process that holds it (0: none)."""
    holders: dict[str, int] = {}
    for market in markets:
        owner = await redis.get(matcher_lease_key(market))
        # `host:pid:random/lease id` (matcher_share.py)
        holders[market] = int(owner.decode().split(":")[1]) if owner else 0
    return holders


async def wait_for(what: str, check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Polls the async `check` until it is true; the seconds it took."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < within, f"{what}: not within {within} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def base_env(database_url: str, redis_url: str, lease_ms: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": "scale-out-test-secret-" + "x" * 32,
        "ORDEX_SECRET_KEY": "0" * 64,
        "ORDEX_DEVCHAIN": "0",
        "REGISTRATION_MODE": "open",
        "ORDEX_LEASE_MS": str(lease_ms),
        "ORDEX_SNAPSHOT_EVERY": "2000",
        # Commands count as published once a replica holds them (docs/scale-out.md).
        "ORDEX_REDIS_WAIT_REPLICAS": "1",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "ACCESS_LOG": "false",
        "LOG_LEVEL": "warning",
    }
