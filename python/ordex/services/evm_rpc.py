"""An async Ethereum JSON-RPC client over aiohttp, batching calls into one HTTP request.

What the indexer and the price reader need: the head, blocks with their transactions, receipts
(`eth_getBlockReceipts`, or batched `eth_getTransactionReceipt` where a node lacks it), logs by
range, and `eth_call` for token metadata and Uniswap v3 pool state. Values come back as the node
sent them (hex strings in dicts); the helpers below turn the few we read into ints and bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

# Function selectors (first 4 bytes of keccak of the signature).
SELECTOR_NAME = "0x06fdde03"  # name()
SELECTOR_SYMBOL = "0x95d89b41"  # symbol()
SELECTOR_DECIMALS = "0x313ce567"  # decimals()
SELECTOR_SLOT0 = "0x3850c7bd"  # slot0()
SELECTOR_LIQUIDITY = "0x1a686502"  # liquidity()
SELECTOR_TOKEN0 = "0x0dfe1681"  # token0()
SELECTOR_TOKEN1 = "0xd21220a7"  # token1()
SELECTOR_BALANCE_OF = "0x70a08231"  # balanceOf(address)

METHOD_NOT_FOUND = -32601


class RpcError(Exception):
    """A JSON-RPC error answer (`code`, `message`) or a malformed/failed exchange (code None)."""

    def __init__(self, message: str, code: int | None = None, data: Any = None) -> None:
        super().__init__(message if code is None else f"{message} (code {code})")
        self.code = code
        self.rpc_message = message
        self.data = data


@dataclass(frozen=True, slots=True)
class TokenMetadata:
    name: str | None
    symbol: str | None
    decimals: int | None


@dataclass(frozen=True, slots=True)
class Slot0:
    sqrt_price_x96: int
    tick: int


def hex_int(value: str | None) -> int:
    return 0 if value is None or value == "0x" else int(value, 16)


def hex_bytes(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def block_tag(block: int | str) -> str:
    return hex(block) if isinstance(block, int) else block


class EvmRpc:
    """JSON-RPC over one pooled HTTP/1.1 client; `batch` sends up to `max_batch` calls per request
    and up to `concurrency` requests at once."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        max_batch: int = 500,
        concurrency: int = 2,
    ) -> None:
        self.url = url
        self.max_batch = max_batch
        self.concurrency = max(concurrency, 1)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Opened on the first request (a session belongs to the running event loop).
        self._session: aiohttp.ClientSession | None = None
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._next_id = 0
        # None until known: whether the node answers eth_getBlockReceipts.
        self._block_receipts: bool | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> EvmRpc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # aiohttp reads large answers (a range's blocks and receipts: megabytes) into one
            # buffer with its C parser, at a fraction of the CPU of a pure-Python HTTP stack.
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=self.concurrency * 2),
                headers={"content-type": "application/json"},
            )
        return self._session

    async def _post(self, payload: Any) -> Any:
        return _parse(await self._post_raw(payload))

    async def _post_raw(self, payload: Any) -> bytes:
        """The answer's body, undecoded (a non-200 answer is an RpcError)."""
        async with self._semaphore:
            try:
                async with self._client().post(self.url, data=orjson.dumps(payload)) as response:
                    body = await response.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RpcError(f"JSON-RPC request failed: {type(exc).__name__} {exc}") from exc
        if response.status != 200:
            text = body[:200].decode(errors="replace")
            raise RpcError(f"JSON-RPC HTTP {response.status}: {text}")
        return body

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        self._next_id += 1
        answer = await self._post(
            {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}
        )
        if not isinstance(answer, dict):
            raise RpcError(f"unexpected JSON-RPC answer to {method}")
        return _result(answer)

    async def batch_settled(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """The result of each call, in order, or the RpcError it answered (not raised)."""
        if not calls:
            return []
        chunks = [calls[i : i + self.max_batch] for i in range(0, len(calls), self.max_batch)]
        parts = await asyncio.gather(*(self._batch_chunk(chunk) for chunk in chunks))
        return [item for part in parts for item in part]

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """The result of each call, in order; the first error is raised."""
        results = await self.batch_settled(calls)
        for item in results:
            if isinstance(item, RpcError):
                raise item
        return results

    async def _batch_chunk(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        first = self._next_id + 1
        self._next_id += len(calls)
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": method, "params": list(params)}
            for i, (method, params) in enumerate(calls)
        ]
        return self._settle(await self._post(payload), first, calls)

    def _settle(
        self, answer: Any, first: int, calls: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[Any]:
        """The result (or RpcError) of each call of a batch whose ids start at `first`."""
        if not isinstance(answer, list):
            # A node refusing batches answers one error object.
            if isinstance(answer, dict) and "error" in answer:
                _result(answer)
            raise RpcError("JSON-RPC batch answer is not a list")
        by_id: dict[Any, Any] = {item.get("id"): item for item in answer if isinstance(item, dict)}
        out: list[Any] = []
        for i in range(len(calls)):
            item = by_id.get(first + i)
            if item is None:
                out.append(RpcError(f"no answer to {calls[i][0]} in the batch"))
                continue
            try:
                out.append(_result(item))
            except RpcError as exc:
                out.append(exc)
        return out

    # --- chain -----------------------------------------------------------------------------

    async def chain_id(self) -> int:
        return hex_int(await self.call("eth_chainId"))

    async def block_number(self) -> int:
        return hex_int(await self.call("eth_blockNumber"))

    async def get_blocks(
        self, numbers: Sequence[int], *, full: bool = True
    ) -> list[dict[str, Any]]:
        """Blocks by number, in order; raises if one is missing (beyond the head)."""
        blocks = await self.batch([("eth_getBlockByNumber", [hex(n), full]) for n in numbers])
        for n, block in zip(numbers, blocks, strict=True):
            if block is None:
                raise RpcError(f"block {n} not found")
        return blocks

    async def get_blocks_with_receipts(
        self, numbers: Sequence[int]
    ) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]] | None]:
        """Blocks by number with full transactions and, in the same round trip, the receipts of
        each (`eth_getBlockReceipts` by number: the caller checks they name the block's hash);
        None for the receipts where the node lacks that method."""
        if self._block_receipts is False:
            return await self.get_blocks(numbers, full=True), None
        results = await self.batch_settled(_blocks_and_receipts(numbers))
        return self._blocks_and_receipts(numbers, results)

    async def blocks_with_receipts_raw(self, numbers: Sequence[int]) -> tuple[bytes, int] | None:
        """The same calls as `get_blocks_with_receipts` in one request, its answer undecoded,
        with the id of its first call; None where that does not apply (the node lacks
        eth_getBlockReceipts, or the calls take more than one request)."""
        if self._block_receipts is False or 2 * len(numbers) > self.max_batch or not numbers:
            return None
        calls = _blocks_and_receipts(numbers)
        first = self._next_id + 1
        self._next_id += len(calls)
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        body = await self._post_raw(payload)
        return body, first

    def blocks_with_receipts_from(
        self, body: bytes, first: int, numbers: Sequence[int]
    ) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]] | None]:
        """What `get_blocks_with_receipts` makes of an answer from `blocks_with_receipts_raw`."""
        results = self._settle(_parse(body), first, _blocks_and_receipts(numbers))
        return self._blocks_and_receipts(numbers, results)

    def block_receipts_answered(self) -> None:
        """The node answered eth_getBlockReceipts."""
        self._block_receipts = True

    def _blocks_and_receipts(
        self, numbers: Sequence[int], results: list[Any]
    ) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]] | None]:
        blocks = results[: len(numbers)]
        for n, block in zip(numbers, blocks, strict=True):
            if isinstance(block, RpcError):
                raise block
            if block is None:
                raise RpcError(f"block {n} not found")
        fetched = results[len(numbers) :]
        errors = [r for r in fetched if isinstance(r, RpcError)]
        if not errors:
            self._block_receipts = True
            return blocks, [list(r or []) for r in fetched]
        if self._block_receipts is None and all(
            e.code in (METHOD_NOT_FOUND, -32602, -32600) for e in errors
        ):
            self._block_receipts = False
            return blocks, None
        raise errors[0]

    async def get_block_receipts(
        self, blocks: Sequence[dict[str, Any]]
    ) -> list[list[dict[str, Any]]]:
        """Receipts of each block (by its hash, so they belong to that very block), in tx order."""
        if self._block_receipts is not False:
            results = await self.batch_settled(
                [("eth_getBlockReceipts", [b["hash"]]) for b in blocks]
            )
            errors = [r for r in results if isinstance(r, RpcError)]
            if not errors:
                self._block_receipts = True
                return [list(r or []) for r in results]
            if self._block_receipts is None and all(
                e.code in (METHOD_NOT_FOUND, -32602, -32600) for e in errors
            ):
                self._block_receipts = False
            else:
                raise errors[0]
        hashes = [
            [tx if isinstance(tx, str) else tx["hash"] for tx in b["transactions"]] for b in blocks
        ]
        flat = await self.batch([("eth_getTransactionReceipt", [h]) for hs in hashes for h in hs])
        out: list[list[dict[str, Any]]] = []
        at = 0
        for block, hs in zip(blocks, hashes, strict=True):
            receipts = flat[at : at + len(hs)]
            at += len(hs)
            for receipt in receipts:
                if receipt is None or receipt.get("blockHash") != block["hash"]:
                    raise RpcError(f"receipts of block {hex_int(block['number'])} changed")
            out.append(receipts)
        return out

    async def get_logs(
        self,
        from_block: int,
        to_block: int,
        *,
        address: str | Sequence[str] | None = None,
        topics: Sequence[Any] | None = None,
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block)}
        if address is not None:
            query["address"] = address if isinstance(address, str) else list(address)
        if topics is not None:
            query["topics"] = list(topics)
        logs = await self.call("eth_getLogs", [query])
        return list(logs or [])

    async def eth_call(self, to: str, data: str, block: int | str = "latest") -> bytes:
        return hex_bytes(await self.call("eth_call", [{"to": to, "data": data}, block_tag(block)]))

    # --- contracts ---------------------------------------------------------------------------

    async def token_metadata(
        self, addresses: Sequence[str], block: int | str = "latest"
    ) -> dict[str, TokenMetadata | RpcError]:
        """name/symbol (string or bytes32) and decimals (None when absent) of each contract.

        A contract whose calls all revert answers all-None metadata; a transport failure for an
        address is returned as its RpcError so the caller can retry it later.
        """
        tag = block_tag(block)
        calls: list[tuple[str, Sequence[Any]]] = []
        for address in addresses:
            for selector in (SELECTOR_NAME, SELECTOR_SYMBOL, SELECTOR_DECIMALS):
                calls.append(("eth_call", [{"to": address, "data": selector}, tag]))
        results = await self.batch_settled(calls)
        out: dict[str, TokenMetadata | RpcError] = {}
        for i, address in enumerate(addresses):
            name, symbol, decimals = results[3 * i : 3 * i + 3]
            transport = [
                r for r in (name, symbol, decimals) if isinstance(r, RpcError) and r.code is None
            ]
            if transport:
                out[address] = transport[0]
                continue
            out[address] = TokenMetadata(
                name=decode_text(name),
                symbol=decode_text(symbol),
                decimals=decode_decimals(decimals),
            )
        return out

    async def pool_slot0(self, pools: Sequence[str], block: int | str) -> list[Slot0 | None]:
        """slot0 of each Uniswap v3 pool at `block` (None where the call fails)."""
        tag = block_tag(block)
        results = await self.batch_settled(
            [("eth_call", [{"to": p, "data": SELECTOR_SLOT0}, tag]) for p in pools]
        )
        return [decode_slot0(r) for r in results]

    async def pool_liquidity(self, pools: Sequence[str], block: int | str) -> list[int | None]:
        tag = block_tag(block)
        results = await self.batch_settled(
            [("eth_call", [{"to": p, "data": SELECTOR_LIQUIDITY}, tag]) for p in pools]
        )
        return [decode_uint(r) for r in results]

    async def pool_tokens(self, pools: Sequence[str]) -> list[tuple[str, str]]:
        """token0 and token1 of each Uniswap v3 pool, in one round trip."""
        calls: list[tuple[str, Sequence[Any]]] = []
        for pool in pools:
            calls.append(("eth_call", [{"to": pool, "data": SELECTOR_TOKEN0}, "latest"]))
            calls.append(("eth_call", [{"to": pool, "data": SELECTOR_TOKEN1}, "latest"]))
        words = [hex_bytes(w)[-20:].hex() for w in await self.batch(calls)]
        return [("0x" + words[i], "0x" + words[i + 1]) for i in range(0, len(words), 2)]


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise RpcError(f"JSON-RPC answer is not JSON: {exc}") from exc


def _blocks_and_receipts(numbers: Sequence[int]) -> list[tuple[str, list[Any]]]:
    """Blocks with full transactions, then the receipts of each (by number)."""
    return [("eth_getBlockByNumber", [hex(n), True]) for n in numbers] + [
        ("eth_getBlockReceipts", [hex(n)]) for n in numbers
    ]


def _result(item: dict[str, Any]) -> Any:
    error = item.get("error")
    if error is not None:
        if isinstance(error, dict):
            raise RpcError(
                str(error.get("message", "error")), int(error.get("code", 0)), error.get("data")
            )
        raise RpcError(str(error), 0)
    if "result" not in item:
        raise RpcError("JSON-RPC answer without result")
    return item["result"]


def _call_bytes(result: Any) -> bytes | None:
    if isinstance(result, RpcError) or not isinstance(result, str):
        return None
    try:
        return hex_bytes(result)
    except ValueError:
        return None


def decode_text(result: Any) -> str | None:
    """An ABI `string` return, or a `bytes32` one (right-padded with NULs, as older tokens do)."""
    raw = _call_bytes(result)
    if not raw:
        return None
    if len(raw) >= 64:
        offset = int.from_bytes(raw[:32], "big")
        if offset + 32 <= len(raw):
            length = int.from_bytes(raw[offset : offset + 32], "big")
            if offset + 32 + length <= len(raw):
                text = raw[offset + 32 : offset + 32 + length]
                return _clean(text)
    if len(raw) == 32:
        return _clean(raw.rstrip(b"\x00"))
    return None


def _clean(raw: bytes) -> str | None:
    text = raw.decode("utf-8", errors="replace").replace("\x00", "").strip()
    return text or None


def decode_decimals(result: Any) -> int | None:
    value = decode_uint(result)
    # A decimals() of 255+ is not a real token's (it does not fit uint8).
    return value if value is not None and value <= 255 else None


def decode_uint(result: Any) -> int | None:
    raw = _call_bytes(result)
    if raw is None or len(raw) < 32:
        return None
    return int.from_bytes(raw[:32], "big")


def decode_slot0(result: Any) -> Slot0 | None:
    raw = _call_bytes(result)
    if raw is None or len(raw) < 64:
        return None
    tick = int.from_bytes(raw[32:64], "big", signed=True)
    return Slot0(sqrt_price_x96=int.from_bytes(raw[:32], "big"), tick=tick)
