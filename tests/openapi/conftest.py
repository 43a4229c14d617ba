"""The API fixtures of tests/platform (the real app over httpx's ASGI transport)."""

from __future__ import annotations

from tests.platform.conftest import admin_token, client, client_factory, settings  # noqa: F401
