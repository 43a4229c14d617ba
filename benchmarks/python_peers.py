"""ordex through Python against the order books on PyPI and a pure-Python baseline.

Every engine replays the same seeded workload (`benchmarks.peers.workload`): resting limit orders,
some priced through the book, IOC orders, cancels and amends. ordex is measured three ways:
one call per command (`Engine.place` / `cancel` / `amend`), one `Engine.process` call over
prebuilt command objects (also reported with the construction of those objects included), and
`Engine.process_json` over pre-encoded payloads. Peers run their own per-order API in a Python
loop, on the whole workload or, for the slowest, on a prefix. Each rate is the best of three
fresh replays; trades are checked against ordex's on the same commands.

    python -m benchmarks.python_peers [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import orjson

import ordex
from benchmarks.peers import all_peers
from benchmarks.peers.base import AMEND, CANCEL, IOC, LIMIT, Command, Peer, PeerUnavailable, Trade
from benchmarks.peers.pure_python import PurePythonPeer
from benchmarks.peers.workload import WorkloadSpec, describe, generate

FULL_COMMANDS = 200_000
REPEATS = 3
# --quick only shows that everything runs and agrees: few commands, one timed replay, and the
# peers that already run on a prefix get a quarter of it
QUICK_COMMANDS = 2_000
QUICK_REPEATS = 1
QUICK_CAP_DIVISOR = 4
BATCH_CHUNK = 10_000
TARGET_BATCH_RATE = 3_000_000
TARGET_SINGLE_RATE = 1_000_000
TARGET_PEER_MULTIPLE = 10.0

OrdexCommand = ordex.Order | ordex.Cancel | ordex.Amend


@dataclass
class Row:
    engine: str
    api: str
    commands: int
    seconds: float | None = None
    rate: float | None = None
    """Commands per second, best of the repeats."""
    single_ratio: float | None = None
    """ordex single-call rate divided by this row's rate (peers only)."""
    batch_ratio: float | None = None
    """ordex batch rate divided by this row's rate (peers only)."""
    trades: int | None = None
    traded_qty: int | None = None
    trades_match: str = ""
    note: str = ""


def market_config() -> ordex.MarketConfig:
    return ordex.MarketConfig(
        "BENCH", "SPOT", "B", "Q", tick_size="1", lot_size="1", quote_decimals=2
    )


def timings(repeats: int, replay: Callable[[], float]) -> list[float]:
    """Seconds of `repeats` timed replays, each after a full collection so no run pays for the
    garbage of the one before."""
    seconds = []
    for _ in range(repeats):
        gc.collect()
        seconds.append(replay())
    return seconds


def best_of(repeats: int, replay: Callable[[], float]) -> float:
    return min(timings(repeats, replay))


# ---------------------------------------------------------------------------------------------
# ordex


def replay_ordex_single(commands: Sequence[Command], trades_out: list[Trade] | None) -> float:
    engine = ordex.Engine(market_config())
    place, cancel, amend = engine.place, engine.cancel, engine.amend
    record = trades_out.extend if trades_out is not None else None
    started = perf_counter()
    for kind, order_id, account, is_buy, price, qty in commands:
        if kind == LIMIT:
            events = place(order_id, account, "BUY" if is_buy else "SELL", price, qty)
        elif kind == IOC:
            events = place(
                order_id, account, "BUY" if is_buy else "SELL", price, qty, time_in_force="IOC"
            )
        elif kind == CANCEL:
            events = cancel(order_id, account)
        else:
            events = amend(order_id, account, price=price, qty=qty)
        if record is not None:
            record(events.trades())
    return perf_counter() - started


def build_ordex_commands(commands: Sequence[Command]) -> list[OrdexCommand]:
    new_order, cancel, amend = ordex.Order, ordex.Cancel, ordex.Amend
    built: list[OrdexCommand] = []
    append = built.append
    for kind, order_id, account, is_buy, price, qty in commands:
        if kind == LIMIT:
            append(new_order(order_id, account, "BUY" if is_buy else "SELL", price, qty))
        elif kind == IOC:
            append(
                new_order(
                    order_id, account, "BUY" if is_buy else "SELL", price, qty, time_in_force="IOC"
                )
            )
        elif kind == CANCEL:
            append(cancel(order_id, account))
        else:
            append(amend(order_id, account, price, qty))
    return built


def encode_ordex_json(commands: Sequence[Command]) -> list[bytes]:
    """Payloads in the engine stream schema; with tick and lot size 1, ticks and lots print as
    the decimal strings themselves."""
    payloads = []
    for kind, order_id, account, is_buy, price, qty in commands:
        if kind == CANCEL:
            body: dict[str, Any] = {"type": "cancel", "order_id": order_id, "account": account}
        elif kind == AMEND:
            body = {"type": "amend", "order_id": order_id, "account": account}
            body |= {"price": str(price), "qty": str(qty)}
        else:
            body = {"type": "place", "order_id": order_id, "account": account}
            body |= {"side": "BUY" if is_buy else "SELL", "price": str(price), "qty": str(qty)}
            if kind == IOC:
                body["time_in_force"] = "IOC"
        payloads.append(orjson.dumps(body))
    return payloads


def json_trades(encoded_events: list[bytes]) -> list[Trade]:
    trades: list[Trade] = []
    for payload in encoded_events:
        if b'"type":"trade"' in payload:
            event = orjson.loads(payload)
            trades.append(
                (
                    event["taker_order_id"],
                    event["maker_order_id"],
                    int(event["price"]),
                    int(event["qty"]),
                )
            )
    return trades


def ordex_batch_trades(commands: Sequence[Command]) -> list[Trade]:
    return ordex.Engine(market_config()).process(build_ordex_commands(commands)).trades()


def rejected_count(commands: Sequence[Command]) -> int:
    return (
        ordex.Engine(market_config())
        .process(build_ordex_commands(commands))
        .kinds()
        .count("rejected")
    )


def measure_ordex(commands: list[Command], repeats: int) -> tuple[list[Row], list[Trade]]:
    """Rows for single calls, batch, batch with construction and JSON; and the reference trades
    (single calls), after checking that the batch and JSON paths trade identically."""
    n = len(commands)
    reference: list[Trade] = []
    replay_ordex_single(commands, reference)
    traded = sum(trade[3] for trade in reference)

    def same_as_single(trades: list[Trade]) -> str:
        return "yes (same as single calls)" if trades == reference else "no (differs from single)"

    single = best_of(repeats, lambda: replay_ordex_single(commands, None))

    build_seconds = best_of(repeats, lambda: _timed(lambda: build_ordex_commands(commands)))
    prebuilt = build_ordex_commands(commands)

    def replay_batch() -> float:
        engine = ordex.Engine(market_config())
        started = perf_counter()
        engine.process(prebuilt)
        return perf_counter() - started

    def replay_batch_with_construction() -> float:
        engine = ordex.Engine(market_config())
        started = perf_counter()
        engine.process(build_ordex_commands(commands))
        return perf_counter() - started

    def replay_batch_in_chunks() -> float:
        engine = ordex.Engine(market_config())
        chunks = [prebuilt[i : i + BATCH_CHUNK] for i in range(0, n, BATCH_CHUNK)]
        started = perf_counter()
        for chunk in chunks:
            engine.process(chunk)
        return perf_counter() - started

    batch_runs = timings(repeats, replay_batch)
    batch = min(batch_runs)
    chunked = best_of(repeats, replay_batch_in_chunks)
    batch_built = best_of(repeats, replay_batch_with_construction)
    batch_trades = ordex.Engine(market_config()).process(prebuilt).trades()

    payloads = encode_ordex_json(commands)

    def replay_json() -> float:
        engine = ordex.Engine(market_config())
        started = perf_counter()
        engine.process_json(payloads)
        return perf_counter() - started

    json_seconds = best_of(repeats, replay_json)
    encoded_events = ordex.Engine(market_config()).process_json(payloads)

    rejected = rejected_count(commands)
    reject_note = f"{rejected} rejected" if rejected else "no rejections"
    rows = [
        Row("ordex", "single calls (place/cancel/amend)", n, single, n / single),
        Row(
            "ordex",
            "batch: process(prebuilt objects)",
            n,
            batch,
            n / batch,
            note=f"one call for the whole workload; slowest run {n / max(batch_runs):,.0f}/s",
        ),
        Row(
            "ordex",
            f"batch: process() per {BATCH_CHUNK:,} commands",
            n,
            chunked,
            n / chunked,
            note="prebuilt objects, one call per chunk",
        ),
        Row(
            "ordex",
            "batch incl. building Order/Cancel/Amend",
            n,
            batch_built,
            n / batch_built,
            note=f"building alone: {n / build_seconds:,.0f}/s",
        ),
        Row(
            "ordex",
            "process_json(pre-encoded payloads)",
            n,
            json_seconds,
            n / json_seconds,
            note=f"{len(encoded_events):,} event payloads out",
        ),
    ]
    checks = [
        f"reference; {reject_note}",
        same_as_single(batch_trades),
        same_as_single(batch_trades),
        same_as_single(batch_trades),
        same_as_single(json_trades(encoded_events)),
    ]
    for row, check in zip(rows, checks, strict=True):
        row.trades, row.traded_qty, row.trades_match = len(reference), traded, check
    return rows, reference


def _timed(work: Callable[[], object]) -> float:
    started = perf_counter()
    work()
    return perf_counter() - started


# ---------------------------------------------------------------------------------------------
# peers


def compare_trades(peer_trades: list[Trade], ordex_trades: list[Trade]) -> str:
    if peer_trades == ordex_trades:
        return "yes (identical sequence)"
    peer_qty = sum(trade[3] for trade in peer_trades)
    ordex_qty = sum(trade[3] for trade in ordex_trades)
    if len(peer_trades) == len(ordex_trades) and peer_qty == ordex_qty:
        return "partial (same count and quantity, different sequence)"
    if sorted(peer_trades) == sorted(ordex_trades):
        return "partial (same trades, different order)"
    return (
        f"no ({len(peer_trades):,} trades / {peer_qty:,} lots vs ordex "
        f"{len(ordex_trades):,} / {ordex_qty:,})"
    )


def measure_peer(
    peer: Peer, commands: list[Command], quick: bool, repeats: int, ordex_reference: list[Trade]
) -> Row:
    try:
        peer.load()
    except PeerUnavailable as exc:
        reason = str(exc)
        if not reason.startswith("not installed"):
            reason = f"not usable: {reason}"
        return Row(peer.name, "-", 0, trades_match="-", note=reason)
    cap = len(commands)
    if peer.command_cap is not None:
        cap = peer.command_cap // QUICK_CAP_DIVISOR if quick else peer.command_cap
    prefix = commands[:cap]
    n = len(prefix)
    row = Row(peer.name, peer.adaptation, n)
    try:
        peer_trades: list[Trade] = []
        peer.replay(prefix, peer_trades)
        seconds = best_of(repeats, lambda: peer.replay(prefix, None))
    except Exception as exc:
        row.note = f"error while replaying: {type(exc).__name__}: {exc}"
        row.trades_match = "-"
        return row
    row.seconds, row.rate = seconds, n / seconds
    row.trades, row.traded_qty = len(peer_trades), sum(trade[3] for trade in peer_trades)
    reference = ordex_reference if n == len(commands) else ordex_batch_trades(prefix)
    row.trades_match = compare_trades(peer_trades, reference)
    notes = []
    if n < len(commands):
        notes.append(f"first {n:,} commands only (too slow for all)")
    if peer.known_difference and not row.trades_match.startswith("yes"):
        notes.append(peer.known_difference)
    row.note = "; ".join(notes)
    return row


# ---------------------------------------------------------------------------------------------
# report


def fill_ratios(rows: list[Row]) -> None:
    single, batch = _ordex_rate(rows, "single"), _ordex_rate(rows, "batch: process(")
    for row in rows:
        if row.engine != "ordex" and row.rate:
            row.single_ratio = single / row.rate
            row.batch_ratio = batch / row.rate


def target_lines(rows: list[Row]) -> list[str]:
    """The issue's targets: absolute rates, and a multiple of the fastest peer, judged against
    the fastest peer of all, the fastest whose trades agree with ordex, and the fastest such
    package from PyPI (the baseline is not one)."""
    single = _ordex_rate(rows, "single")
    batch = _ordex_rate(rows, "batch: process(")
    lines = [
        _target("batch", batch, TARGET_BATCH_RATE),
        _target("single calls", single, TARGET_SINGLE_RATE),
    ]
    measured = [row for row in rows if row.engine != "ordex" and row.rate]
    agreeing = [row for row in measured if row.trades_match.startswith("yes")]
    from_pypi = [row for row in agreeing if row.engine != PurePythonPeer.name]
    compared: set[str] = set()
    for label, candidates in (
        ("fastest peer", measured),
        ("fastest peer with matching trades", agreeing),
        ("fastest PyPI peer with matching trades", from_pypi),
    ):
        if not candidates:
            continue
        fastest = max(candidates, key=lambda row: row.rate or 0.0)
        if fastest.engine in compared:
            continue
        compared.add(fastest.engine)
        rate = fastest.rate or 1.0
        multiples = [single / rate, batch / rate]
        verdict = "met" if min(multiples) >= TARGET_PEER_MULTIPLE else "NOT met"
        lines.append(
            f"vs {label} ({fastest.engine}, {rate:,.0f}/s): single calls {multiples[0]:.1f}x, "
            f"batch {multiples[1]:.1f}x (target {TARGET_PEER_MULTIPLE:.0f}x: {verdict})"
        )
    return lines


def _ordex_rate(rows: list[Row], api_prefix: str) -> float:
    return next(
        row.rate or 0.0 for row in rows if row.engine == "ordex" and row.api.startswith(api_prefix)
    )


def _target(label: str, rate: float, target: float) -> str:
    verdict = "met" if rate >= target else "NOT met"
    return f"ordex {label}: {rate:,.0f} commands/s (target {target:,.0f}: {verdict})"


def _fmt_rate(value: float | None) -> str:
    return f"{value:,.0f}" if value is not None else "-"


def _fmt_ratio(value: float | None) -> str:
    return f"{value:,.1f}x" if value is not None else "-"


def table_cells(row: Row) -> list[str]:
    return [
        row.engine,
        row.api,
        f"{row.commands:,}" if row.commands else "-",
        _fmt_rate(row.rate),
        _fmt_ratio(row.single_ratio),
        _fmt_ratio(row.batch_ratio),
        f"{row.trades:,}" if row.trades is not None else "-",
        row.trades_match,
        row.note,
    ]


HEADERS = [
    "engine",
    "API",
    "commands",
    "commands/s",
    "ordex single /",
    "ordex batch /",
    "trades",
    "trades match",
    "note",
]


def print_report(rows: list[Row], header: list[str], footer: list[str]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _print_plain(rows, header, footer)
        return
    console = Console(width=max(Console().width, 200))
    for line in header:
        console.print(line, highlight=False)
    table = Table(show_lines=False)
    for name in HEADERS:
        numeric = name in {"commands", "commands/s", "trades"} or "/" in name
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*table_cells(row))
    console.print(table)
    for line in footer:
        console.print(line, highlight=False)


def _print_plain(rows: list[Row], header: list[str], footer: list[str]) -> None:
    cells = [HEADERS, *(table_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    print("\n".join(header))
    for line in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    print("\n".join(footer))


# ---------------------------------------------------------------------------------------------
# entry points


def measure(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    spec = WorkloadSpec(commands=QUICK_COMMANDS if quick else FULL_COMMANDS)
    repeats = QUICK_REPEATS if quick else REPEATS
    started = perf_counter()
    commands = generate(spec)
    workload = {
        "commands": len(commands),
        "seed": spec.seed,
        "mix": describe(commands),
        "generated_in_seconds": round(perf_counter() - started, 3),
        "repeats": repeats,
    }
    rows, reference = measure_ordex(commands, repeats)
    for peer in all_peers():
        rows.append(measure_peer(peer, commands, quick, repeats, reference))
    fill_ratios(rows)
    return rows, workload


def run(quick: bool) -> list[dict[str, Any]]:
    """The rows of one measurement, as plain dicts (for the suite runner)."""
    rows, _workload = measure(quick)
    return [asdict(row) for row in rows]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.python_peers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small workload (for tests)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    started = perf_counter()
    rows, workload = measure(args.quick)
    mix = ", ".join(f"{count:,} {kind}" for kind, count in workload["mix"].items())
    header = [
        f"ordex {ordex.__version__} through Python, Python {sys.version.split()[0]}; "
        f"workload: {workload['commands']:,} commands ({mix}), seed {workload['seed']}; "
        f"best of {workload['repeats']}",
    ]
    footer = [*target_lines(rows), f"total time {perf_counter() - started:.1f} s"]
    print_report(rows, header, footer)
    if args.json is not None:
        document = {
            "workload": workload,
            "rows": [asdict(row) for row in rows],
            "targets": target_lines(rows),
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
