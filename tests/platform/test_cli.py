"""`ordex migrate` and `ordex users` against a given DATABASE_URL (no embedded server needed)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.platform.helpers import bearer, register


def _ordex(database_url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, DATABASE_URL=database_url, ORDEX_HOME=str(home), LOG_JSON="true")
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [str(Path(sys.executable).parent / "ordex"), *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_migrate_and_user_admin_commands(
    client: httpx.AsyncClient, admin_token: str, database_url: str, ordex_home: Path
) -> None:
    migrated = await asyncio.to_thread(_ordex, database_url, ordex_home, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "migrations applied" in migrated.stderr
    assert not (ordex_home / "postgres").exists()

    await register(client, "pending@havencap.io")
    promoted = await asyncio.to_thread(
        _ordex, database_url, ordex_home, "users", "set-role", "pending@havencap.io", "operator"
    )
    assert promoted.returncode == 0, promoted.stderr
    users = (await client.get("/api/admin/users", headers=bearer(admin_token))).json()["users"]
    assert [(u["role"], u["status"]) for u in users] == [
        ("ADMIN", "ACTIVE"),
        ("OPERATOR", "ACTIVE"),
    ]

    listed = await asyncio.to_thread(_ordex, database_url, ordex_home, "users", "list")
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(line[1], line[2]) for line in lines] == [
        ("admin@havencap.io", "ADMIN"),
        ("pending@havencap.io", "OPERATOR"),
    ]
