"""Fixtures of the perpetual tests: the exchange pipeline over the seeded markets (`pipeline`,
from tests/pipeline) and the platform's app with its embedded workers (`client`, `admin`,
`trader`, `redis`, from tests/exchange)."""

from __future__ import annotations

from tests.exchange.conftest import admin, client, redis, trader  # noqa: F401  (fixtures)
from tests.pipeline.conftest import Pipeline, pipeline  # noqa: F401  (fixtures)
from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)

__all__ = ["Pipeline"]
