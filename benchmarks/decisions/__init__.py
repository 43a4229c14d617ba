"""Decision journal benchmarks: `/api/v1/decisions/{id}/similar` through HNSW against an exact scan."""

from __future__ import annotations

from typing import Any

from benchmarks.decisions import similar


def run(quick: bool) -> list[dict[str, Any]]:
    return similar.run(quick)
