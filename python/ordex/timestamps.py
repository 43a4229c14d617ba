"""The contracts' timestamp format, shared by the routes' schemas and the services' views."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_millis(value: datetime) -> str:
    """2026-01-01T00:00:00.000Z, the timestamp format of the contracts."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )
