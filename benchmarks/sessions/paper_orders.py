"""`POST /api/v1/orders` on the paper venue under wrk, next to the exchange's root `POST /orders`
measured the same way in the same run.

`ordex serve` runs for real (granian, one API worker, loopback, ORDEX_RUN_WORKERS=0 as in
`benchmarks/exchange/http_vs_pgbench.py`) against this benchmark's own embedded PostgreSQL and
Redis, with ccxt's binance pointed (ORDEX_CCXT_BASE_URLS) at the local exchange-speaking server of
the tests, run in this process. Every user registers, deposits USDC and starts a PAPER session on
binance's BTC/USDT through the API. Then, with the same connections and duration:

- paper: wrk sends market buys of 0.001 BTC with the user's `session_id`, cycling through the
  users. Each is matched through the Rust engine against the exchange's book (fetched with ccxt,
  at most `ORDEX_PAPER_BOOK_MAX_AGE_MS` old: 250 ms, the default), then its order, fill, balances
  and position messages are written in one transaction;
- root: wrk sends the non-crossing limit buys of `http_vs_pgbench` to `POST /orders` (the
  exchange's intake: hold, order and outbox row in one transaction, batched across requests).

The ratio is paper orders per second over root orders per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
from tests.marketdata.fake_binance import start_fake_binance

from benchmarks.exchange.http_vs_pgbench import ORDER as ROOT_ORDER
from benchmarks.exchange.http_vs_pgbench import start_api, wait_for_api
from benchmarks.exchange.servers import embedded_servers, row
from ordex.embedded import free_port

FULL_SECONDS, QUICK_SECONDS = 15, 3
CONNECTIONS = 16
USERS = 32
PAPER_ORDER = {"symbol": "BTC/USDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}

WRK_SCRIPT = """
local tokens = {%(tokens)s}
local bodies = {%(bodies)s}
local path = '%(path)s'
local counter = 0
local offset = 0
local thread_count = 0

function setup(thread)
  thread:set("offset", thread_count * 7)
  thread_count = thread_count + 1
end

function request()
  counter = counter + 1
  local index = ((counter + offset) %% #tokens) + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[index],
  }, bodies[index])
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "errors_status": %%d, "errors_other": %%d,'
    .. ' "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


async def prepare_users(base: str, count: int) -> list[tuple[str, str]]:
    """(bearer token, paper session id) of `count` users, each also funded on the exchange; one
    order of each kind first, so accounts exist and statements are prepared before the clock."""
    users: list[tuple[str, str]] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(count):
            credentials = {"email": f"paper{i}@bench.example", "password": "bench-password"}
            registered = await client.post("/auth/register", json=credentials)
            assert registered.status_code == 201, registered.text
            reply = await client.post("/auth/login", json=credentials)
            assert reply.status_code == 200, reply.text
            token = reply.json()["token"]
            client.cookies.clear()
            headers = {"Authorization": f"Bearer {token}"}
            funded = await client.post(
                "/deposits", json={"asset": "USDC", "amount": "100000000"}, headers=headers
            )
            assert funded.status_code == 200, funded.text
            started = await client.post(
                "/api/v1/trade/start",
                json={"symbol": "BTC/USDT", "initial_capital": "1000000000", "mode": "PAPER"},
                headers=headers,
            )
            assert started.status_code == 200, started.text
            session_id = started.json()["session_id"]
            paper = await client.post(
                "/api/v1/orders", json={**PAPER_ORDER, "session_id": session_id}, headers=headers
            )
            assert paper.status_code == 201, paper.text
            root = await client.post("/orders", json=ROOT_ORDER, headers=headers)
            assert root.status_code == 202, root.text
            users.append((token, session_id))
    return users


def run_wrk(
    base: str, path: str, tokens: list[str], bodies: list[str], seconds: int, work: Path
) -> dict[str, Any]:
    script = work / f"{path.strip('/').replace('/', '_')}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "tokens": ", ".join(f'"{t}"' for t in tokens),
            "bodies": ", ".join(f"'{b}'" for b in bodies),
            "path": path,
        }
    )
    result = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("WRKJSON "))
    stats: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    stats["rate"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats


async def measure(quick: bool) -> list[dict[str, Any]]:
    seconds = QUICK_SECONDS if quick else FULL_SECONDS
    count = 8 if quick else USERS
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    exchange, runner = await start_fake_binance()
    try:
        with embedded_servers("sessions") as servers:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            api = start_api(
                servers, port, ORDEX_CCXT_BASE_URLS=json.dumps({"binance": exchange.url})
            )
            try:
                await wait_for_api(base, api)
                users = await prepare_users(base, count)
                tokens = [token for token, _ in users]
                book_fetches = exchange.requests.count("/api/v3/depth")
                paper = await asyncio.to_thread(
                    run_wrk, base, "/api/v1/orders", tokens,
                    [json.dumps({**PAPER_ORDER, "session_id": s}) for _, s in users],
                    seconds, servers.home,
                )  # fmt: skip
                book_fetches = exchange.requests.count("/api/v3/depth") - book_fetches
                root = await asyncio.to_thread(
                    run_wrk, base, "/orders", tokens, [json.dumps(ROOT_ORDER)] * len(tokens),
                    seconds, servers.home,
                )  # fmt: skip
            finally:
                api.send_signal(signal.SIGTERM)
                try:
                    api.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    api.kill()
                    api.wait()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(api.pid, signal.SIGKILL)
    finally:
        await runner.cleanup()
    ratio = paper["rate"] / root["rate"]
    common = {"connections": CONNECTIONS, "seconds": seconds, "users": count}

    def failed(stats: dict[str, Any]) -> int:
        return int(stats["errors_status"] + stats["errors_other"])

    return [
        row(
            "paper POST /api/v1/orders (wrk)",
            paper["rate"],
            "orders/s",
            "(measured)",
            failed(paper) == 0,
            ratio,
            p50_ms=paper["p50_us"] / 1000,
            p99_ms=paper["p99_us"] / 1000,
            failed=failed(paper),
            book_fetches=book_fetches,
            **common,
        ),
        row("paper POST /api/v1/orders p50", paper["p50_us"] / 1000, "ms", "(reported)", None),
        row("paper POST /api/v1/orders p99", paper["p99_us"] / 1000, "ms", "(reported)", None),
        row(
            "root POST /orders (wrk, same run)",
            root["rate"],
            "orders/s",
            "(peer)",
            failed(root) == 0,
            p50_ms=root["p50_us"] / 1000,
            p99_ms=root["p99_us"] / 1000,
            failed=failed(root),
            **common,
        ),
        row("root POST /orders p50", root["p50_us"] / 1000, "ms", "(reported)", None),
        row("root POST /orders p99", root["p99_us"] / 1000, "ms", "(reported)", None),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))
