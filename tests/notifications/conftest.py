"""Notification fixtures: the sessions' app (binance pointed at the local exchange-speaking
server, two signed-in users) and the live server of the realtime tests for pushes."""

from __future__ import annotations

from tests.marketdata.conftest import fake_binance  # noqa: F401  (fixture)
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.realtime.conftest import live  # noqa: F401  (fixture)
from tests.sessions.conftest import api, app, exchange_runtime  # noqa: F401  (fixtures)
