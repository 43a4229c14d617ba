"""Request bodies and the JSON shape of a user shared by every family."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ordex.db.users import UserRow
from ordex.roles import Role, Status
from ordex.timestamps import iso_millis

# ASCII whitespace and control characters spelled out: regex engines (Python's, the Rust one
# pydantic uses, a client's JavaScript) disagree on what else `\s` covers.
_SPACE = " \t\n\r\f\v"
_EMAIL_PATTERN = r"^[ \t\n\r\f\v]*[^@\x00-\x20\x7f]+@[^@\x00-\x20\x7f]+[ \t\n\r\f\v]*$"


def _check_email(value: str) -> str:
    return value.strip(_SPACE)


# At most 254 characters, surrounding whitespace included; the address is kept without it.
Email = Annotated[str, Field(max_length=254, pattern=_EMAIL_PATTERN), AfterValidator(_check_email)]
Password = Annotated[str, Field(min_length=8, max_length=256)]


class RegisterBody(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    email: Email
    password: Password
    name: Annotated[str | None, Field(max_length=200)] = None


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email: Email
    password: Annotated[str, Field(min_length=1, max_length=256)]


class AdminUserPatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "description": "A PENDING user cannot be ACTIVE (also when one of the two is the "
            "user's current role or status: 400 INVALID_REQUEST)",
            "not": {
                "properties": {"role": {"const": "PENDING"}, "status": {"const": "ACTIVE"}},
                "required": ["role", "status"],
            },
        },
    )

    role: Role | None = None
    status: Status | None = None
    name: Annotated[str | None, Field(max_length=200)] = None


def user_json(user: UserRow) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "userId": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "status": user.status,
        "createdAt": iso_millis(user.created_at),
    }


class UserOut(BaseModel):
    id: str
    userId: str
    email: str
    name: str
    role: Role
    status: Status
    createdAt: str


class SignedIn(BaseModel):
    user: UserOut
    accessToken: str
    token: str


class PendingRegistration(BaseModel):
    message: str


class UserEnvelope(BaseModel):
    user: UserOut


class UserList(BaseModel):
    users: list[UserOut]


class Message(BaseModel):
    message: str


class ApiTokenStatus(BaseModel):
    exists: bool
    createdAt: str | None = None


class ApiToken(BaseModel):
    token: str


class RootRegistered(BaseModel):
    userId: str


class RootSignedIn(BaseModel):
    token: str
    userId: str


class ApiErrorOut(BaseModel):
    """Errors under /api."""

    error: str
    code: str
    details: str | None = None
    field: str | None = None


class RootErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class RootErrorOut(BaseModel):
    """Errors of the root (exchange) family."""

    error: RootErrorDetail


API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiErrorOut, "description": "Invalid request"},
    401: {"model": ApiErrorOut, "description": "Missing or invalid credential"},
    403: {"model": ApiErrorOut, "description": "Not allowed for this role or account state"},
}
ROOT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": RootErrorOut, "description": "Invalid request"},
    401: {"model": RootErrorOut, "description": "Invalid credentials"},
    403: {"model": RootErrorOut, "description": "Account pending approval or disabled"},
}
