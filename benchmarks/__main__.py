"""Every benchmark suite, side by side with its peers, in one run: `python -m benchmarks`.

Each suite runs in its own process (no suite's memory or threads skew another), prints its own
table with ratios against its peers and targets, and writes JSON into one results folder.

    python -m benchmarks [--quick] [--only engine,python,exchange,realtime,backtest,decisions,
                          sessions,executions,indexer,uniswap] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Suite:
    name: str
    what: str

    def command(self, quick: bool, json_path: Path) -> list[str]:
        if self.name == "engine":
            binary = ROOT / "benchmarks/engine/target/release/ordex-engine-bench"
            args = [str(binary), "--json", str(json_path)]
        else:
            module = {"python": "benchmarks.python_peers"}.get(self.name, f"benchmarks.{self.name}")
            args = [sys.executable, "-m", module, "--json", str(json_path)]
        return [*args, "--quick"] if quick else args


SUITES = (
    Suite("engine", "Rust engine vs matchcore and orderbook-rs: throughput, latency, memory"),
    Suite("python", "Python binding vs PyPI order books and a pure-Python book"),
    Suite("exchange", "HTTP intake vs pgbench, latency, intake stream, matcher, scale-out"),
    Suite("realtime", "Socket.IO and WebSocket fan-out and trade-to-client latency"),
    Suite("backtest", "Flow backtests and sweeps vs vectorbt and backtesting.py, scaling"),
    Suite("decisions", "/similar over 100,000 decisions: HNSW vs an exact scan, recall"),
    Suite("sessions", "Paper-venue POST /api/v1/orders next to the root POST /orders"),
    Suite("executions", "Candle close to order sent, 100 flow executions on the paper venue"),
    Suite("indexer", "EVM ingest vs raw fetch, ethereum-etl and cryo; /api/v1 page latency"),
    Suite("uniswap", "Uniswap v3 pool math: Rust through the binding vs Python integers"),
)


def build_engine_bench() -> None:
    """The Rust suite is its own Cargo workspace (the main one never builds the peer crates)."""
    if shutil.which("cargo") is None:
        raise SystemExit("cargo is needed for the engine benchmark")
    manifest = ROOT / "benchmarks/engine/Cargo.toml"
    subprocess.run(
        ["cargo", "build", "--release", "--quiet", "--manifest-path", str(manifest)], check=True
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small workloads (a smoke run)")
    parser.add_argument(
        "--only", default="", help="comma-separated suites: " + ",".join(s.name for s in SUITES)
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="results folder (default benchmarks/results/<time>)"
    )
    args = parser.parse_args()
    chosen = {s.strip() for s in args.only.split(",") if s.strip()} or {s.name for s in SUITES}
    unknown = chosen - {s.name for s in SUITES}
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(sorted(unknown))}")
    out = args.out or ROOT / "benchmarks/results" / time.strftime("%Y%m%dT%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    summary: list[tuple[str, str, float]] = []
    for suite in SUITES:
        if suite.name not in chosen:
            continue
        if suite.name != "engine" and not (ROOT / "benchmarks" / _module_dir(suite.name)).exists():
            summary.append((suite.name, "not present", 0.0))
            continue
        print(f"\n=== {suite.name}: {suite.what}", flush=True)
        started = time.monotonic()
        try:
            if suite.name == "engine":
                build_engine_bench()
            result = subprocess.run(
                suite.command(args.quick, out / f"{suite.name}.json"), env=env, cwd=ROOT
            )
            status = "ok" if result.returncode == 0 else f"exit {result.returncode}"
        except (OSError, subprocess.CalledProcessError) as exc:
            status = f"failed: {exc}"
        summary.append((suite.name, status, time.monotonic() - started))
    print(f"\n=== summary (JSON in {out})")
    for name, status, seconds in summary:
        print(f"  {name:<10} {status:<14} {seconds:7.1f} s")
    return 0 if all(s == "ok" or s == "not present" for _, s, _ in summary) else 1


def _module_dir(name: str) -> str:
    return {"python": "python_peers.py"}.get(name, name)


if __name__ == "__main__":
    raise SystemExit(main())
