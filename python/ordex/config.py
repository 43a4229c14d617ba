"""Settings from the environment and `.env`, plus the secrets generated once into ORDEX_HOME."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistrationMode(StrEnum):
    APPROVAL = "approval"
    OPEN = "open"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    database_url: str | None = None
    redis_url: str | None = None
    # ORDEX_ prefixed: shells often export HOST as the machine's name.
    ordex_host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    ordex_workers: Annotated[int, Field(ge=1)] = 1
    # Exchange workers inside the API process: `ordex serve` turns them on in the embedded mode.
    ordex_run_workers: bool = False
    # How long a matcher's or the persister's lease outlives a holder that stopped renewing it.
    ordex_lease_ms: Annotated[int, Field(ge=500)] = 10_000
    ordex_snapshot_every: Annotated[int, Field(ge=100)] = 20_000
    # Replicas that must hold the outbox's commands before they count as published (a Redis with
    # replicas, e.g. a cluster: 1), and how long to wait for them (docs/scale-out.md).
    ordex_redis_wait_replicas: Annotated[int, Field(ge=0)] = 0
    ordex_redis_wait_ms: Annotated[int, Field(ge=1)] = 1000
    ordex_home: Path = Path(".ordex")
    jwt_secret: SecretStr | None = None
    api_token: SecretStr | None = None
    ordex_secret_key: SecretStr | None = None
    registration_mode: RegistrationMode = RegistrationMode.APPROVAL
    log_level: str = "info"
    log_json: bool | None = None  # None: JSON when stderr is not a terminal
    access_log: bool = True  # one log line per request

    access_token_ttl_seconds: Annotated[int, Field(ge=1)] = 3600
    session_ttl_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    cookie_secure: bool = False
    # How long a checked credential is trusted without the database: a revocation takes effect
    # at once in the process that made it, within this bound in the other API processes.
    auth_cache_seconds: Annotated[float, Field(ge=0, le=60)] = 2.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024

    # Fixed-window limits per client address: "N per window".
    login_rate_limit: Annotated[int, Field(ge=1)] = 10
    register_rate_limit: Annotated[int, Field(ge=1)] = 5
    rate_limit_window_seconds: Annotated[int, Field(ge=1)] = 60

    # argon2id cost (defaults: RFC 9106 low-memory profile, as argon2-cffi ships it).
    argon2_time_cost: Annotated[int, Field(ge=1)] = 3
    argon2_memory_kib: Annotated[int, Field(ge=8)] = 65536
    argon2_parallelism: Annotated[int, Field(ge=1)] = 4

    db_pool_min: Annotated[int, Field(ge=0)] = 1
    db_pool_max: Annotated[int, Field(ge=1)] = 10

    # An EVM node's JSON-RPC URL; unset, `ordex serve` starts the embedded dev chain (unless
    # ORDEX_DEVCHAIN=0) on ORDEX_DEVCHAIN_PORT (0: any free port) and exports its URL.
    eth_rpc_url: str | None = None
    ordex_devchain: bool = True
    ordex_devchain_port: Annotated[int, Field(ge=0, le=65535)] = 0

    @property
    def home(self) -> Path:
        return self.ordex_home.expanduser().resolve()

    def with_secrets(self) -> Settings:
        """Fill missing JWT_SECRET and ORDEX_SECRET_KEY from files under ORDEX_HOME."""
        updates: dict[str, SecretStr] = {}
        if self.jwt_secret is None:
            updates["jwt_secret"] = SecretStr(load_or_create_secret(self.home / "jwt_secret"))
        if self.ordex_secret_key is None:
            updates["ordex_secret_key"] = SecretStr(load_or_create_secret(self.home / "secret_key"))
        return self.model_copy(update=updates) if updates else self

    def jwt_key(self) -> str:
        if self.jwt_secret is None:
            raise RuntimeError("JWT secret not loaded; call Settings.with_secrets() first")
        return self.jwt_secret.get_secret_value()


def load_or_create_secret(path: Path) -> str:
    """Read a secret file, or create it with mode 0600 so it survives restarts."""
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two processes starting together must not overwrite each other's secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings().with_secrets()
