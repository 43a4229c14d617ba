"""HTTP `POST /orders` under wrk, next to pgbench running the same transaction on the same
PostgreSQL, with the same number of client connections.

`ordex serve` runs for real (granian, one API worker process as `ordex serve` defaults to, or
BENCH_API_WORKERS of them; loopback) with DATABASE_URL and REDIS_URL pointing at this
benchmark's servers, so it starts none, and ORDEX_RUN_WORKERS=0: only the intake path is measured
(the outbox fills up, nothing consumes it). On 2 shared cores two API workers measured within the
run-to-run noise of one (the API, PostgreSQL, wrk and Redis already share both cores; README), so
the default stays one. Users register through
`POST /auth/register` and deposit through `POST /deposits`; wrk then sends non-crossing limit
buys on BTC-USDC for a fixed time, each connection cycling through all the users' bearer tokens,
so requests spread over many balance rows instead of queueing on one row lock.

pgbench (the one the pgserver wheel ships, matching the server) runs a custom script with the
statements `submit_orders` sends for a batch of one such order: lock the balance row and draw
the order and outbox ids, then one statement that raises `held`, inserts the order and its
outbox command (from one JSON document) and notifies the publisher; in one transaction, over the same accounts, `-M prepared` as
asyncpg prepares. The API groups concurrent orders into one such transaction (`OrderBatcher`);
pgbench runs one transaction per order, as a client of PostgreSQL without batching would. The ratio is HTTP orders
per second over pgbench transactions per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchmarks.exchange.servers import BIN_DIR, Servers, embedded_servers, percentile, row
from ordex.embedded import free_port

FULL_SECONDS, QUICK_SECONDS = 15, 3
CONNECTIONS = 16
USERS = 64
TARGET_RATIO = 0.6
ORDER = {
    "marketId": "BTC-USDC",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.001",
    "price": "100",
}
HOLD = "0.10005"
PLACE_COMMAND = {
    "type": "place", "order_id": 1, "account": 2, "side": "BUY", "order_type": "LIMIT",
    "time_in_force": "GTC", "price": "100", "qty": "0.001", "post_only": False,
    "reduce_only": False, "stp": "NONE",
}  # fmt: skip  # 0.001 BTC at 100 USDC plus the 0.05% taker fee

WRK_SCRIPT = """
local tokens = {%(tokens)s}
local body = '%(body)s'
local counter = 0
local offset = 0
local thread_count = 0

function setup(thread)
  thread:set("offset", thread_count * 7)
  thread_count = thread_count + 1
end

function request()
  counter = counter + 1
  local token = tokens[((counter + offset) %% #tokens) + 1]
  return wrk.format("POST", "/orders", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "errors_status": %%d, "errors_other": %%d,'
    .. ' "p50_us": %%d, "p99_us": %%d, "mean_us": %%f}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""

PGBENCH_SCRIPT = """
\\set account %(first)d + %(step)d * random(0, %(count)d - 1)
BEGIN;
WITH locked AS (SELECT b.account_id, b.asset, b.total, b.held FROM balances b JOIN unnest(ARRAY[:account]::bigint[], ARRAY['USDC']::text[]) AS u(account_id, asset) ON b.account_id = u.account_id AND b.asset = u.asset ORDER BY b.account_id, b.asset FOR UPDATE OF b), ids AS (SELECT array_agg(s.order_id ORDER BY s.n) AS order_ids, array_agg(s.outbox_id ORDER BY s.n) AS outbox_ids FROM (SELECT n, nextval(pg_get_serial_sequence('orders', 'id')) AS order_id, nextval(pg_get_serial_sequence('outbox', 'id')) AS outbox_id FROM generate_series(1, 1) AS n) AS s) SELECT i.order_ids[1] AS order_id, i.outbox_ids[1] AS outbox_id, l.account_id, l.asset, l.total, l.held FROM ids i LEFT JOIN locked l ON true \\gset
WITH doc AS (SELECT ('[[[' || :order_id || ', ' || :account || ', "BTC-USDC", "EXCHANGE", "BUY", "LIMIT", "GTC", "100", null, "0.001", null, false, false, null, "USDC", "%(hold)s"]], [[' || :outbox_id || ', "BTC-USDC", "order.created", %(payload_head)s' || :order_id || ', "cmd_id": ' || :outbox_id || '}]]]')::text::jsonb AS d), held AS (INSERT INTO balances AS b (account_id, asset, held) SELECT * FROM unnest(ARRAY[:account]::bigint[], ARRAY['USDC']::text[], ARRAY['%(hold)s']::text[]::numeric[]) ON CONFLICT (account_id, asset) DO UPDATE SET held = b.held + EXCLUDED.held, updated_at = now()), queued AS (INSERT INTO outbox (id, market_id, kind, payload) OVERRIDING SYSTEM VALUE SELECT (c->>0)::bigint, c->>1, c->>2, c->3 FROM doc, jsonb_array_elements(d->1) AS c), placed AS (INSERT INTO orders (id, account_id, market_id, venue, side, type, time_in_force, price, trigger_price, quantity, client_order_id, reduce_only, post_only, leverage, hold_asset, hold_amount) OVERRIDING SYSTEM VALUE SELECT (o->>0)::bigint, (o->>1)::bigint, o->>2, o->>3, o->>4, o->>5, o->>6, (o->>7)::numeric, (o->>8)::numeric, (o->>9)::numeric, o->>10, (o->>11)::boolean, (o->>12)::boolean, (o->>13)::integer, o->>14, (o->>15)::numeric FROM doc, jsonb_array_elements(d->0) AS o) SELECT now() FROM (SELECT count(pg_notify('outbox', m)) FROM unnest(ARRAY['BTC-USDC']::text[]) AS m) AS n;
END;
"""


def pgbench_binary() -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    bundled = Path(POSTGRES_BIN_PATH) / "pgbench"
    found = str(bundled) if bundled.exists() else shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found (pgserver wheel or postgresql-client)")
    return found


def start_api(servers: Servers, port: int, **extra_env: str) -> subprocess.Popen[bytes]:
    """`ordex serve` without workers, on the cheapest argon2 and open registration; `extra_env`
    adds settings (a suite's own)."""
    env = servers.env(
        ORDEX_RUN_WORKERS="0",
        PORT=str(port),
        ORDEX_WORKERS=os.environ.get("BENCH_API_WORKERS", "1"),
        REGISTRATION_MODE="open",
        REGISTER_RATE_LIMIT="100000",
        LOGIN_RATE_LIMIT="100000",
        # Registration is setup, not what is measured: the cheapest argon2 parameters.
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_KIB="8",
        ARGON2_PARALLELISM="1",
        DB_POOL_MAX=str(CONNECTIONS),
        JWT_SECRET="bench-secret-" + "x" * 32,
        **extra_env,
    )
    log = (servers.home / "api.log").open("ab")
    # Its own process group: granian's worker processes go down with it even after a SIGKILL.
    return subprocess.Popen(
        [str(BIN_DIR / "ordex"), "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def wait_for_api(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("ordex serve exited")
            try:
                if (await client.get("/markets")).status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("ordex serve did not answer")


async def register_traders(base: str, count: int) -> list[str]:
    """Bearer tokens of `count` funded users (registered and deposited through the API)."""
    tokens: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(count):
            email = f"http{i}@bench.example"
            credentials = {"email": email, "password": "bench-password"}
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
            # One order first: the trading account exists and this connection's statements
            # are prepared before the clock runs.
            placed = await client.post("/orders", json=ORDER, headers=headers)
            assert placed.status_code == 202, placed.text
            tokens.append(token)
    return tokens


def run_wrk(base: str, tokens: list[str], seconds: int, work: Path) -> dict[str, Any]:
    script = work / "orders.lua"
    script.write_text(
        WRK_SCRIPT % {"tokens": ", ".join(f'"{t}"' for t in tokens), "body": json.dumps(ORDER)}
    )
    result = subprocess.run(
        ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("WRKJSON "))
    stats: dict[str, Any] = json.loads(line.removeprefix("WRKJSON "))
    return stats


def run_pgbench(servers: Servers, accounts: list[int], seconds: int, work: Path) -> dict[str, Any]:
    script = work / "intake.sql"
    # A space after every colon: pgbench would take `:false` for a variable.
    # The command as the service queues it; its order and cmd ids are the transaction's own.
    fields = {k: v for k, v in PLACE_COMMAND.items() if k != "order_id"}
    payload_head = json.dumps(fields)[:-1] + ', "order_id": '
    step = (accounts[-1] - accounts[0]) // max(1, len(accounts) - 1)
    if accounts != list(range(accounts[0], accounts[-1] + 1, step or 1)):
        raise RuntimeError(f"account ids are not evenly spaced: {accounts}")
    script.write_text(
        PGBENCH_SCRIPT
        % {
            "first": accounts[0],
            "step": step,
            "count": len(accounts),
            "hold": HOLD,
            "payload_head": payload_head,
        }
    )
    logs = work / "pgbench-log"
    logs.mkdir()
    command = [
        pgbench_binary(), "-n", "-M", "prepared", "-c", str(CONNECTIONS), "-j", "2",
        "-T", str(seconds), "-f", str(script), "-l", "--log-prefix", str(logs / "tx"),
        "-h", servers.socket_dir, "-U", "postgres", "ordex",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work)
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed: {result.stderr[-2000:]}")
    tps = next(
        float(x.split("=")[1].split()[0]) for x in result.stdout.splitlines() if x.startswith("tps")
    )
    latencies = sorted(
        int(line.split()[2]) / 1000
        for path in logs.iterdir()
        for line in path.read_text().splitlines()
        if line.strip()
    )
    return {
        "tps": tps,
        "transactions": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


async def measure(quick: bool) -> list[dict[str, Any]]:
    seconds = QUICK_SECONDS if quick else FULL_SECONDS
    users = 8 if quick else USERS
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    with embedded_servers("http") as servers:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = start_api(servers, port)
        try:
            await wait_for_api(base, api)
            tokens = await register_traders(base, users)
            wrk = await asyncio.to_thread(run_wrk, base, tokens, seconds, servers.home)
        finally:
            api.send_signal(signal.SIGTERM)
            try:
                api.wait(timeout=30)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(api.pid, signal.SIGKILL)  # any worker process left behind
        # The same accounts, the API no longer running.
        conn = await asyncpg.connect(servers.database_url)
        try:
            accounts = [
                r["id"]
                for r in await conn.fetch(
                    "SELECT id FROM trading_accounts WHERE kind = 'USER' ORDER BY id"
                )
            ]
        finally:
            await conn.close()
        pgbench = await asyncio.to_thread(run_pgbench, servers, accounts, seconds, servers.home)
    http_rate = wrk["requests"] / (wrk["duration_us"] / 1e6)
    ratio = http_rate / pgbench["tps"]
    failed = wrk["errors_status"] + wrk["errors_other"]
    common = {"connections": CONNECTIONS, "seconds": seconds, "users": users}
    return [
        row(
            "HTTP POST /orders (wrk)",
            http_rate,
            "orders/s",
            f">= {TARGET_RATIO} x pgbench",
            ratio >= TARGET_RATIO and failed == 0,
            ratio,
            p50_ms=wrk["p50_us"] / 1000,
            p99_ms=wrk["p99_us"] / 1000,
            failed=failed,
            **common,
        ),
        row("HTTP POST /orders p50", wrk["p50_us"] / 1000, "ms", "(reported)", None),
        row("HTTP POST /orders p99", wrk["p99_us"] / 1000, "ms", "(reported)", None),
        row(
            "pgbench, same transaction",
            pgbench["tps"],
            "tx/s",
            "(peer)",
            None,
            p50_ms=pgbench["p50_ms"],
            p99_ms=pgbench["p99_ms"],
            **common,
        ),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(measure(quick))
