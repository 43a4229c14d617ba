"""Schemathesis against a real `ordex serve` of its own: every check, on every operation that needs
no network, so the OpenAPI document is held to what the server really accepts and answers.

`python -m tests.openapi.fuzz [--examples N] [--seed S]` runs it (what `make fuzz-api` does);
`tests/openapi/test_schemathesis.py` runs it with a few examples per operation.

Three passes, each with a credential of its own: everything else with the admin's personal API
token; then the operations that replace or demote the credential they are called with
(`/api/user/token`, `PATCH /api/admin/users/{userId}`); last those that end it
(`/api/auth/logout`, `/api/auth/refresh`), each of these two with a fresh session.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from ordex.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(os.environ.get("SCHEMATHESIS", ROOT / ".venv-schemathesis/bin/schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
START_TIMEOUT_SECONDS = 120

# Operations that reach the network (ccxt exchanges, the proxy, LLM providers, key checks, the
# balances of the stored exchange keys).
NETWORK = (
    r"^/api/(exchange/|proxy/|market$|chat|ai-keys/validate|exchange-keys/validate"
    r"|dashboard/balance$)"
)
# Operations that replace the credential they are called with, or can take the admin's role away
# (once another user has been made an admin); and those that end the session they are called with.
CREDENTIAL = r"^/api/(user/token|admin/users/\{userId\})$"
SESSION = r"^/api/auth/(logout|refresh)$"
# Starting a session (a flow's execution too) loads the exchange's markets, PAPER trading against
# its real book; a backtest loads the exchange's candles.
EXCHANGE = r"^/api/(v1/trade/start|flows/\{flowId\}/executions|engine/backtest)$"

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "Secret-pass-123"


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


@contextmanager
def serve(home: Path) -> Iterator[Server]:
    """`ordex serve` on a free port, with embedded PostgreSQL and Redis under `home`."""
    port = free_port()
    log = home / "serve.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "JWT_SECRET",
            "ORDEX_SECRET_KEY",
            "API_TOKEN",
            "ETH_RPC_URL",
            "ORDEX_DEVCHAIN_PORT",
        )
    }
    env.update(
        ORDEX_HOME=str(home),
        PORT=str(port),
        LOG_JSON="true",
        ACCESS_LOG="false",
        # The embedded EVM dev chain runs, so the indexer, dev back-end and droids routes are
        # fuzzed against a real node (its pools and wallet are registered at start).
        ORDEX_DEVCHAIN="1",
        # The sign-in routes are fuzzed like any other: a limit this high is never reached.
        LOGIN_RATE_LIMIT="1000000",
        REGISTER_RATE_LIMIT="1000000",
        # Cheap password hashing: sign-ins are thousands of requests here.
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_KIB="1024",
        ARGON2_PARALLELISM="1",
    )
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "ordex"), "serve"],
        env=env,
        cwd=home,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"ordex serve exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"ordex serve not healthy in time:\n{log.read_text()}")
            time.sleep(0.2)
        yield Server(url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sign_in(url: str) -> str:
    """The first account registered is the admin; returns a fresh session token for it."""
    with httpx.Client(base_url=url, timeout=30) as client:
        body = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        registered = client.post("/api/auth/register", json=body)
        if registered.status_code != 201:
            registered = client.post("/api/auth/login", json=body)
        registered.raise_for_status()
        token: str = registered.json()["token"]
        return token


def api_token(url: str, session: str) -> str:
    headers = {"Authorization": f"Bearer {session}"}
    response = httpx.post(f"{url}/api/user/token", headers=headers, timeout=30)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def schemathesis(
    url: str,
    credential: str,
    selection: list[str],
    examples: int,
    seed: int | None,
    log: Path | None,
    phases: str,
    workers: int,
) -> int:
    """One schemathesis run; its output goes to `log`, or to the terminal when None."""
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {credential}",
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--workers",
        str(workers),
        "--phases",
        phases,
        "--suppress-health-check",
        "all",
        "--generation-database",
        "none",
        *selection,
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    if log is None:
        return subprocess.run(command, cwd=ROOT, check=False).returncode
    with log.open("ab") as out:
        return subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent, check=False
        ).returncode


ALL_PHASES = "examples,coverage,fuzzing,stateful"


def fuzz(
    home: Path,
    examples: int,
    seed: int | None = None,
    phases: str = ALL_PHASES,
    *,
    echo: bool = False,
    workers: int = 2,
) -> tuple[int, Path]:
    """Every pass against a server of its own under `home`; (exit code, schemathesis log). With
    `echo`, schemathesis writes to the terminal instead of the log. One worker avoids threads in
    schemathesis, where CPython 3.11's AST recursion counter can trip ("AST constructor recursion
    depth mismatch") now and then."""
    log = home / "schemathesis.log"
    log.touch()
    with serve(home) as server:
        main = api_token(server.url, sign_in(server.url))
        first = schemathesis(
            server.url,
            main,
            [
                "--exclude-path-regex",
                f"({NETWORK})|({CREDENTIAL})|({SESSION})|({EXCHANGE})",
            ],
            examples,
            seed,
            None if echo else log,
            phases,
            workers,
        )
        later = [
            schemathesis(
                server.url,
                sign_in(server.url),
                ["--include-path-regex", selection],
                examples,
                seed,
                None if echo else log,
                phases,
                workers,
            )
            for selection in (CREDENTIAL, SESSION)
        ]
    return next((code for code in (first, *later) if code), 0), log


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=100, help="examples per operation")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if not SCHEMATHESIS.exists():
        print(f"{SCHEMATHESIS} is missing: `make fuzz-api` installs it", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ordex-fuzz-") as tmp:
        code, _ = fuzz(Path(tmp), args.examples, args.seed, echo=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
