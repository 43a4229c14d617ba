"""Assistant fixtures: the workspace's app and users, and a local Anthropic Messages API server
the app is pointed at through ORDEX_ANTHROPIC_* (read on the app's first assistant request)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.assistant.fake_anthropic import FakeAnthropic, serve
from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)
from tests.workspace.conftest import alice, bob, client  # noqa: F401  (fixtures)


@pytest.fixture
async def anthropic_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeAnthropic]:
    async with serve() as fake:
        monkeypatch.setenv("ORDEX_ANTHROPIC_BASE_URL", fake.base_url)
        monkeypatch.setenv("ORDEX_ANTHROPIC_MODEL", "claude-test-model")
        monkeypatch.setenv("ORDEX_ANTHROPIC_MAX_RETRIES", "0")
        monkeypatch.setenv("ORDEX_ANTHROPIC_TIMEOUT_SECONDS", "2")
        monkeypatch.setenv("ORDEX_ANTHROPIC_TOTAL_SECONDS", "20")
        yield fake
