"""Execution fixtures: the sessions' app (binance pointed at the local exchange-speaking server,
paper books fetched fresh), two users, a database connection, and a flow worker that starts its
executions a day in the past, so it replays a day of the server's candles."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from ordex.workers.flow_runner import FlowRunner
from tests.executions.helpers import REPLAY_MS
from tests.marketdata.conftest import fake_binance  # noqa: F401  (fixture)
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.sessions.conftest import api, app  # noqa: F401  (fixtures)


@pytest.fixture
async def runner(app: FastAPI) -> AsyncIterator[FlowRunner]:  # noqa: F811
    runner = FlowRunner(
        app.state.pool,
        app.state.redis,
        app.state.session_venues,
        poll_seconds=0.05,
        lease_ms=2_000,
        replay_ms=REPLAY_MS,
    )
    runner.start()
    try:
        yield runner
    finally:
        await runner.close()
