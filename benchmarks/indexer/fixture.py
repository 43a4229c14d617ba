"""The fixture chain: recorded once from the dev chain, replayed by every run.

`python -m benchmarks.indexer.fixture [--transactions N]` runs a dev chain and its traffic
generator (ETH and ERC-20 transfers, swaps, LP mints and burns, NFT transfers) 100 blocks at a
time, reading each chunk's blocks (full transactions), receipts (logs included) and pool state
right after it is mined, until at least N transactions are recorded; then token metadata. It
writes them, zstd-compressed, under the cache folder (a `.partial` copy every few chunks).
`--rpc URL` instead records the blocks and receipts of an already running node (no state reads:
such a recording serves peers, not the ordex ingest's pricing).

Producing it takes many minutes (eth-tester mines some 5-20 transactions/s of this traffic); it
is done once and kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import zstandard

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ORDEX_BENCH_CACHE", ROOT / "benchmarks/results/indexer-fixture"))
TAGS = ("latest", "pending", "safe", "finalized")
# A recorded call the node answered with an error (a revert: a token without decimals()).
RPC_ERROR = "__rpc_error__"


@dataclass
class Fixture:
    chain_id: int
    head: int
    blocks: list[dict[str, Any]]  # index = block number, full transactions
    receipts: list[list[dict[str, Any]]]  # index = block number
    calls: dict[str, Any] = field(default_factory=dict)  # call_key -> result
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def transaction_count(self) -> int:
        return sum(len(b["transactions"]) for b in self.blocks)

    @property
    def log_count(self) -> int:
        return sum(len(r["logs"]) for receipts in self.receipts for r in receipts)


def fixture_path(transactions: int) -> Path:
    return CACHE / f"chain-{transactions}.json.zst"


def calls_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(".json.zst") + ".calls.json")


def call_key(method: str, params: list[Any], head: int) -> str:
    """A call's identity regardless of how a client spells it: lower-case hex, block tags as
    numbers, and for eth_call only the target and the input (not from/gas/value defaults)."""

    def block(tag: Any) -> Any:
        if tag in TAGS or tag is None:
            return hex(head)
        if isinstance(tag, int):
            return hex(tag)
        if isinstance(tag, str) and tag.startswith("0x") and len(tag) < 66:
            return hex(int(tag, 16))
        if isinstance(tag, dict):  # EIP-1898 {"blockNumber": ...} / {"blockHash": ...}
            return block(tag.get("blockNumber", tag.get("blockHash")))
        return tag.lower() if isinstance(tag, str) else tag

    if method in ("eth_call", "eth_estimateGas"):
        call = params[0] if params else {}
        data = call.get("data") or call.get("input") or "0x"
        shaped: list[Any] = [
            {"to": (call.get("to") or "").lower(), "data": data.lower()},
            block(params[1] if len(params) > 1 else "latest"),
        ]
    elif method in ("eth_getBalance", "eth_getCode", "eth_getTransactionCount"):
        shaped = [str(params[0]).lower(), block(params[1] if len(params) > 1 else "latest")]
    elif method == "eth_getStorageAt":
        shaped = [str(params[0]).lower(), str(params[1]).lower(), block(params[2])]
    else:
        shaped = [p.lower() if isinstance(p, str) else p for p in params]
    return method + orjson.dumps(shaped, option=orjson.OPT_SORT_KEYS).decode()


def save_fixture(path: Path, fixture: Fixture) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "chain_id": fixture.chain_id,
        "head": fixture.head,
        "blocks": fixture.blocks,
        "receipts": fixture.receipts,
        "calls": fixture.calls,
        "meta": fixture.meta,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(zstandard.ZstdCompressor(level=6).compress(orjson.dumps(document)))
    tmp.replace(path)


def load_fixture(path: Path) -> Fixture:
    document = orjson.loads(zstandard.ZstdDecompressor().decompress(path.read_bytes()))
    calls = document.get("calls", {})
    calls_file = calls_path(path)
    if calls_file.exists():
        calls.update(orjson.loads(calls_file.read_bytes()))
    return Fixture(
        chain_id=document["chain_id"],
        head=document["head"],
        blocks=document["blocks"],
        receipts=document["receipts"],
        calls=calls,
        meta=document.get("meta", {}),
    )


def save_calls(path: Path, recorded: dict[str, Any]) -> None:
    """Merge answers recorded from an upstream node into the fixture's calls file."""
    calls_file = calls_path(path)
    calls = orjson.loads(calls_file.read_bytes()) if calls_file.exists() else {}
    calls.update(recorded)
    calls_file.write_bytes(orjson.dumps(calls, option=orjson.OPT_SORT_KEYS))


class RpcClient:
    """Plain batched JSON-RPC over one keep-alive connection (the recorder's only client)."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=300)

    def call(self, method: str, *params: Any) -> Any:
        return self.batch([(method, list(params))])[0]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        out = self.batch_settled(calls)
        for (method, _), result in zip(calls, out, strict=True):
            if isinstance(result, dict) and RPC_ERROR in result:
                raise RuntimeError(f"{method}: {result[RPC_ERROR]}")
        return out

    def batch_settled(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Each call's result, or `{RPC_ERROR: error}` where the node answered an error."""
        body = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        replies = orjson.loads(self.client.post("/", content=orjson.dumps(body)).content)
        by_id = {r["id"]: r for r in replies}
        return [
            {RPC_ERROR: by_id[i]["error"]} if "error" in by_id[i] else by_id[i]["result"]
            for i in range(len(calls))
        ]


def dump_chain(url: str, head: int | None = None, batch: int = 50) -> Fixture:
    """Every block 0..head with full transactions and its receipts, read from a node."""
    rpc = RpcClient(url)
    chain_id = int(rpc.call("eth_chainId"), 16)
    head = int(rpc.call("eth_blockNumber"), 16) if head is None else head
    blocks: list[dict[str, Any]] = []
    receipts: list[list[dict[str, Any]]] = []
    for start in range(0, head + 1, batch):
        numbers = range(start, min(start + batch, head + 1))
        blocks += rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers])
        receipts += rpc.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
    for n, (block, block_receipts) in enumerate(zip(blocks, receipts, strict=True)):
        if int(block["number"], 16) != n or len(block_receipts) != len(block["transactions"]):
            raise RuntimeError(f"block {n}: inconsistent answer from {url}")
    return Fixture(chain_id=chain_id, head=head, blocks=blocks, receipts=receipts)


def describe(fixture: Fixture) -> dict[str, Any]:
    """What the recorded traffic is made of (log topics counted by event)."""
    transfer = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
    names = {
        transfer: "Transfer",
        "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67": "Swap",
        "0x7a53080ba414158be7ec69b987b5fb7d07dee101fe85488f0853ae16239d0bde": "Mint",
        "0x0c396cd989a39f4459b5fa1aed6a9a8dcdbc45908acfd67e028cd568da98982c": "Burn",
        "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62": "TransferSingle",
        "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb": "TransferBatch",
    }
    events: dict[str, int] = {}
    eth_transfers = 0
    for block, block_receipts in zip(fixture.blocks, fixture.receipts, strict=True):
        for tx, receipt in zip(block["transactions"], block_receipts, strict=True):
            if not receipt["logs"] and int(tx["value"], 16) > 0:
                eth_transfers += 1
            for log in receipt["logs"]:
                topic = log["topics"][0] if log["topics"] else ""
                name = names.get(topic, "other")
                if topic == transfer:
                    name = "Transfer (ERC-721)" if len(log["topics"]) == 4 else "Transfer (ERC-20)"
                events[name] = events.get(name, 0) + 1
    return {
        "blocks": fixture.head + 1,
        "transactions": fixture.transaction_count,
        "logs": fixture.log_count,
        "plain_eth_transfers": eth_transfers,
        "events": dict(sorted(events.items())),
    }


def produce(transactions: int) -> Path:
    """Run a dev chain, simulate traffic until `transactions` are mined, record it (a partial
    recording is kept beside it every few chunks: `*.partial`)."""
    from benchmarks.indexer.devchain_traffic import running_devchain, simulate_and_record

    path = fixture_path(transactions)
    partial = path.with_name(path.name + ".partial")
    with running_devchain() as (_url, chain):
        description = chain.describe()
        meta = {
            "devchain": {k: description[k] for k in ("chain_id", "contracts", "pools", "decimals")}
        }

        def checkpoint(fixture: Fixture) -> None:
            fixture.meta = {**meta, **describe(fixture)}
            save_fixture(partial, fixture)

        started = time.monotonic()
        fixture, actions = simulate_and_record(chain, transactions, checkpoint)
        simulated = time.monotonic() - started
    fixture.meta = {
        "simulated_seconds": round(simulated, 1),
        "actions": actions,
        **meta,
        **describe(fixture),
    }
    save_fixture(path, fixture)
    partial.unlink(missing_ok=True)
    return path


def ensure_fixture(transactions: int) -> Path:
    """The cached fixture of at least `transactions`, produced when missing."""
    path = fixture_path(transactions)
    if not path.exists():
        print(
            f"recording a fixture chain of {transactions:,} transactions (once; minutes)...",
            file=sys.stderr,
            flush=True,
        )
        produce(transactions)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.indexer.fixture", description=__doc__
    )
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--rpc", help="record an already running node (no traffic generated)")
    parser.add_argument("--out", type=Path, help="where to write (default: the cache folder)")
    args = parser.parse_args()
    if args.rpc:
        fixture = dump_chain(args.rpc)
        fixture.meta = describe(fixture)
        path = args.out or fixture_path(fixture.transaction_count)
        save_fixture(path, fixture)
    else:
        path = produce(args.transactions)
        fixture = load_fixture(path)
    print(f"{path}: {orjson.dumps(describe(fixture)).decode()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
