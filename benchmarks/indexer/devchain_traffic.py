"""The traffic the fixture records: ordex's dev chain and its traffic generator, in this process,
plus the state reads an ingest asks for and blocks cannot give: `slot0()` and `liquidity()` of
every pool at every block (whatever block a batch size seeds prices from), the pools'
`token0()`/`token1()` and `name()`/`symbol()`/`decimals()` of every contract that logged."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from benchmarks.indexer.fixture import RPC_ERROR, Fixture, call_key

SIMULATE_CHUNK_BLOCKS = 100
SELECTORS = {
    "name": "0x06fdde03",
    "symbol": "0x95d89b41",
    "decimals": "0x313ce567",
    "slot0": "0x3850c7bd",
    "liquidity": "0x1a686502",
    "token0": "0x0dfe1681",
    "token1": "0xd21220a7",
}


@contextmanager
def running_devchain() -> Iterator[tuple[str, Any]]:
    """A fresh dev chain served on loopback: (url, DevChain)."""
    from ordex.devchain import start_devchain

    with tempfile.TemporaryDirectory(prefix="ordex-bench-devchain-") as home:
        chain = start_devchain(home=Path(home))
        try:
            yield chain.url, chain
        finally:
            chain.stop()


class InProcessRpc:
    """The dev chain's JSON-RPC methods called directly (what its HTTP server runs, without the
    HTTP), answers round-tripped through JSON as a client would see them."""

    def __init__(self, chain: Any) -> None:
        self.rpc = chain.rpc

    def call(self, method: str, *params: Any) -> Any:
        return self.batch([(method, list(params))])[0]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        out = self.batch_settled(calls)
        for (method, _), result in zip(calls, out, strict=True):
            if isinstance(result, dict) and RPC_ERROR in result:
                raise RuntimeError(f"{method}: {result[RPC_ERROR]}")
        return out

    def batch_settled(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        out = []
        for i, (method, params) in enumerate(calls):
            answer = self.rpc.handle_one(
                {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            )
            answer = orjson.loads(orjson.dumps(answer))
            out.append({RPC_ERROR: answer["error"]} if "error" in answer else answer["result"])
        return out


def _quick_nft(env: Any, rng: Any, sender: str, others: list[str]) -> None:
    """The generator's ERC-721 action without its scan of every minted token's owner (which
    grows with the chain): one random token, transferred when the sender owns it, else a mint."""
    from ordex.devchain.deploy import contract_at
    from ordex.devchain.simulate import _send

    nft = contract_at(env.w3, "DevNFT", env.contracts["nft"])
    minted = int(nft.functions.nextTokenId().call()) - 1
    if minted > 0 and rng.random() >= 0.3:
        token_id = rng.randint(1, minted)
        if nft.functions.ownerOf(token_id).call() == sender:
            _send(env, nft.functions.transferFrom(sender, rng.choice(others), token_id), sender)
            return
    _send(env, nft.functions.mint(sender), sender)


def simulate_and_record(
    chain: Any, transactions: int, checkpoint: Any = None
) -> tuple[Fixture, dict[str, int]]:
    """Mixed traffic 100 blocks at a time, each chunk's blocks, receipts and pool state read
    right after it is mined, until `transactions` are recorded."""
    import ordex.devchain.simulate as generator

    generator._nft = _quick_nft
    rpc = InProcessRpc(chain)
    description = chain.describe()
    pools = [p["address"].lower() for p in description["pools"].values()]
    fixture = Fixture(chain_id=int(rpc.call("eth_chainId"), 16), head=-1, blocks=[], receipts=[])
    totals: dict[str, int] = {}
    started = time.monotonic()
    chunk = 0
    while True:
        head = int(rpc.call("eth_blockNumber"), 16)
        numbers = range(fixture.head + 1, head + 1)
        fixture.blocks += rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers])
        fixture.receipts += rpc.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
        reads = [
            ("eth_call", [{"to": pool, "data": SELECTORS[fn]}, hex(n)])
            for n in numbers
            for pool in pools
            for fn in ("slot0", "liquidity")
        ]
        for (method, params), result in zip(reads, rpc.batch_settled(reads), strict=True):
            fixture.calls[call_key(method, params, head)] = result
        fixture.head = head
        done = fixture.transaction_count
        print(
            f"  recorded {done:,} of {transactions:,} transactions, {head + 1:,} blocks"
            f" ({done / (time.monotonic() - started):.0f}/s)",
            file=sys.stderr,
            flush=True,
        )
        if checkpoint is not None and chunk % 5 == 0:
            checkpoint(fixture)
        if done >= transactions:
            break
        counts = generator.simulate_traffic(chain, blocks=SIMULATE_CHUNK_BLOCKS, seed=chunk)
        for kind, n in counts.items():
            totals[kind] = totals.get(kind, 0) + n
        chunk += 1
    _record_metadata(rpc, fixture, description)
    return fixture, totals


def _record_metadata(rpc: Any, fixture: Fixture, description: dict[str, Any]) -> None:
    calls: list[tuple[str, list[Any]]] = []
    for pool in description["pools"].values():
        for fn in ("token0", "token1"):
            calls.append(
                ("eth_call", [{"to": pool["address"].lower(), "data": SELECTORS[fn]}, "latest"])
            )
    emitters = {log["address"].lower() for rs in fixture.receipts for r in rs for log in r["logs"]}
    emitters |= {a.lower() for a in description["contracts"].values()}
    for address in sorted(emitters):
        for fn in ("name", "symbol", "decimals"):
            calls.append(("eth_call", [{"to": address, "data": SELECTORS[fn]}, "latest"]))
    for (method, params), result in zip(calls, rpc.batch_settled(calls), strict=True):
        fixture.calls[call_key(method, params, fixture.head)] = result
