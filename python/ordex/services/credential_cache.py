"""Principals of recently checked credentials, so a busy client does not cost a JWT check and a
database read on every request.

A credential checked in the last `AUTH_CACHE_SECONDS` (never past its token's or session's expiry)
is trusted again without a lookup. Whatever revokes a session or token or changes a user's role or
status calls `credentials_changed()` after its write, which empties every cache of the process at
once; the other API processes stop trusting a revoked credential within `AUTH_CACHE_SECONDS`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ordex.services.auth import Principal

_revision = 0
"""Bumped by credentials_changed(); cache entries made before the last bump are never used."""


def credentials_changed() -> None:
    """Forget every cached credential of this process. Called after the write that revoked a
    session or token or changed a user's role or status."""
    global _revision
    _revision += 1


class CredentialCache:
    """Principals of recently checked credentials, by the credential presented."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._revision = _revision

    def _current(self) -> bool:
        if self._revision != _revision:
            self._entries.clear()
            self._revision = _revision
            return False
        return True

    def get(self, token: str) -> Principal | None:
        if not self._current():
            return None
        entry = self._entries.get(token)
        if entry is None:
            return None
        if time.monotonic() >= entry[1]:
            del self._entries[token]
            return None
        return entry[0]

    def put(
        self, token: str, principal: Principal, revision: int, valid_until: datetime | None
    ) -> None:
        """Keep a principal resolved while `revision` was current: a change written during the
        lookup may not show in what the lookup read, so such a result is not kept."""
        if self.ttl_seconds <= 0 or revision != _revision:
            return
        self._current()
        ttl = self.ttl_seconds
        if valid_until is not None:
            ttl = min(ttl, (valid_until - datetime.now(UTC)).total_seconds())
        if ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[token] = (principal, time.monotonic() + ttl)


def credentials_revision() -> int:
    """Taken before a lookup and handed to `CredentialCache.put` with its result."""
    return _revision
