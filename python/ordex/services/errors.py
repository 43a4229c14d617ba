"""The one error type services raise; the API renders it in each family's envelope."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
        self.details = details


def unauthenticated(message: str = "Authentication required") -> ServiceError:
    return ServiceError(401, "UNAUTHENTICATED", message, headers={"WWW-Authenticate": "Bearer"})


def forbidden(message: str = "Insufficient permissions") -> ServiceError:
    return ServiceError(403, "FORBIDDEN", message)
