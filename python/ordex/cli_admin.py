"""Admin helpers run by the CLI against the database directly (ordex serve must be stopped
when the database is embedded, since only one process may own ORDEX_HOME)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from ordex.db.pool import create_pool
from ordex.db.users import get_by_email
from ordex.services import users as users_service
from ordex.services.errors import ServiceError
from ordex.services.users import Role


async def run_admin_action(database_url: str, action: str, console: Console, **kwargs: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            if action == "list":
                rows = [
                    (str(u.id), u.email, u.role, u.status, u.created_at.isoformat())
                    for u in await users_service.list_users(conn)
                ]
                out = Console()  # data goes to stdout
                if out.is_terminal:
                    table = Table("id", "email", "role", "status", "created")
                    for row in rows:
                        table.add_row(*row)
                    out.print(table)
                else:  # piped: tab-separated, never truncated
                    for row in rows:
                        print("\t".join(row))
            elif action == "set-role":
                found = await get_by_email(conn, kwargs["email"])
                if found is None:
                    console.print(f"[red]no user with email {kwargs['email']}[/red]")
                    return
                try:
                    updated = await users_service.update_user(
                        conn, found.id, role=Role(kwargs["role"]), status=None, name=None
                    )
                except (ServiceError, ValueError) as exc:
                    console.print(f"[red]{exc}[/red]")
                    return
                console.print(f"{updated.email}: {updated.role} / {updated.status}")
    finally:
        await pool.close()
