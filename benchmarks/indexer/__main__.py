"""The indexer benchmark: `python -m benchmarks.indexer [--quick] [--json PATH]`.

A fixture chain (at least 10,000 transactions of the dev chain's simulated traffic, 1,000 with
--quick; `ORDEX_BENCH_FIXTURE=PATH` picks another recording), recorded once and served by a
replay JSON-RPC node, is ingested by ordex, fetched raw, exported by ethereum-etl and extracted by
cryo, one after the other against the same node; then `/api/v1/transactions?address=` is timed at
page 1 and page 500 on what ordex indexed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.exchange.http_vs_pgbench import start_api, wait_for_api
from benchmarks.exchange.servers import embedded_servers, row
from benchmarks.indexer import ordex_side, peers
from benchmarks.indexer.fixture import ensure_fixture, load_fixture
from benchmarks.suite_cli import suite_main
from ordex.embedded import free_port

FULL_TRANSACTIONS = 10_000
QUICK_TRANSACTIONS = 1_000
RAW_TARGET = 0.8  # ordex's ingest rate against the raw fetch of the same requests
ETL_TARGET = 10.0  # ordex's ingest rate against ethereum-etl's export
PAGE_DEPTH = 500
# Each row is run this many times, one after the other, and its median run reported (all runs'
# times in its details): on shared cores a single run can be a fifth off.
REPEATS = 3


def _rates(seconds: float, blocks: int, transactions: int, transfers: int | None) -> dict[str, Any]:
    rates = {
        "seconds": round(seconds, 3),
        "blocks_per_s": round(blocks / seconds, 1),
        "transactions_per_s": round(transactions / seconds, 1),
    }
    if transfers is not None:
        rates["transfers_per_s"] = round(transfers / seconds, 1)
    return rates


def run(quick: bool) -> list[dict[str, Any]]:
    chosen = os.environ.get("ORDEX_BENCH_FIXTURE")  # a given recording instead of the cached one
    path = (
        Path(chosen)
        if chosen
        else ensure_fixture(QUICK_TRANSACTIONS if quick else FULL_TRANSACTIONS)
    )
    fixture = load_fixture(path)
    head, blocks, transactions = fixture.head, fixture.head + 1, fixture.transaction_count
    devchain = fixture.meta["devchain"]
    del fixture  # the replay node holds its own copy
    print(f"fixture {path.name}: {blocks:,} blocks, {transactions:,} transactions", file=sys.stderr)
    repeats = 1 if quick else max(1, int(os.environ.get("ORDEX_BENCH_REPEATS", REPEATS)))
    with embedded_servers("indexer") as servers, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trace = work / "trace.jsonl"
        with ordex_side.replay_node(path, trace) as node:
            ingests = []
            for i in range(repeats):
                if i:
                    asyncio.run(ordex_side.reset_indexed(servers.database_url))
                ingests.append(ordex_side.run_ingest(servers, node, head, devchain, timeout=900))
                print(f"ordex ingest: {ingests[-1]['seconds']:.2f} s", file=sys.stderr)
            # The requests of the first ingest (the trace holds the later ones after them).
            bodies = ordex_side.traced_bodies(trace, ingests[0]["reached_at"])
            ingest = _median(ingests, "seconds")
            ingest.pop("reached_at")
            transfers = ingest["transfers"]
            from ordex.services.indexer import IndexerSettings

            concurrency = IndexerSettings().indexer_rpc_concurrency
            raw = _median(
                [ordex_side.run_raw_fetch(node, bodies, concurrency) for _ in range(repeats)],
                "seconds",
            )
            print(f"raw fetch: {raw['seconds']:.2f} s", file=sys.stderr)
            etl = _median(
                [
                    _peer(
                        node, lambda i=i: peers.run_ethereum_etl(node.url, head, work / f"etl{i}")
                    )
                    for i in range(repeats)
                ],
                "export_seconds",
            )
            print(f"ethereum-etl: {etl['export_seconds']:.2f} s", file=sys.stderr)
            cryo = _median(
                [
                    _peer(node, lambda i=i: peers.run_cryo(node.url, head, work / f"cryo{i}"))
                    for i in range(repeats)
                ],
                "collect_seconds",
            )
            print(f"cryo: {cryo['collect_seconds']} s", file=sys.stderr)
            routes = _routes(servers, node.url, quick)
    ordex_rate = blocks / ingest["seconds"]
    raw_rate = blocks / raw["seconds"]
    etl_rate = blocks / etl["export_seconds"]
    cryo_rate = blocks / (cryo["collect_seconds"] or cryo["seconds"])
    rows = [
        row(
            "ordex ingest (worker -> PostgreSQL)",
            ordex_rate,
            "blocks/s",
            "",
            None,
            None,
            **_rates(ingest["seconds"], blocks, transactions, transfers),
            **{k: v for k, v in ingest.items() if k != "seconds"},
        ),
        row(
            "raw fetch of the same requests",
            raw_rate,
            "blocks/s",
            f"ordex >= {RAW_TARGET}x",
            ordex_rate >= RAW_TARGET * raw_rate,
            ordex_rate / raw_rate,
            **_rates(raw["seconds"], blocks, transactions, None),
            **{k: v for k, v in raw.items() if k != "seconds"},
        ),
        row(
            "ethereum-etl export",
            etl_rate,
            "blocks/s",
            f"ordex >= {ETL_TARGET:.0f}x",
            ordex_rate >= ETL_TARGET * etl_rate,
            ordex_rate / etl_rate,
            **_rates(etl["export_seconds"], blocks, transactions, etl["rows"]["token_transfers"]),
            **{k: v for k, v in etl.items() if k != "seconds"},
            wall_seconds_with_startup=round(etl["seconds"], 2),
        ),
        row(
            "cryo extract",
            cryo_rate,
            "blocks/s",
            "(ratio reported)",
            None,
            ordex_rate / cryo_rate,
            **_rates(cryo["collect_seconds"] or cryo["seconds"], blocks, transactions, None),
            **{k: v for k, v in cryo.items() if k not in ("seconds", "files")},
            wall_seconds_with_startup=round(cryo["seconds"], 2),
            where_the_time_goes=_where_the_time_goes(ingest, raw, cryo),
        ),
    ]
    details = {k: v for k, v in routes.items() if not isinstance(v, dict)}
    for name, timing in routes.items():
        if isinstance(timing, dict):
            for q in ("p50", "p99"):
                rows.append(
                    row(
                        f"/transactions?address= {name} {q}",
                        timing[f"{q}_ms"],
                        "ms",
                        "(reported)",
                        None,
                        None,
                        **({"requests": timing["requests"], **details} if q == "p50" else {}),
                    )
                )
                details = {}  # said once
    return rows


def _median(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the median `key` (the lower middle one of an even count), with every run's
    `key` in `runs_<key>`."""
    ordered = sorted(runs, key=lambda r: r[key] or r.get("seconds") or 0)
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen[f"runs_{key}"] = [round(r[key], 3) if r[key] is not None else None for r in runs]
    return chosen


def _where_the_time_goes(ingest: dict[str, Any], raw: dict[str, Any], cryo: dict[str, Any]) -> str:
    """One sentence from the CPU readings: what ordex spends beyond fetching, next to cryo."""
    cpu = ingest["cpu_seconds"]
    cryo_seconds = cryo["collect_seconds"] or cryo["seconds"]
    return (
        f"ordex {ingest['seconds']:.2f} s wall: worker {cpu['indexer worker']:.2f} s CPU "
        f"(decode, pricing, COPY rows), PostgreSQL {cpu['postgres']:.2f} s CPU, the same "
        f"requests alone {raw['seconds']:.2f} s; cryo {cryo_seconds:.2f} s wall, "
        f"{cryo['cpu_seconds']:.2f} s CPU (Rust, {cryo['max_connections']} connections, one "
        f"call per request), writes parquet files and no database"
    )


def _peer(node: ordex_side.ReplayNode, job: Any) -> dict[str, Any]:
    """A peer's run with what it asked of the node and the node's CPU meanwhile."""
    node.reset()
    before = node.cpu()
    result: dict[str, Any] = job()
    stats = node.stats()
    result["rpc_requests"] = stats["requests"]
    result["rpc_calls"] = stats["calls"]
    result["rpc_misses"] = stats["misses"]
    result["max_connections"] = stats["max_connections"]
    result["replay_node_cpu_seconds"] = round(node.cpu() - before, 2)
    return result


def _routes(servers: Any, rpc_url: str, quick: bool) -> dict[str, Any]:
    address, count = asyncio.run(ordex_side.busiest_address(servers.database_url))
    # Page 500 needs 500 full pages of one address: the page size is what the busiest allows
    # (up to the contract example's 20); a small fixture goes as deep as it can.
    page_size = max(1, min(20, count // PAGE_DEPTH))
    depth = min(PAGE_DEPTH, count // page_size)
    port = free_port()
    api = start_api(servers, port, ETH_RPC_URL=rpc_url)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_for_api(base, api))
        token = asyncio.run(ordex_side.bearer_token(base))
        results = asyncio.run(
            ordex_side.measure_routes(base, token, address, page_size, depth, 100 if quick else 500)
        )
    finally:
        os.killpg(api.pid, signal.SIGTERM)
        api.wait(timeout=30)
    return {"address": address, "address_transactions": count, "page_size": page_size, **results}


def main() -> int:
    return suite_main("indexer", run, f"a {QUICK_TRANSACTIONS:,}-transaction fixture")


if __name__ == "__main__":
    raise SystemExit(main())
