"""The exchange benchmarks run end to end at their quick sizes (numbers are not checked here:
speed targets are measured by `python -m benchmarks.exchange`, not asserted by tests)."""

from __future__ import annotations

import shutil

import pytest
from benchmarks.exchange.__main__ import run, table

pytestmark = pytest.mark.benchmark


def test_every_exchange_benchmark_runs_and_reports() -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    rows = run(quick=True)
    assert {r["group"] for r in rows} == {
        "http",
        "latency",
        "intake",
        "matcher",
        "persister",
        "scaleout",
    }
    for r in rows:
        assert r["measured"] > 0, r
    assert "matcher vs plain XREADGROUP/XADD relay" in table(rows)
