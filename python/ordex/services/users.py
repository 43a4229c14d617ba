"""Users: registration (first user ADMIN, approval or open mode), login checks, admin updates."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from ordex.config import RegistrationMode
from ordex.db import sessions as sessions_repo
from ordex.db import users as users_repo
from ordex.db.types import Connection
from ordex.db.users import UserRow
from ordex.roles import Role as Role  # re-exported for callers of this service
from ordex.roles import Status as Status
from ordex.security import hash_password, verify_password
from ordex.services.credential_cache import credentials_changed
from ordex.services.errors import ServiceError, unauthenticated

PENDING_MESSAGE = "Registration successful. Your account is pending admin approval."


def normalize_email(email: str) -> str:
    return email.strip().lower()


def ensure_can_sign_in(user: UserRow) -> None:
    if user.status == Status.PENDING or user.role == Role.PENDING:
        raise ServiceError(403, "ACCOUNT_PENDING", "Your account is pending admin approval")
    if user.status != Status.ACTIVE:
        raise ServiceError(403, "ACCOUNT_DISABLED", "Your account is disabled")


@dataclass(frozen=True, slots=True)
class Registration:
    user: UserRow

    @property
    def pending(self) -> bool:
        return self.user.status != Status.ACTIVE


async def register(
    conn: Connection, *, email: str, password: str, name: str | None, mode: RegistrationMode
) -> Registration:
    email = normalize_email(email)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with conn.transaction():
        await users_repo.lock_registrations(conn)
        if await users_repo.count_users(conn) == 0:
            role, status = Role.ADMIN, Status.ACTIVE
        elif mode == RegistrationMode.OPEN:
            role, status = Role.OPERATOR, Status.ACTIVE
        else:
            role, status = Role.PENDING, Status.PENDING
        user = await users_repo.insert_user(
            conn,
            email=email,
            name=(name or "").strip() or email.split("@", 1)[0],
            password_hash=password_hash,
            role=role,
            status=status,
        )
        if user is not None:
            # Every new user starts with the default workspace (dashboard with six widgets).
            # Imported here: the workspace views use the API schemas, which import this module.
            from ordex.services.workspace import create_default_workspace

            await create_default_workspace(conn, user.id)
    if user is None:
        raise ServiceError(409, "EMAIL_TAKEN", "Email already registered", field="email")
    return Registration(user)


async def authenticate(conn: Connection, *, email: str, password: str) -> UserRow:
    user = await users_repo.get_by_email(conn, normalize_email(email))
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not ok:
        raise unauthenticated("Invalid email or password")
    ensure_can_sign_in(user)
    await users_repo.touch_last_login(conn, user.id)
    return user


async def list_users(conn: Connection) -> list[UserRow]:
    return await users_repo.list_users(conn)


async def update_user(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    role: Role | None,
    status: Status | None,
    name: str | None,
) -> UserRow:
    async with conn.transaction():
        admins = await users_repo.lock_active_admin_ids(conn)
        user = await users_repo.get_by_id(conn, user_id, for_update=True)
        if user is None:
            raise ServiceError(404, "USER_NOT_FOUND", "User not found")
        new_role = role or Role(user.role)
        new_status = status or Status(user.status)
        # Approving a PENDING user by role alone activates them; making someone PENDING parks them.
        if status is None and new_role != Role.PENDING and user.status == Status.PENDING:
            new_status = Status.ACTIVE
        if new_role == Role.PENDING and status is None:
            new_status = Status.PENDING
        if new_status == Status.PENDING and role is None:
            new_role = Role.PENDING
        if new_role == Role.PENDING and new_status == Status.ACTIVE:
            raise ServiceError(
                400, "INVALID_REQUEST", "A PENDING user cannot be ACTIVE", field="status"
            )
        stays_admin = new_role == Role.ADMIN and new_status == Status.ACTIVE
        if user.id in admins and not stays_admin and len(admins) <= 1:
            raise ServiceError(409, "LAST_ADMIN", "Cannot demote or disable the last admin")
        updated = await users_repo.update_user(
            conn,
            user.id,
            role=new_role,
            status=new_status,
            name=name.strip() if name is not None else user.name,
        )
        assert updated is not None
        if new_status != Status.ACTIVE:
            # Sign-out takes effect at once; API tokens are refused while the user is not ACTIVE.
            await sessions_repo.revoke_user_sessions(conn, user.id)
    # Committed: no cached principal may keep the old role or status.
    credentials_changed()
    return updated
