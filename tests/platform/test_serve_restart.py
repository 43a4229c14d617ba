"""The real `ordex serve` process: embedded servers, healthy, clean SIGTERM stop, data kept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from ordex.embedded import free_port

START_TIMEOUT_SECONDS = 90


def _ordex_executable() -> str:
    return str(Path(sys.executable).parent / "ordex")


def _start(home: Path, port: int, log_path: Path, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "ORDEX_SECRET_KEY", "API_TOKEN")
    }
    env.update(
        ORDEX_HOME=str(home),
        PORT=str(port),
        LOG_JSON="true",
        # One registration allowed per hour: a refused second one proves Redis kept its data.
        REGISTER_RATE_LIMIT="1",
        RATE_LIMIT_WINDOW_SECONDS="3600",
    )
    env.update(extra_env)
    return subprocess.Popen(
        [_ordex_executable(), "serve"],
        env=env,
        cwd=home,  # no stray .env from the working tree
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, like a job in a terminal
    )


def _wait_healthy(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"ordex serve exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"ordex serve not healthy in time:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes], log_path: Path, *, ctrl_c: bool = False) -> None:
    if ctrl_c:
        os.killpg(process.pid, signal.SIGINT)  # what a terminal sends the whole job on Ctrl-C
    else:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"ordex serve did not stop:\n{log_path.read_text()}") from None
    assert code == 0, log_path.read_text()


def test_serve_keeps_users_across_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    log_path = tmp_path / "serve.log"
    port = free_port()
    credentials = {"email": "admin@example.com", "password": "long-password"}

    first = _start(home, port, log_path)
    try:
        _wait_healthy(first, port, log_path)
        registered = httpx.post(
            f"http://127.0.0.1:{port}/api/auth/register", json=credentials, timeout=10
        )
        assert registered.status_code == 201, registered.text
        user_id = registered.json()["user"]["userId"]
    finally:
        _stop(first, log_path)

    # Clean stop: no server left running on the data directories, secrets written 0600.
    assert not (home / "postgres" / "postmaster.pid").exists()
    assert not (home / "redis" / "redis-server.pid").exists()
    assert (home / "jwt_secret").stat().st_mode & 0o777 == 0o600

    second = _start(home, port, log_path)
    try:
        _wait_healthy(second, port, log_path)
        logged_in = httpx.post(
            f"http://127.0.0.1:{port}/api/auth/login", json=credentials, timeout=10
        )
        assert logged_in.status_code == 200, logged_in.text
        assert logged_in.json()["user"]["userId"] == user_id
        # The JWT secret was reused, so the first run's session tokens still verify.
        me = httpx.get(
            f"http://127.0.0.1:{port}/api/auth/me",
            headers={"Authorization": f"Bearer {registered.json()['accessToken']}"},
            timeout=10,
        )
        assert me.status_code == 200
        again = httpx.post(
            f"http://127.0.0.1:{port}/api/auth/register",
            json={"email": "other@example.com", "password": "long-password"},
            timeout=10,
        )
        assert again.status_code == 429, again.text
    finally:
        _stop(second, log_path, ctrl_c=True)
    assert not (home / "postgres" / "postmaster.pid").exists()
    assert not (home / "redis" / "redis-server.pid").exists()


async def test_serve_uses_given_urls_and_starts_no_server(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    log_path = tmp_path / "serve.log"
    port = free_port()
    process = _start(home, port, log_path, DATABASE_URL=database_url, REDIS_URL=redis_url)
    try:
        await asyncio.to_thread(_wait_healthy, process, port, log_path)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            registered = await client.post(
                "/api/auth/register", json={"email": "ext@example.com", "password": "long-password"}
            )
        assert registered.status_code == 201, registered.text
    finally:
        await asyncio.to_thread(_stop, process, log_path)
    assert not (home / "postgres").exists()
    assert not (home / "redis").exists()
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT email FROM users") == "ext@example.com"
    finally:
        await conn.close()
