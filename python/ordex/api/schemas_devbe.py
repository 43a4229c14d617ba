"""Answers of `/api/devbe` (trading-app contract, "Devbe"): the catalogue of named queries and
scripts; each entry's own answer is an object whose shape depends on the entry."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ordex.api.schemas import API_ERRORS, ApiErrorOut

DEVBE_ERRORS: dict[int | str, dict[str, Any]] = {
    **API_ERRORS,
    404: {"model": ApiErrorOut, "description": "Unknown query type or script"},
}

# A script's message or raw transaction can make a URL longer than the HTTP server reads: it
# answers 414 before the application sees the request.
URI_TOO_LONG: dict[int | str, dict[str, Any]] = {
    414: {"description": "The URL (query string) is longer than the server reads"}
}


class DevbeParamOut(BaseModel):
    name: str
    type: str
    required: bool
    description: str
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    default: int | str | None = None


class DevbeEntryOut(BaseModel):
    name: str
    path: str
    description: str
    parameters: list[DevbeParamOut]
    one_of: list[str] | None = None


class DevbeCatalogOut(BaseModel):
    queries: list[DevbeEntryOut]
    scripts: list[DevbeEntryOut]
