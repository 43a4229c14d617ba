"""A JSON-RPC node made of a recording: `python -m benchmarks.indexer.replay FIXTURE --port N`.

It answers from the fixture alone (blocks with or without their transactions, receipts per block
or per transaction, `eth_getLogs` over any range with address/topic filters, recorded `eth_call`
answers...), batched or not, over HTTP/1.1 keep-alive on a bare asyncio protocol (uvloop): every
answer is pre-serialised bytes spliced into the envelope, so the node costs the clients under
test as little as possible and the same for each. A call it has no answer for is a JSON-RPC error
(-32601 for an unknown method, -32000 for a known one with unrecorded parameters), counted in
`replay_stats`.

With `--upstream URL` it records instead: what the fixture lacks is asked of that node, answered
and kept, and written back into the fixture on SIGTERM/SIGINT (`replay_stats` tells what was
added). `--trace FILE` appends every request body, one JSON line each, with its time: the raw
fetch benchmark replays the exact calls an ingest made.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson

from benchmarks.indexer.fixture import RPC_ERROR, Fixture, call_key, load_fixture, save_calls

Json = Any
TAGS = ("latest", "pending", "safe", "finalized")


class Chain:
    """The recording, indexed for answering: block number -> serialised block, receipts, logs."""

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self.head = fixture.head
        self.chain_id = fixture.chain_id
        self.block_full: dict[int, bytes] = {}
        self.block_hashes: dict[int, bytes] = {}
        self.number_by_hash: dict[str, int] = {}
        self.receipts: dict[int, bytes] = {}
        self.receipt_by_tx: dict[str, bytes] = {}
        self.tx_by_hash: dict[str, bytes] = {}
        self.logs: dict[int, list[tuple[dict[str, Any], bytes]]] = {}
        for block in fixture.blocks:
            n = int(block["number"], 16)
            self.block_full[n] = orjson.dumps(block)
            self.block_hashes[n] = orjson.dumps(
                {**block, "transactions": [t["hash"] for t in block["transactions"]]}
            )
            self.number_by_hash[block["hash"].lower()] = n
            for tx in block["transactions"]:
                self.tx_by_hash[tx["hash"].lower()] = orjson.dumps(tx)
            receipts = fixture.receipts[n]
            self.receipts[n] = orjson.dumps(receipts)
            logs: list[tuple[dict[str, Any], bytes]] = []
            for receipt in receipts:
                self.receipt_by_tx[receipt["transactionHash"].lower()] = orjson.dumps(receipt)
                logs.extend((log, orjson.dumps(log)) for log in receipt["logs"])
            self.logs[n] = logs
        self.calls: dict[str, bytes] = {}
        self.call_errors: dict[str, Any] = {}
        for key, value in fixture.calls.items():
            if isinstance(value, dict) and RPC_ERROR in value:
                self.call_errors[key] = value[RPC_ERROR]
            else:
                self.calls[key] = orjson.dumps(value)

    def block_number(self, tag: Json) -> int | None:
        if tag in TAGS or tag is None:
            return self.head
        if tag == "earliest":
            return 0
        if isinstance(tag, str) and tag.startswith("0x"):
            return int(tag, 16)
        if isinstance(tag, int):
            return tag
        raise ValueError(f"bad block tag {tag!r}")

    def get_logs(self, spec: dict[str, Any]) -> bytes:
        if "blockHash" in spec:
            first = last = self.number_by_hash.get(spec["blockHash"].lower(), -1)
        else:
            first = self.block_number(spec.get("fromBlock", "latest")) or 0
            last = self.block_number(spec.get("toBlock", "latest")) or 0
        address = spec.get("address")
        addresses = (
            None
            if address is None
            else {a.lower() for a in ([address] if isinstance(address, str) else address)}
        )
        topics = spec.get("topics") or []
        wanted = [
            None if t is None else {x.lower() for x in ([t] if isinstance(t, str) else t)}
            for t in topics
        ]
        parts: list[bytes] = []
        for n in range(max(first, 0), min(last, self.head) + 1):
            for log, raw in self.logs.get(n, ()):
                if addresses is not None and log["address"].lower() not in addresses:
                    continue
                if wanted and not _topics_match(log["topics"], wanted):
                    continue
                parts.append(raw)
        return b"[" + b",".join(parts) + b"]"

    def answer(self, method: str, params: list[Any]) -> bytes | None:
        """The serialised result, or None when the recording has no answer."""
        if method == "eth_getBlockByNumber":
            n = self.block_number(params[0])
            table = self.block_full if len(params) > 1 and params[1] else self.block_hashes
            return table.get(n) if n is not None else None
        if method == "eth_getBlockByHash":
            n = self.number_by_hash.get(str(params[0]).lower())
            if n is None:
                return b"null"
            return (self.block_full if len(params) > 1 and params[1] else self.block_hashes)[n]
        if method == "eth_getBlockReceipts":
            tag = params[0]
            n = (
                self.number_by_hash.get(tag.lower())
                if isinstance(tag, str) and len(tag) == 66
                else self.block_number(tag)
            )
            return self.receipts.get(n) if n is not None else None
        if method == "eth_getTransactionReceipt":
            return self.receipt_by_tx.get(str(params[0]).lower(), b"null")
        if method == "eth_getTransactionByHash":
            return self.tx_by_hash.get(str(params[0]).lower(), b"null")
        if method == "eth_getLogs":
            return self.get_logs(params[0])
        if method == "eth_blockNumber":
            return orjson.dumps(hex(self.head))
        if method == "eth_chainId":
            return orjson.dumps(hex(self.chain_id))
        if method == "net_version":
            return orjson.dumps(str(self.chain_id))
        if method == "eth_getBlockTransactionCountByNumber":
            n = self.block_number(params[0])
            block = self.fixture.blocks[n] if n is not None and n <= self.head else None
            return b"null" if block is None else orjson.dumps(hex(len(block["transactions"])))
        return self.calls.get(call_key(method, params, self.head))


def _topics_match(topics: list[str], wanted: list[set[str] | None]) -> bool:
    if len(topics) < len(wanted):
        return False
    return all(w is None or topics[i].lower() in w for i, w in enumerate(wanted))


KNOWN = {
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getBlockReceipts",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_getLogs",
    "eth_blockNumber",
    "eth_chainId",
    "net_version",
    "eth_getBlockTransactionCountByNumber",
    "eth_call",
    "eth_getCode",
    "eth_getBalance",
}


class Node:
    """Answers JSON-RPC bodies; records misses from an upstream when given one."""

    def __init__(self, chain: Chain, upstream: str | None, trace: Path | None) -> None:
        self.chain = chain
        self.upstream = httpx.Client(base_url=upstream, timeout=120) if upstream else None
        self.recorded: dict[str, Json] = {}
        self.trace = trace.open("ab") if trace else None
        self.stats: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self.connections = 0
        self.max_connections = 0
        self.first_request_at: float | None = None
        self.last_request_at: float | None = None
        self.requests = 0

    def handle(self, body: bytes) -> bytes:
        now = time.time()
        if self.first_request_at is None:
            self.first_request_at = now
        self.last_request_at = now
        self.requests += 1
        if self.trace is not None:
            self.trace.write(orjson.dumps({"t": now, "body": body.decode()}) + b"\n")
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(None, -32700, "parse error")
        if isinstance(request, list):
            if not request:
                return _error(None, -32600, "empty batch")
            return b"[" + b",".join(self._one(r) for r in request) + b"]"
        return self._one(request)

    def _one(self, request: Json) -> bytes:
        if not isinstance(request, dict) or "method" not in request:
            return _error(None, -32600, "invalid request")
        rid = request.get("id")
        method = request["method"]
        params = request.get("params") or []
        self.stats[method] += 1
        if method == "replay_stats":
            return _result(rid, orjson.dumps(self.report()))
        if method == "replay_reset":
            self.reset()
            return _result(rid, b"true")
        try:
            result = self.chain.answer(method, params)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            return _error(rid, -32602, f"invalid params: {exc}")
        if result is None and self.upstream is not None:
            return self._record(rid, method, params)
        if result is None and method == "eth_call":
            error = self.chain.call_errors.get(call_key(method, params, self.chain.head))
            if error is not None:
                return orjson.dumps({"jsonrpc": "2.0", "id": rid, "error": error})
        if result is None:
            self.misses[method] += 1
            if method not in KNOWN:
                return _error(rid, -32601, f"the method {method} is not in the recording")
            return _error(rid, -32000, f"no recorded answer for {method} {params!r}"[:300])
        return _result(rid, result)

    def _record(self, rid: Json, method: str, params: list[Any]) -> bytes:
        assert self.upstream is not None
        payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        reply = self.upstream.post("/", content=orjson.dumps(payload)).json()
        key = call_key(method, params, self.chain.head)
        if "error" in reply:
            self.recorded[key] = {RPC_ERROR: reply["error"]}
            self.chain.call_errors[key] = reply["error"]
            return orjson.dumps({"jsonrpc": "2.0", "id": rid, "error": reply["error"]})
        self.recorded[key] = reply["result"]
        raw = orjson.dumps(reply["result"])
        self.chain.calls[key] = raw
        return _result(rid, raw)

    def report(self) -> dict[str, Any]:
        """What clients asked since the last `replay_reset` (which itself is not counted)."""
        return {
            "head": self.chain.head,
            "requests": self.requests,
            "calls": dict(self.stats),
            "misses": dict(self.misses),
            "recorded": len(self.recorded),
            "max_connections": self.max_connections,
            "first_request_at": self.first_request_at,
            "last_request_at": self.last_request_at,
        }

    def reset(self) -> None:
        self.stats.clear()
        self.misses.clear()
        self.requests = 0
        self.first_request_at = self.last_request_at = None
        self.max_connections = self.connections


def _result(rid: Json, raw: bytes) -> bytes:
    return b'{"jsonrpc":"2.0","id":' + orjson.dumps(rid) + b',"result":' + raw + b"}"


def _error(rid: Json, code: int, message: str) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})


class HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 POST with Content-Length (or chunked), keep-alive, pipelining."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.buffer = bytearray()
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport
        self.node.connections += 1
        self.node.max_connections = max(self.node.max_connections, self.node.connections)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.transport is not None and self._serve_one():
            pass

    def _serve_one(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        lines = head.split("\r\n")
        method = lines[0].split(" ", 1)[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, consumed = _dechunk(self.buffer, start)
            if body is None:
                return False
        else:
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < start + length:
                return False
            body, consumed = bytes(self.buffer[start : start + length]), start + length
        del self.buffer[:consumed]
        if method != "POST":
            self._send(405, b'{"error":"POST JSON-RPC only"}')
        else:
            self._send(200, self.node.handle(body))
        if headers.get("connection", "").lower() == "close" and self.transport is not None:
            self.transport.close()
            self.transport = None
        return True

    def _send(self, status: int, body: bytes) -> None:
        assert self.transport is not None
        reason = b"OK" if status == 200 else b"Method Not Allowed"
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (status, reason, len(body))
            + body
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.node.connections -= 1


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes | None, int]:
    out = bytearray()
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None, 0
        size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
        pos = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n", pos)
            if trailer_end < 0:
                return None, 0
            return bytes(out), trailer_end + 2
        if len(buffer) < pos + size + 2:
            return None, 0
        out += buffer[pos : pos + size]
        pos += size + 2


async def serve(fixture_path: Path, port: int, upstream: str | None, trace: Path | None) -> None:
    fixture = load_fixture(fixture_path)
    node = Node(Chain(fixture), upstream, trace)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(node), "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"replaying blocks 0..{fixture.head} on http://127.0.0.1:{port}", flush=True)
    await stop.wait()
    server.close()
    if node.trace is not None:
        node.trace.close()
    if node.recorded:
        save_calls(fixture_path, node.recorded)
        print(f"recorded {len(node.recorded)} answers", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.indexer.replay", description=__doc__
    )
    parser.add_argument("fixture", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", help="record what the fixture lacks from this node")
    parser.add_argument("--trace", type=Path, help="append every request body to this file")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.fixture, args.port, args.upstream, args.trace))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
