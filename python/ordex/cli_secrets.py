"""`ordex secrets rotate-key`: re-encrypt every stored exchange credential, AI key and droid
wallet key under a new key.

Stop the API first: running processes hold the old key. The database side is one transaction, so
either every row moves to the new key or none does. When the current key lives in the generated
key file, the new key is written beside it (`secret_key.next`, mode 0600) before the transaction
and moved over it after the commit, so a crash in between leaves the new key on disk.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ordex.config import Settings
from ordex.crypto import DecryptionError, SecretBox, SecretKeyError
from ordex.db.migrate import MigrationError, migrate
from ordex.db.pool import create_pool
from ordex.embedded import EmbeddedServerError, EmbeddedServices, HomeLock
from ordex.services import ai_keys, droid_accounts, exchange_accounts

secrets_app = typer.Typer(help="Secrets at rest (exchange credentials)", no_args_is_help=True)
console = Console(stderr=True)

KEY_FILE = "secret_key"


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT


async def _rotate(database_url: str, old: SecretBox, new: SecretBox) -> tuple[int, int, int]:
    """(exchange accounts, AI keys, droid wallets) re-sealed, in one transaction: all or nothing."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            accounts = await exchange_accounts.rotate_key(conn, old, new)
            keys = await ai_keys.rotate_key(conn, old, new)
            wallets = await droid_accounts.rotate_key(conn, old, new)
            return accounts, keys, wallets
    finally:
        await pool.close()


@secrets_app.command("rotate-key")
def rotate_key(
    new_key: Annotated[
        str | None,
        typer.Option(help="The new key (64 hex digits or 16+ characters); generated when omitted"),
    ] = None,
    old_key: Annotated[
        str | None,
        typer.Option(help="The current key, when it is neither ORDEX_SECRET_KEY nor the key file"),
    ] = None,
) -> None:
    """Re-encrypt every exchange credential, AI key and droid wallet key, in one transaction."""
    configured = Settings()
    from_env = configured.ordex_secret_key is not None
    settings = configured.with_secrets()
    assert settings.ordex_secret_key is not None
    old_material = old_key or settings.ordex_secret_key.get_secret_value()
    new_material = new_key or secrets.token_hex(32)
    try:
        old_box, new_box = SecretBox(old_material), SecretBox(new_material)
    except SecretKeyError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    if old_material.strip() == new_material.strip():
        console.print("[red]error:[/red] the new key is the current key")
        raise typer.Exit(1)

    key_file = settings.home / KEY_FILE
    next_file = settings.home / f"{KEY_FILE}.next"
    if not from_env:
        _write_private(next_file, new_material)
    try:
        with HomeLock(settings.home):
            services = EmbeddedServices(settings.home, settings.database_url, "redis://unused")
            try:
                services.start()
                assert services.database_url is not None
                migrate(services.database_url)
                accounts, keys, wallets = asyncio.run(
                    _rotate(services.database_url, old_box, new_box)
                )
            finally:
                services.stop()
    except (EmbeddedServerError, MigrationError, DecryptionError) as exc:
        next_file.unlink(missing_ok=True)
        console.print(f"[red]error:[/red] {exc}; nothing was changed")
        raise typer.Exit(1) from exc

    console.print(
        f"re-encrypted {accounts} exchange account(s), {keys} AI key(s)"
        f" and {wallets} droid wallet key(s)"
    )
    if from_env:
        console.print("ORDEX_SECRET_KEY is set: set it to the new key before starting ordex again")
        if new_key is None:
            typer.echo(new_material)  # the generated key, on stdout so it can be captured
    else:
        os.replace(next_file, key_file)
        console.print(f"new key written to {key_file}")
