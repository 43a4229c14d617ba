"""What every exchange benchmark starts from: its own embedded PostgreSQL and Redis under a temp
dir (the same wheels and settings as `ordex serve`'s embedded default), migrated, plus funded
trading accounts and worker processes run exactly as `ordex worker ROLE` runs them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from ordex.db.migrate import migrate
from ordex.embedded import EmbeddedPostgres, EmbeddedRedis
from ordex.streams import INTAKE_STREAM, PERSISTER_LEASE, matcher_lease_key

BIN_DIR = Path(sys.executable).parent


@dataclass(frozen=True)
class Servers:
    home: Path
    database_url: str
    redis_url: str
    socket_dir: str

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of an `ordex` process that uses these servers and starts none."""
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "ORDEX_HOME": str(self.home / "ordex-home"),
            "LOG_LEVEL": "warning",
            "ACCESS_LOG": "false",
        }
        env.update(extra)
        return env


@contextmanager
def embedded_servers(name: str) -> Iterator[Servers]:
    """Fresh servers under a temp dir, removed afterwards (even when the benchmark fails)."""
    home = Path(tempfile.mkdtemp(prefix=f"ordex-bench-{name}-"))
    postgres = EmbeddedPostgres(home / "postgres")
    redis = EmbeddedRedis(home / "redis")
    try:
        database_url = postgres.start()
        redis_url = redis.start()
        migrate(database_url)
        socket_dir = database_url.split("host=", 1)[1]
        yield Servers(home, database_url, redis_url, socket_dir)
    finally:
        try:
            redis.stop()
        finally:
            postgres.stop()
            shutil.rmtree(home, ignore_errors=True)


async def create_accounts(
    pool: asyncpg.Pool, count: int, deposits: dict[str, str], prefix: str
) -> list[int]:
    """Trading accounts with balances and their DEPOSIT ledger entries, as a deposit writes them."""
    async with pool.acquire() as conn, conn.transaction():
        ids: list[int] = []
        for i in range(count):
            user_id = await conn.fetchval(
                "INSERT INTO users (email, password_hash, role, status)"
                " VALUES ($1, 'x', 'OPERATOR', 'ACTIVE') RETURNING id",
                f"{prefix}{i}@bench.example",
            )
            ids.append(
                await conn.fetchval(
                    "INSERT INTO trading_accounts (user_id) VALUES ($1) RETURNING id", user_id
                )
            )
        rows = [(a, asset, Decimal(v)) for a in ids for asset, v in deposits.items()]
        await conn.executemany(
            "INSERT INTO balances (account_id, asset, total) VALUES ($1, $2, $3)", rows
        )
        await conn.executemany(
            "INSERT INTO ledger_entries (account_id, asset, kind, amount)"
            " VALUES ($1, $2, 'DEPOSIT', $3)",
            rows,
        )
    return ids


class WorkerProcesses:
    """`ordex worker ROLE` processes, one per role (the production layout), stopped by SIGTERM."""

    def __init__(self, servers: Servers, roles: Sequence[str]) -> None:
        self._servers = servers
        self._roles = roles
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> WorkerProcesses:
        logs = self._servers.home / "logs"
        logs.mkdir(exist_ok=True)
        for role in self._roles:
            with (logs / f"{role}.log").open("ab") as log:
                self._procs.append(
                    subprocess.Popen(
                        [str(BIN_DIR / "ordex"), "worker", role],
                        env=self._servers.env(),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        return self

    def check(self) -> None:
        for role, proc in zip(self._roles, self._procs, strict=True):
            if proc.poll() is not None:
                log = self._servers.home / "logs" / f"{role}.log"
                raise RuntimeError(f"worker {role} exited: {log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def wait_until_ready(
    redis: Redis, workers: WorkerProcesses, markets: Sequence[str], *, intake: bool = True
) -> None:
    """Until the matchers and the persister hold their leases (and the intake group exists)."""
    keys = [PERSISTER_LEASE, *(matcher_lease_key(m) for m in markets)]
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        workers.check()
        ready = await redis.exists(*keys) == len(keys)
        if ready and (not intake or await redis.exists(INTAKE_STREAM)):
            await asyncio.sleep(0.5)  # the outbox publisher's LISTEN, which leaves no trace
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("workers did not start")


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def row(
    benchmark: str,
    measured: float,
    unit: str,
    target: str,
    met: bool | None,
    ratio: float | None = None,
    **details: Any,
) -> dict[str, Any]:
    """One line of the report table."""
    return {
        "benchmark": benchmark,
        "measured": measured,
        "unit": unit,
        "target": target,
        "met": met,
        "ratio": ratio,
        "details": details,
    }


async def backend_names(pool: asyncpg.Pool) -> dict[int, str]:
    """PostgreSQL backend pid -> the `application_name` of its client (`ordex worker intake`...)."""
    rows = await pool.fetch(
        "SELECT pid, application_name FROM pg_stat_activity WHERE application_name <> ''"
    )
    return {r["pid"]: r["application_name"] for r in rows}


def cpu_seconds(backends: Mapping[int, str] | None = None) -> dict[str, float]:
    """CPU time (user + system) of the processes a benchmark involves, read from /proc: each
    `ordex worker ROLE` by role, PostgreSQL's and Redis's processes, and this one; PostgreSQL's
    backends by their client's name where `backends` (from `backend_names`) knows it. Two
    readings' difference tells where the timed part's CPU went (a process that exited in between
    is lost)."""
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        pid = int(entry.name)
        name = _cpu_group(pid, [a.decode(errors="replace") for a in argv if a])
        if name is None:
            continue
        if name == "postgres" and backends and pid in backends:
            name = f"postgres for {backends[pid]}"
        fields = stat.rsplit(")", 1)[1].split()
        totals[name] = totals.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return totals


def _cpu_group(pid: int, argv: list[str]) -> str | None:
    if pid == os.getpid():
        return "benchmark"
    if len(argv) >= 3 and argv[-2] == "worker" and Path(argv[-3]).name == "ordex":
        return f"worker {argv[-1]}"
    program = Path(argv[0]).name if argv else ""
    if program.startswith("postgres"):
        return "postgres"
    if program.startswith("redis-server"):
        return "redis"
    return None


def cpu_between(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Seconds of CPU per process group between two `cpu_seconds` readings, largest first."""
    spent = {k: round(v - before.get(k, 0.0), 2) for k, v in after.items()}
    return dict(sorted(spent.items(), key=lambda kv: -kv[1]))
