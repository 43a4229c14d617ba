"""`ordex backtest FLOW.json`: run a flow document over an exchange's candles from the terminal.

Candles come through the same service as the API's backtests: with DATABASE_URL set they go
through its cache (a rerun over a cached range makes no network call; `--exchange ordex` reads
ordex's own trades there), without it they are downloaded and not kept. ORDEX_CCXT_BASE_URLS
(JSON, exchange id -> base URL) points an exchange at a mirror or a local server, as it does for
the API. A progress bar follows the download, then the metrics print as a table (or JSON with
`--json`); `--plot FILE` writes the equity curve with the drawdown under it as a PNG.

Exit codes: 0 done, 1 the run failed (exchange, database, no candles), 2 a bad flow file or bad
arguments.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ordex.db.candles import CandleColumns
    from ordex.services.backtests import BacktestSpec

console = Console(stderr=True)


def _fail(message: str, code: int) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def _read_flow(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}", 2)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"{path} is not a JSON document: {exc}", 2)
    if not isinstance(document, dict):
        _fail(f"{path} must hold a JSON object (a flow document)", 2)
    return document


def _parse_date(text: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        _fail(f"{option} {text!r} is not an ISO 8601 date (2024-01-01 or 2024-01-01T12:00Z)", 2)


def _setting(value: str | None, settings: Mapping[str, Any], key: str, option: str) -> str:
    chosen = value if value is not None else settings.get(key)
    if not isinstance(chosen, str) or not chosen:
        _fail(f"{option} is required (the flow's settings have no {key})", 2)
    return chosen


def backtest(
    flow_file: Annotated[
        Path, typer.Argument(help="The flow document (JSON)", metavar="FLOW.json")
    ],
    start: Annotated[
        str, typer.Option("--from", help="Start date, ISO 8601 (inclusive; no zone means UTC)")
    ],
    end: Annotated[str, typer.Option("--to", help="End date, ISO 8601 (exclusive)")],
    exchange: Annotated[
        str | None, typer.Option(help="ccxt exchange id or 'ordex' (default: the flow's)")
    ] = None,
    symbol: Annotated[
        str | None, typer.Option(help="Unified symbol, e.g. BTC/USDT (default: the flow's)")
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="1m 5m 15m 30m 1h 4h 1d (default: the flow's)")
    ] = None,
    capital: Annotated[
        float | None, typer.Option(help="Initial capital (default: the flow's)", min=0)
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the equity curve and drawdown to this PNG")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Backtest a flow document over historical candles."""
    from ordex.services.backtests import BacktestSpec, check_flow, flow_for_run
    from ordex.services.candles import window
    from ordex.services.errors import ServiceError

    document = _read_flow(flow_file)
    raw_settings = document.get("settings")
    settings: Mapping[str, Any] = raw_settings if isinstance(raw_settings, Mapping) else {}
    if capital is not None and capital <= 0:
        _fail("--capital must be greater than 0", 2)
    spec = BacktestSpec(
        exchange=_setting(exchange, settings, "exchange", "--exchange"),
        symbol=_setting(symbol, settings, "symbol", "--symbol"),
        timeframe=_setting(timeframe, settings, "timeframe", "--timeframe"),
        start=_parse_date(start, "--from"),
        end=_parse_date(end, "--to"),
        initial_capital=capital,
    )
    run_document = flow_for_run(document, spec)
    try:
        window(spec.candle_query())
        check_flow(run_document)
    except ServiceError as exc:
        _fail(_describe(exc), 2)
    candles = asyncio.run(_load(spec))
    if len(candles) == 0:
        _fail(
            f"{spec.exchange} has no closed {spec.timeframe} candles for {spec.symbol} "
            f"in [{start}, {end})",
            1,
        )
    import ordex

    result = ordex.backtest(run_document, candles.as_mapping())
    if plot is not None:
        title = f"{spec.symbol} {spec.timeframe} on {spec.exchange}"
        write_plot(plot, candles.timestamp, result.equity(), title)
    if as_json:
        _print_json(spec, result, len(candles))
    else:
        _print_table(spec, dict(result.metrics), len(candles))
        if plot is not None:
            console.print(f"plot written to {plot}")


def _describe(exc: Exception) -> str:
    from ordex.services.errors import ServiceError

    if not isinstance(exc, ServiceError):
        return str(exc)
    details = exc.details
    if isinstance(details, Mapping) and details.get("node"):
        return f"{exc.message} (node {details['node']})"
    if isinstance(details, str) and details:
        return f"{exc.message}: {details}"
    return exc.message


async def _load(spec: BacktestSpec) -> CandleColumns:
    """The candles, with a progress bar; exits 2 on a refused argument, 1 on other failures."""
    import asyncpg
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ordex.config import Settings
    from ordex.services.candles import load_candles
    from ordex.services.errors import ServiceError
    from ordex.services.market_data import CcxtExchanges
    from ordex.services.market_data_settings import MarketDataSettings
    from ordex.services.markets import MarketRegistry

    market_settings = MarketDataSettings()
    exchanges = CcxtExchanges(
        base_urls=market_settings.ordex_ccxt_base_urls,
        timeout_ms=market_settings.ordex_ccxt_timeout_ms,
    )
    database_url = Settings().database_url
    conn: asyncpg.Connection | None = None
    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "bars",
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(f"{spec.exchange} {spec.symbol} {spec.timeframe}", total=None)

    def report(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        if database_url is not None:
            conn = await asyncpg.connect(database_url)
        registry = (
            await MarketRegistry.load(conn)
            if conn is not None and spec.exchange == "ordex"
            else None
        )
        with progress:
            return await load_candles(
                spec.candle_query(),
                exchanges=exchanges,
                conn=conn,
                registry=registry,
                progress=report,
            )
    except ServiceError as exc:
        _fail(_describe(exc), 2 if exc.status_code == 400 else 1)
    except (OSError, asyncpg.PostgresError) as exc:
        _fail(f"database: {exc} (is DATABASE_URL right, and `ordex migrate` run?)", 1)
    finally:
        await exchanges.close()
        if conn is not None:
            await conn.close()


def _money(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.2f}"


def _percent(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f} %"


def _ratio(value: Any) -> str:
    return "-" if value is None else f"{float(value):.2f}"


def _print_table(spec: BacktestSpec, metrics: Mapping[str, Any], bars: int) -> None:
    from ordex.services.backtests import iso

    out = Console()
    out.print(
        f"[bold]{spec.symbol} {spec.timeframe}[/bold] on {spec.exchange}, "
        f"{iso(spec.start)} to {iso(spec.end)}: {bars:,} bars",
        highlight=False,
    )
    table = Table(show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = (
        ("PnL", _money(metrics.get("pnl"))),
        ("PnL %", _percent(metrics.get("pnlPercent"))),
        ("Final equity", _money(metrics.get("finalEquity"))),
        ("Fees", _money(metrics.get("fees"))),
        ("Max drawdown", _money(metrics.get("maxDrawdown"))),
        ("Max drawdown %", _percent(metrics.get("maxDrawdownPercent"))),
        ("Sharpe ratio", _ratio(metrics.get("sharpeRatio"))),
        ("Profit factor", _ratio(metrics.get("profitFactor"))),
        (
            "Win rate",
            _percent(None if metrics.get("winRate") is None else metrics["winRate"] * 100),
        ),
        ("Trades", str(metrics.get("totalTrades", 0))),
        ("Winning", str(metrics.get("winningTrades", 0))),
        ("Losing", str(metrics.get("losingTrades", 0))),
    )
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)


def _print_json(spec: BacktestSpec, result: Any, bars: int) -> None:
    from ordex.services.backtests import equity_curve, iso, trade_json, trade_rows

    output = {
        "exchange": spec.exchange,
        "symbol": spec.symbol,
        "timeframe": spec.timeframe,
        "startDate": iso(spec.start),
        "endDate": iso(spec.end),
        "bars": bars,
        "metrics": dict(result.metrics),
        "equityCurve": equity_curve(result.daily_equity()),
        "trades": [trade_json(t) for t in trade_rows(result.trades)],
    }
    sys.stdout.write(json.dumps(output, indent=2) + "\n")


def write_plot(path: Path, timestamps: Sequence[int], equity: Sequence[float], title: str) -> None:
    """Equity at every bar's close, and under it the drawdown from the running peak in percent."""
    from datetime import UTC
    from itertools import accumulate

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    times = [datetime.fromtimestamp(ms / 1000, tz=UTC) for ms in timestamps]
    peaks = list(accumulate(equity, max))
    drawdown = [(e - p) / p * 100 if p > 0 else 0.0 for e, p in zip(equity, peaks, strict=True)]
    figure = Figure(figsize=(11, 6.5), layout="constrained")
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}, squeeze=True
    )
    top.plot(times, equity, color="#2196F3", linewidth=1.0)
    top.set_title(title)
    top.set_ylabel("equity")
    top.grid(alpha=0.3)
    bottom.fill_between(times, drawdown, 0, color="#F44336", alpha=0.4, linewidth=0)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    figure.savefig(path, format="png", dpi=110)
