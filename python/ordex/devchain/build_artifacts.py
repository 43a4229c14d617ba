"""Compile the dev chain's own Vyper contracts into `artifacts/*.json` (abi and bytecode).

The compiled artifacts are shipped, so the dev chain needs no compiler at run time. After
editing a contract: `pip install vyper==0.4.3 && python -m ordex.devchain.build_artifacts`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
CONTRACTS = HERE / "contracts"
ARTIFACTS = HERE / "artifacts"


def build() -> list[Path]:
    ARTIFACTS.mkdir(exist_ok=True)
    vyper = Path(sys.executable).parent / "vyper"
    written: list[Path] = []
    for source in sorted(CONTRACTS.glob("*.vy")):
        out = subprocess.run(
            [str(vyper), "-f", "combined_json", str(source.name)],
            cwd=CONTRACTS,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        compiled = json.loads(out)
        entry = compiled[source.name]
        artifact = {
            "contractName": source.stem,
            "sourceName": f"contracts/{source.name}",
            "compiler": f"vyper {compiled.get('version', '')}".strip(),
            "abi": entry["abi"],
            "bytecode": entry["bytecode"],
        }
        target = ARTIFACTS / f"{source.stem}.json"
        target.write_text(json.dumps(artifact, indent=1) + "\n")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in build():
        print(path)
