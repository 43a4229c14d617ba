"""The OpenAPI document against the real server: schemathesis with every check, a few examples per
operation, finds nothing. `make fuzz-api` runs the long version, with the coverage phase too (its
boundary cases of every field take minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.openapi.fuzz import SCHEMATHESIS, fuzz

EXAMPLES = 4
SEED = 20261204  # a fixed seed: the same requests on every run
PHASES = "examples,fuzzing,stateful"


@pytest.mark.skipif(
    not SCHEMATHESIS.exists(), reason=f"{SCHEMATHESIS} missing (`make test` installs it)"
)
def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    code, log = fuzz(tmp_path, EXAMPLES, SEED, PHASES, workers=1)
    assert code == 0, log.read_text()
