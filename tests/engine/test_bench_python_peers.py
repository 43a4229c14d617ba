"""The Python peer benchmark runs end to end on its quick workload, and trades agree with ordex.

A peer that is missing must say why; a peer whose trades differ must carry the reason its
adapter found (bourse's touch-price problem), never differ silently.
"""

from __future__ import annotations

import pytest
from benchmarks.python_peers import run

pytestmark = pytest.mark.benchmark


def test_quick_run_reports_every_engine_and_trades_agree() -> None:
    rows = run(quick=True)

    ordex_rows = [row for row in rows if row["engine"] == "ordex"]
    assert [row["api"].split(":")[0].split(" ")[0] for row in ordex_rows] == [
        "single",
        "batch",
        "batch",
        "batch",
        "process_json(pre-encoded",
    ]
    reference_trades = ordex_rows[0]["trades"]
    assert reference_trades > 0
    assert ordex_rows[0]["trades_match"] == "reference; no rejections"
    for row in ordex_rows:
        assert row["rate"] > 0
        assert row["trades"] == reference_trades
    for row in ordex_rows[1:]:
        assert row["trades_match"].startswith("yes"), row

    peer_rows = [row for row in rows if row["engine"] != "ordex"]
    by_engine = {row["engine"]: row for row in peer_rows}
    assert by_engine["pure-Python baseline"]["trades_match"].startswith("yes")
    for row in peer_rows:
        if row["rate"] is None:
            assert row["note"], f"{row['engine']} skipped without a reason"
            continue
        assert row["rate"] > 0
        assert row["single_ratio"] is not None and row["batch_ratio"] is not None
        if not row["trades_match"].startswith("yes"):
            assert row["note"], f"{row['engine']} trades differ without a reason: {row}"
