"""Live-stream benchmarks: fan-out to many Socket.IO and WebSocket clients, engine trade to client."""

from __future__ import annotations

from typing import Any

from benchmarks.realtime import fanout


def run(quick: bool) -> list[dict[str, Any]]:
    return fanout.run(quick)
