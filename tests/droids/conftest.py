"""Fixtures shared by the droid tests (routes and controller)."""

from __future__ import annotations

from tests.droids.routes_helpers import api  # noqa: F401  (fixture of the route tests)
from tests.platform.conftest import settings  # noqa: F401  (fixture)
