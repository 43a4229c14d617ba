"""The dev chain in a child process, for `ordex serve` (granian forks its workers from the
parent, so the chain and its server threads live in a process of their own)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from ordex.embedded import EmbeddedServerError, free_port

READY_TIMEOUT_SECONDS = 60.0


class DevChainProcess:
    def __init__(self, home: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        self.home = home
        self.host = host
        self.port = port or free_port(host)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Launch the child; `wait_ready` blocks until it answers."""
        log_dir = self.home / "devchain"
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "devchain.log").open("ab") as log_file:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "ordex.devchain",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--home",
                    str(self.home),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches ordex, which stops the chain in order
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> str:
        deadline = time.monotonic() + timeout
        request = {"jsonrpc": "2.0", "id": 1, "method": "devchain_info", "params": []}
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise EmbeddedServerError(
                    f"the dev chain exited ({self._proc.returncode}); see "
                    f"{self.home / 'devchain' / 'devchain.log'}"
                )
            try:
                answer = httpx.post(self.url, json=request, timeout=2.0).json()
                if answer.get("result", {}).get("contracts"):
                    return self.url
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise EmbeddedServerError(f"the dev chain did not answer on {self.url} in {timeout:.0f} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
