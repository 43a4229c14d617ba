"""`ordex worker ...` processes for the kill -9 tests: one process per role set, killed with
SIGKILL and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def worker_env(database_url: str, redis_url: str, home: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ORDEX_HOME": str(home),
        "ORDEX_LEASE_MS": "1000",
        "LOG_LEVEL": "warning",
        **extra,
    }


class WorkerProcesses:
    """`roles` names one process: `"persister"`, or `"outbox matcher"` for both in one."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills: list[str] = []

    def start(self, roles: str) -> None:
        log = (self.logs / f"{roles.replace(' ', '-')}.log").open("ab")
        self.procs[roles] = subprocess.Popen(
            [str(Path(sys.executable).parent / "ordex"), "worker", *roles.split()],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, roles: str, *, restart: bool = False) -> None:
        self.procs[roles].send_signal(signal.SIGKILL)
        self.procs[roles].wait()
        self.kills.append(roles)
        if restart:
            self.start(roles)

    def stop(self, roles: str) -> None:
        proc = self.procs[roles]
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)

    def stop_all(self) -> None:
        for roles in list(self.procs):
            self.stop(roles)
