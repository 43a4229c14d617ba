"""`ordex` command line: serve, migrate, workers, backtests and admin helpers."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ordex.cli_backtest import backtest
from ordex.cli_devchain import devchain_app
from ordex.cli_secrets import secrets_app
from ordex.cli_worker import worker
from ordex.config import Settings, get_settings
from ordex.db.migrate import MigrationError, migrate
from ordex.embedded import EmbeddedServerError, EmbeddedServices, HomeLock
from ordex.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from ordex.devchain.process import DevChainProcess

app = typer.Typer(help="ordex: self-hosted crypto trading platform", no_args_is_help=True)
console = Console(stderr=True)
log = get_logger("ordex.cli")


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings


# granian's own loggers hand their records to the root logger, which renders them like ours.
GRANIAN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {},
    "handlers": {},
    "loggers": {"_granian": {"handlers": [], "propagate": True}},
}


def _raise_keyboard_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (ORDEX_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to bind (PORT)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="API worker processes (ORDEX_WORKERS)")
    ] = None,
) -> None:
    """Run the API under granian, starting embedded PostgreSQL/Redis when no URL is set."""
    from granian import Granian
    from granian.constants import Interfaces, Loops

    settings = _settings()
    host = host or settings.ordex_host
    port = port or settings.port
    workers = workers or settings.ordex_workers
    home = settings.home
    # SIGTERM before granian takes over must still run the `finally` that stops the servers.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # Import the app while PostgreSQL starts: granian forks its workers from this process, so
    # they inherit the loaded modules instead of importing them again.
    preload = threading.Thread(target=importlib.import_module, args=("ordex.api.app",), daemon=True)
    preload.start()
    try:
        with HomeLock(home):
            services = EmbeddedServices(home, settings.database_url, settings.redis_url)
            devchain = _start_devchain(settings)
            try:
                services.start()
                assert services.database_url is not None and services.redis_url is not None
                migrate(services.database_url)
                # Worker processes read their settings from the environment.
                os.environ["DATABASE_URL"] = services.database_url
                os.environ["REDIS_URL"] = services.redis_url
                os.environ["ORDEX_HOME"] = str(home)
                if devchain is not None:
                    os.environ["ETH_RPC_URL"] = devchain.wait_ready()
                if settings.database_url is None and settings.redis_url is None:
                    # Embedded default: the exchange workers run inside the API process.
                    os.environ.setdefault("ORDEX_RUN_WORKERS", "1")
                os.environ["JWT_SECRET"] = settings.jwt_key()
                if settings.ordex_secret_key is not None:
                    os.environ["ORDEX_SECRET_KEY"] = settings.ordex_secret_key.get_secret_value()
                preload.join()
                log.info("ordex serving", host=host, port=port, workers=workers, home=str(home))
                Granian(
                    "ordex.api.app:create_app",
                    factory=True,
                    address=host,
                    port=port,
                    interface=Interfaces.ASGI,
                    # Named rather than "auto", which would take any loop that happens to be
                    # installed (rloop is experimental) or fall back to asyncio's slower one.
                    loop=Loops.uvloop,
                    workers=workers,
                    log_enabled=True,
                    log_dictconfig=GRANIAN_LOGGING,
                ).serve()
            except KeyboardInterrupt:
                log.info("interrupted")
            finally:
                # A second Ctrl-C must not cut the shutdown of the data servers short.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                if devchain is not None:
                    devchain.stop()
                services.stop()
    except (EmbeddedServerError, MigrationError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    log.info("ordex stopped")


def _start_devchain(settings: Settings) -> DevChainProcess | None:
    """Start the embedded EVM dev chain when no ETH_RPC_URL is set (ready-wait comes later)."""
    if settings.eth_rpc_url is not None or not settings.ordex_devchain:
        return None
    from ordex.devchain.process import DevChainProcess

    process = DevChainProcess(settings.home, port=settings.ordex_devchain_port)
    process.start()
    return process


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (starts embedded PostgreSQL when DATABASE_URL is unset)."""
    settings = _settings()
    try:
        with HomeLock(settings.home):
            services = EmbeddedServices(
                settings.home, settings.database_url, None, need_redis=False
            )
            try:
                services.start()
                assert services.database_url is not None
                migrate(services.database_url)
            finally:
                services.stop()
    except (EmbeddedServerError, MigrationError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print("migrations applied")


app.command("worker")(worker)
app.command("backtest")(backtest)

users_app = typer.Typer(help="Manage users from the command line", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(secrets_app, name="secrets")
app.add_typer(devchain_app, name="devchain")


def _with_database(settings: Settings, action: str, **kwargs: str) -> None:
    from ordex.cli_admin import run_admin_action

    try:
        with HomeLock(settings.home):
            services = EmbeddedServices(
                settings.home, settings.database_url, None, need_redis=False
            )
            try:
                services.start()
                assert services.database_url is not None
                migrate(services.database_url)
                asyncio.run(run_admin_action(services.database_url, action, console, **kwargs))
            finally:
                services.stop()
    except (EmbeddedServerError, MigrationError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


@users_app.command("list")
def users_list() -> None:
    """List users with their role and status."""
    _with_database(_settings(), "list")


@users_app.command("set-role")
def users_set_role(
    email: str,
    role: Annotated[str, typer.Argument(help="ADMIN, OPERATOR or PENDING")],
) -> None:
    """Set a user's role (and activate them unless the role is PENDING)."""
    _with_database(_settings(), "set-role", email=email, role=role.upper())


def main() -> None:
    app()
