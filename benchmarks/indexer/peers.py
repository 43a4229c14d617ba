"""The peers, each in a venv of its own under `benchmarks/.peer-venvs/` (made on first use; their
pins conflict with ordex's: ethereum-etl wants web3 5), run as processes against the replay node.

- ethereum-etl 2.4.2: `export_blocks_and_transactions`, `extract_csv_column` (the hashes),
  `export_receipts_and_logs`, `extract_token_transfers`, its defaults otherwise (batch 100,
  5 workers). Its eth-abi 2 pins parsimonious < 0.9, which does not import on Python 3.11
  (`inspect.getargspec` is gone); parsimonious 0.9.0 is installed over it, the only change.
- cryo 0.3.2 (Rust, the PyPI wheel for cp311 manylinux x86_64): `cryo.freeze` of blocks,
  transactions and logs to parquet, its defaults otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENVS = ROOT / "benchmarks/.peer-venvs"
ETL_REQUIREMENTS = ["ethereum-etl==2.4.2"]
ETL_OVERRIDES = ["parsimonious==0.9.0"]  # see the module docstring
CRYO_REQUIREMENTS = ["cryo==0.3.2"]


def peer_venv(name: str, requirements: list[str], overrides: list[str] | None = None) -> Path:
    """The venv's bin folder, created and filled once (a stamp file records what is in it)."""
    venv = VENVS / name
    stamp = venv / "ordex-bench-requirements.txt"
    overrides = overrides or []
    wanted = "\n".join([*requirements, *overrides])
    if stamp.exists() and stamp.read_text() == wanted:
        return venv / "bin"
    print(f"installing {name} into {venv}...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *requirements], check=True)
    if overrides:
        # Deliberately over the peer's own pin (pip warns about the conflict).
        subprocess.run([*pip, *overrides], check=True)
    stamp.write_text(wanted)
    return venv / "bin"


def install_all() -> None:
    peer_venv("ethereum-etl", ETL_REQUIREMENTS, ETL_OVERRIDES)
    peer_venv("cryo", CRYO_REQUIREMENTS)


@dataclass
class Timed:
    seconds: float
    cpu_seconds: float  # user + system of the process (and its children)
    output: str


def run_timed(argv: list[str], cwd: Path) -> Timed:
    """Run a command to completion; wall time and its CPU (from wait4's rusage)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_peer_env()
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {proc.returncode}: {output[-2000:]}")
    return Timed(seconds, usage.ru_utime + usage.ru_stime, output)


def _peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _etl_took(output: str) -> float:
    """ethereum-etl's own 'Took h:mm:ss.ffffff' (the export itself, without the start-up)."""
    total = 0.0
    for h, m, s in re.findall(r"Took (\d+):(\d+):(\d+(?:\.\d+)?)", output):
        total += int(h) * 3600 + int(m) * 60 + float(s)
    return total


def run_ethereum_etl(rpc_url: str, head: int, work: Path) -> dict[str, Any]:
    bin_dir = peer_venv("ethereum-etl", ETL_REQUIREMENTS, ETL_OVERRIDES)
    etl = str(bin_dir / "ethereumetl")
    work.mkdir(parents=True, exist_ok=True)
    steps = {
        "export_blocks_and_transactions": [
            etl, "export_blocks_and_transactions", "--start-block", "0", "--end-block", str(head),
            "--provider-uri", rpc_url, "--blocks-output", "blocks.csv",
            "--transactions-output", "transactions.csv",
        ],
        "extract_csv_column": [
            etl, "extract_csv_column", "--input", "transactions.csv", "--column", "hash",
            "--output", "transaction_hashes.txt",
        ],
        "export_receipts_and_logs": [
            etl, "export_receipts_and_logs", "--transaction-hashes", "transaction_hashes.txt",
            "--provider-uri", rpc_url, "--receipts-output", "receipts.csv",
            "--logs-output", "logs.csv",
        ],
        "extract_token_transfers": [
            etl, "extract_token_transfers", "--logs", "logs.csv",
            "--output", "token_transfers.csv",
        ],
    }  # fmt: skip
    per_step: dict[str, float] = {}
    seconds = cpu = took = 0.0
    for name, argv in steps.items():
        timed = run_timed(argv, work)
        per_step[name] = round(timed.seconds, 3)
        seconds += timed.seconds
        cpu += timed.cpu_seconds
        took += _etl_took(timed.output)
    return {
        "seconds": seconds,
        "cpu_seconds": round(cpu, 2),
        "export_seconds": round(took, 3),
        "steps": per_step,
        "rows": {
            "blocks": _csv_rows(work / "blocks.csv"),
            "transactions": _csv_rows(work / "transactions.csv"),
            "logs": _csv_rows(work / "logs.csv"),
            "token_transfers": _csv_rows(work / "token_transfers.csv"),
        },
    }


def _csv_rows(path: Path) -> int:
    with path.open("rb") as f:
        return max(0, sum(1 for _ in f) - 1)


CRYO_SCRIPT = """
import sys, cryo
cryo.freeze(
    ["blocks", "transactions", "logs"],
    start_block=0, end_block=int(sys.argv[2]) + 1, rpc=sys.argv[1],
    output_dir=sys.argv[3], overwrite=True,
)
"""


def run_cryo(rpc_url: str, head: int, work: Path) -> dict[str, Any]:
    bin_dir = peer_venv("cryo", CRYO_REQUIREMENTS)
    work.mkdir(parents=True, exist_ok=True)
    out = work / "parquet"
    timed = run_timed(
        [str(bin_dir / "python"), "-c", CRYO_SCRIPT, rpc_url, str(head), str(out)], work
    )
    collected = re.search(r"total duration: ([\d.]+) seconds", timed.output)
    rows = re.search(r"rows written: ([\d,]+)", timed.output)
    return {
        "seconds": timed.seconds,
        "cpu_seconds": round(timed.cpu_seconds, 2),
        "collect_seconds": float(collected.group(1)) if collected else None,
        "rows_written": int(rows.group(1).replace(",", "")) if rows else None,
        "files": sorted(p.name for p in out.glob("*.parquet")),
    }


if __name__ == "__main__":
    # `make bench`: both venvs made (or left as they are when already up to date).
    install_all()
