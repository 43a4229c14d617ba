"""Flow fixtures: the workspace's app, database and Redis fixtures (open registration, two users)."""

from __future__ import annotations

from tests.platform.conftest import client_factory, settings  # noqa: F401  (fixtures)
from tests.workspace.conftest import alice, bob, client  # noqa: F401  (fixtures)
