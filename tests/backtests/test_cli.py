"""`ordex backtest FLOW.json`: end to end in a subprocess against the fake Binance (pointed at it by
ORDEX_CCXT_BASE_URLS), with and without the database cache, and the exit code 2 of bad input."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ordex.cli import app
from tests.flows.examples import EXAMPLE_FLOW
from tests.marketdata.fake_binance import FakeBinance

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JANUARY = ["--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h",
           "--from", "2024-01-01", "--to", "2024-02-01"]  # fmt: skip


@pytest.fixture
def flow_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(EXAMPLE_FLOW()))
    return path


async def run_cli(
    fake: FakeBinance, cwd: Path, *args: str, database_url: str | None = None
) -> tuple[int, str, str]:
    """`ordex backtest ...` in its own process (the fake server keeps answering meanwhile)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["ORDEX_CCXT_BASE_URLS"] = json.dumps({"binance": fake.url})
    env["COLUMNS"] = "120"
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from ordex.cli import main; main()", "backtest", *args,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_downloads_prints_json_and_plots(
    fake_binance: FakeBinance, flow_file: Path, tmp_path: Path
) -> None:
    plot = tmp_path / "equity.png"
    code, out, err = await run_cli(
        fake_binance, tmp_path, str(flow_file), *JANUARY, "--capital", "2500",
        "--plot", str(plot), "--json",
    )  # fmt: skip
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    assert result["bars"] == 31 * 24
    assert result["metrics"]["pnl"] == pytest.approx(result["metrics"]["finalEquity"] - 2500)
    assert len(result["trades"]) == result["metrics"]["totalTrades"] > 0
    assert result["equityCurve"][0]["timestamp"] == "2024-01-01T00:00:00Z"
    assert fake_binance.requests.count("/api/v3/klines") == 1
    assert plot.read_bytes()[:8] == PNG_SIGNATURE and plot.stat().st_size > 10_000


async def test_with_a_database_a_rerun_uses_the_cache(
    fake_binance: FakeBinance, flow_file: Path, tmp_path: Path, database_url: str
) -> None:
    code, out, err = await run_cli(
        fake_binance, tmp_path, str(flow_file), *JANUARY, database_url=database_url
    )
    assert code == 0, err
    assert "Sharpe ratio" in out and "Win rate" in out
    requests = len(fake_binance.requests)
    assert requests > 0

    code, again, err = await run_cli(
        fake_binance, tmp_path, str(flow_file), *JANUARY, database_url=database_url
    )
    assert code == 0, err
    assert len(fake_binance.requests) == requests
    assert again == out


runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["backtest", *args], env={"DATABASE_URL": None})
    return result.exit_code, result.output


def test_bad_flow_files_exit_2(tmp_path: Path, flow_file: Path) -> None:
    missing = invoke(str(tmp_path / "nope.json"), *JANUARY)
    assert missing[0] == 2 and "cannot read" in missing[1]

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert invoke(str(broken), *JANUARY)[0] == 2

    listed = tmp_path / "list.json"
    listed.write_text("[]")
    assert invoke(str(listed), *JANUARY)[0] == 2

    flow = EXAMPLE_FLOW()
    flow["nodes"][1]["params"]["period"] = 1
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps(flow))
    code, output = invoke(str(invalid), *JANUARY)
    assert code == 2 and "rsi" in output


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (["--from", "yesterday"], "--from"),
        (["--to", "2023-12-01"], "endDate must be after startDate"),
        (["--timeframe", "3m"], "timeframe must be one of"),
        (["--capital", "-5"], "capital"),
    ],
)
def test_bad_arguments_exit_2(flow_file: Path, changes: list[str], message: str) -> None:
    code, output = invoke(str(flow_file), *JANUARY, *changes)
    assert code == 2
    assert message in output


def test_a_market_missing_from_flow_and_options_exits_2(flow_file: Path, tmp_path: Path) -> None:
    bare = EXAMPLE_FLOW()
    del bare["settings"]["symbol"]
    path = tmp_path / "bare.json"
    path.write_text(json.dumps(bare))
    code, output = invoke(str(path), "--from", "2024-01-01", "--to", "2024-01-02")
    assert code == 2 and "--symbol is required" in output
