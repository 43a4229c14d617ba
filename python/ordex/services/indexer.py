"""The EVM indexer's ingest: fetch a range of blocks over JSON-RPC and turn it into rows.

`fetch_range` reads blocks with their transactions and the receipts of each block (by the block's
hash, so they belong to that very block) and checks the range links up by parent hash.
`build_batch` decodes token transfers, resolves new tokens' metadata, prices the range in USD at
each block (services.indexer_prices) and produces the rows db.indexer_ingest writes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordex.db import indexer_ingest as repo
from ordex.db.indexer_ingest import IngestBatch, NewToken
from ordex.db.types import Connection
from ordex.services.evm_rpc import EvmRpc, RpcError, TokenMetadata, hex_bytes, hex_int
from ordex.services.indexer_decode import (
    TRANSFER_TOPICS,
    WETH_TOPICS,
    DecodedTransfer,
    decode_transfer_log,
)
from ordex.services.indexer_prices import (
    PriceConfig,
    PriceTracker,
    usd_amount,
)

try:
    from ordex._engine import EvmRange, decode_evm_range
except ImportError:  # an extension built before the Rust decode existed
    FAST_DECODE = False
else:
    FAST_DECODE = True

ETH_DECIMALS = 18
STABLE_USD = Decimal(1)


class IndexerSettings(BaseSettings):
    """Read from the environment like `ordex.config.Settings` (same `.env`)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    eth_rpc_url: str | None = None
    indexer_start_block: Annotated[int, Field(ge=0)] = 0
    # Blocks fetched and written per transaction. 200: fewer round trips and commits, and the
    # blocks and receipts calls of a range still fit in one request (500 calls) for the Rust
    # decode.
    indexer_batch_blocks: Annotated[int, Field(ge=1, le=5000)] = 200
    # A reorg deeper than this stops the worker; blocks this far below the tip count as final.
    indexer_finality_depth: Annotated[int, Field(ge=1)] = 64
    indexer_poll_seconds: Annotated[float, Field(gt=0)] = 1.0
    indexer_rpc_concurrency: Annotated[int, Field(ge=1, le=16)] = 2
    # Pricing (addresses, 0x hex). Unset: taken from the dev chain's registry when it runs here.
    indexer_weth_address: str | None = None
    indexer_eth_usd_pool: str | None = None
    indexer_stablecoins: list[str] = []
    indexer_price_pools: list[str] = []
    indexer_liquidity_floor_usd: Decimal = Decimal(1000)


def parse_address(value: str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x").removeprefix("0X"))
    if len(raw) != 20:
        raise ValueError(f"not a 20-byte address: {value}")
    return raw


def price_config(settings: IndexerSettings, devchain: dict[str, Any] | None = None) -> PriceConfig:
    """From the settings, or else from a dev chain description (`DevChain.describe()`)."""
    floor = settings.indexer_liquidity_floor_usd
    if settings.indexer_eth_usd_pool or devchain is None:
        return PriceConfig(
            weth=parse_address(settings.indexer_weth_address)
            if settings.indexer_weth_address
            else None,
            eth_usd_pool=parse_address(settings.indexer_eth_usd_pool)
            if settings.indexer_eth_usd_pool
            else None,
            stablecoins=frozenset(parse_address(a) for a in settings.indexer_stablecoins),
            price_pools=tuple(parse_address(a) for a in settings.indexer_price_pools),
            liquidity_floor_usd=floor,
        )
    return devchain_price_config(devchain, floor)


def devchain_price_config(description: dict[str, Any], floor: Decimal) -> PriceConfig:
    contracts: dict[str, str] = description["contracts"]
    pools: dict[str, dict[str, Any]] = description["pools"]
    stable_keys = ("usdc", "usdt", "dai")
    eth_pool = pools.get("weth_usdc_3000")
    return PriceConfig(
        weth=parse_address(contracts["weth"]) if "weth" in contracts else None,
        eth_usd_pool=parse_address(eth_pool["address"]) if eth_pool else None,
        stablecoins=frozenset(parse_address(contracts[k]) for k in stable_keys if k in contracts),
        price_pools=tuple(parse_address(p["address"]) for p in pools.values()),
        liquidity_floor_usd=floor,
    )


def devchain_description(home: Path) -> dict[str, Any] | None:
    path = home / "devchain" / "devchain.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


class ChainChanged(Exception):
    """The fetched range does not link up by parent hash (the node reorganised meanwhile)."""


@dataclass(slots=True)
class RawRange:
    """Blocks with their receipts as the node sent them, or (`fast`) decoded in Rust, with the
    WETH contract it decoded deposits and withdrawals of."""

    blocks: list[dict[str, Any]]
    receipts: list[list[dict[str, Any]]]
    fast: EvmRange | None = None
    fast_weth: bytes | None = None
    # (number, hash, parent hash, timestamp, tx count, active, token contracts) of fast blocks.
    fast_blocks: list[tuple[int, bytes, bytes, int, int, bool, list[bytes]]] | None = None

    @property
    def block_count(self) -> int:
        return len(self.fast_blocks) if self.fast_blocks is not None else len(self.blocks)

    @property
    def first_parent(self) -> bytes:
        if self.fast_blocks is not None:
            return self.fast_blocks[0][2]
        return hex_bytes(self.blocks[0]["parentHash"])

    @property
    def last_hash(self) -> bytes:
        if self.fast_blocks is not None:
            return self.fast_blocks[-1][1]
        return hex_bytes(self.blocks[-1]["hash"])

    @property
    def tx_count(self) -> int:
        if self.fast is not None:
            return self.fast.tx_count
        return sum(len(b["transactions"]) for b in self.blocks)


async def fetch_range(
    rpc: EvmRpc, first: int, last: int, *, fast: bool = False, weth: bytes | None = None
) -> RawRange:
    """Blocks `first..last` with full transactions and their receipts. `fast`: decoded in Rust
    (with `weth` the WETH contract) where the answer allows, else as below."""
    numbers = list(range(first, last + 1))
    answer = await rpc.blocks_with_receipts_raw(numbers) if fast and FAST_DECODE else None
    if answer is not None:
        body, first_id = answer
        decoded = await asyncio.to_thread(decode_evm_range, body, first_id, len(numbers), weth)
        if not isinstance(decoded, str):
            rpc.block_receipts_answered()
            return RawRange([], [], decoded, weth, decoded.blocks())
        # Not a plain answer: the Python decode below says what it is.
        blocks, receipts_by_number = rpc.blocks_with_receipts_from(body, first_id, numbers)
    else:
        # One round trip for blocks and receipts where the node has eth_getBlockReceipts.
        blocks, receipts_by_number = await rpc.get_blocks_with_receipts(numbers)
    for previous, block in itertools.pairwise(blocks):
        if block["parentHash"] != previous["hash"]:
            raise ChainChanged(f"block {hex_int(block['number'])} does not follow its parent")
    if receipts_by_number is not None:
        receipts = receipts_by_number
        for block, block_receipts in zip(blocks, receipts, strict=True):
            # Asked by number: they must belong to the very block fetched beside them.
            block_hash = block["hash"]
            for receipt in block_receipts:
                if receipt.get("blockHash") != block_hash:
                    raise ChainChanged(f"receipts of block {hex_int(block['number'])} changed")
    else:
        with_txs = [b for b in blocks if b["transactions"]]
        fetched = await rpc.get_block_receipts(with_txs) if with_txs else []
        by_hash = {b["hash"]: r for b, r in zip(with_txs, fetched, strict=True)}
        receipts = [by_hash.get(b["hash"], []) for b in blocks]
    for block, block_receipts in zip(blocks, receipts, strict=True):
        if len(block_receipts) != len(block["transactions"]):
            raise ChainChanged(f"receipts of block {hex_int(block['number'])} are incomplete")
    return RawRange(blocks, receipts)


class TokenCache:
    """Contracts already in `evm_tokens` (so their metadata is fetched once)."""

    def __init__(self) -> None:
        self.known: set[bytes] = set()

    def forget(self) -> None:
        self.known.clear()

    async def new_tokens(
        self,
        conn: Connection,
        rpc: EvmRpc,
        seen: dict[bytes, tuple[str, int]],
    ) -> list[NewToken]:
        """Metadata rows for the contracts in `seen` (address -> (standard, first block)) that
        are not stored yet."""
        lookup = await self.look_up(conn, rpc, seen)
        return [] if lookup is None else await lookup

    async def look_up(
        self,
        conn: Connection,
        rpc: EvmRpc,
        seen: dict[bytes, tuple[str, int]],
    ) -> asyncio.Task[list[NewToken]] | None:
        """`new_tokens` with the node's answers still to come: the contracts not stored yet are
        known from here on (a later range does not ask for them again) and their metadata is
        fetched by the task returned (None: no new contract)."""
        candidates = [a for a in seen if a not in self.known]
        if not candidates:
            return None
        stored = await repo.known_tokens(conn, candidates)
        self.known.update(candidates)
        missing = [a for a in candidates if a not in stored]
        if not missing:
            return None
        task = asyncio.create_task(_token_rows(rpc, missing, seen), name="token metadata")
        # A batch dropped before its write never awaits it: its failure must not go unretrieved.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task


async def _token_rows(
    rpc: EvmRpc, missing: list[bytes], seen: dict[bytes, tuple[str, int]]
) -> list[NewToken]:
    """The metadata rows of contracts not stored yet (a failed call is kept as an error row,
    retried later)."""
    try:
        metadata: dict[str, TokenMetadata | RpcError] = await rpc.token_metadata(
            ["0x" + a.hex() for a in missing]
        )
    except RpcError as exc:
        metadata = {"0x" + a.hex(): exc for a in missing}
    out: list[NewToken] = []
    for address in missing:
        standard, first_block = seen[address]
        info = metadata["0x" + address.hex()]
        if isinstance(info, RpcError):
            out.append(NewToken(address, standard, None, None, None, False, first_block, str(info)))
        else:
            out.append(
                NewToken(
                    address,
                    standard,
                    info.name,
                    info.symbol,
                    info.decimals,
                    True,
                    first_block,
                )
            )
    return out


def _timestamp(block: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(hex_int(block["timestamp"]), tz=UTC)


async def build_batch(
    conn: Connection,
    rpc: EvmRpc,
    raw: RawRange,
    prices: PriceTracker,
    tokens: TokenCache,
) -> IngestBatch:
    """The rows of `raw`, priced at each block; the tracker must be seeded at the block before."""
    if raw.fast is not None:
        from ordex.services.indexer_fast import build_fast_batch

        return await build_fast_batch(conn, rpc, raw, prices, tokens)
    decoded: list[list[list[DecodedTransfer]]] = []
    wanted: dict[int, set[bytes]] = {}
    seen_tokens: dict[bytes, tuple[str, int]] = {}
    price_logs: list[tuple[int, list[dict[str, Any]]]] = []
    # WETH's deposits and withdrawals are its mints and burns (no Transfer event for them).
    weth = prices.config.weth
    topics_wanted = TRANSFER_TOPICS | WETH_TOPICS if weth is not None else TRANSFER_TOPICS
    for block, receipts in zip(raw.blocks, raw.receipts, strict=True):
        number = hex_int(block["number"])
        block_transfers: list[list[DecodedTransfer]] = []
        block_logs: list[dict[str, Any]] = []
        tokens_here: set[bytes] = set()
        for receipt in receipts:
            logs = receipt.get("logs") or []
            block_logs.extend(logs)
            transfers = [
                t
                for log in logs
                if (topics := log.get("topics")) and topics[0] in topics_wanted
                for t in decode_transfer_log(log, weth)
            ]
            block_transfers.append(transfers)
            for transfer in transfers:
                tokens_here.add(transfer.contract)
                if transfer.contract not in seen_tokens:
                    seen_tokens[transfer.contract] = (transfer.standard, number)
        decoded.append(block_transfers)
        wanted[number] = {t for t in tokens_here if t in prices.decimals}
        if block["transactions"] or block_logs:
            price_logs.append((number, block_logs))
    at_block = prices.walk(price_logs, wanted) if prices.pools else {}

    batch = IngestBatch()
    batch.tokens = await tokens.new_tokens(conn, rpc, seen_tokens)
    for block, receipts, block_transfers in zip(raw.blocks, raw.receipts, decoded, strict=True):
        number = hex_int(block["number"])
        timestamp = _timestamp(block)
        block_prices = at_block.get(number)
        eth_usd = block_prices.eth_usd if block_prices else None
        token_usd = dict(block_prices.tokens) if block_prices else {}
        for token in wanted[number]:
            if token not in token_usd and token in prices.config.stablecoins:
                # Stablecoins are priced without any pool (the walk priced everything else at
                # the block's own state).
                token_usd[token] = (STABLE_USD, None)
        txs = block["transactions"]
        batch.blocks.append(
            (
                number,
                hex_bytes(block["hash"]),
                hex_bytes(block["parentHash"]),
                timestamp,
                len(txs),
                eth_usd,
            )
        )
        for token, (usd, pool) in sorted(token_usd.items()):
            batch.token_prices.append((number, token, usd, pool))
        for tx, receipt, transfers in zip(txs, receipts, block_transfers, strict=True):
            _add_transaction(
                batch, number, timestamp, tx, receipt, transfers, eth_usd, token_usd, prices
            )
    return batch


def _add_transaction(
    batch: IngestBatch,
    number: int,
    timestamp: datetime,
    tx: dict[str, Any],
    receipt: dict[str, Any],
    transfers: list[DecodedTransfer],
    eth_usd: Decimal | None,
    token_usd: dict[bytes, tuple[Decimal, bytes | None]],
    prices: PriceTracker,
) -> None:
    tx_hash = hex_bytes(tx["hash"])
    if receipt.get("transactionHash") != tx["hash"]:
        raise ChainChanged(f"receipt order of block {number} does not match its transactions")
    tx_index = hex_int(tx["transactionIndex"])
    sender = hex_bytes(tx["from"])
    recipient = hex_bytes(tx["to"]) if tx.get("to") else None
    created = hex_bytes(receipt["contractAddress"]) if receipt.get("contractAddress") else None
    value = hex_int(tx["value"])
    gas_used = hex_int(receipt["gasUsed"])
    gas_price = hex_int(receipt.get("effectiveGasPrice") or tx.get("gasPrice"))
    status = receipt.get("status")
    data = tx.get("input") or tx.get("data") or "0x"
    selector = bytes.fromhex(data[2:10]) if len(data) >= 10 else None
    batch.transactions.append(
        (
            tx_hash,
            number,
            tx_index,
            timestamp,
            sender,
            recipient,
            created,
            value,
            hex_int(tx["nonce"]),
            hex_int(tx["gas"]),
            gas_used,
            gas_price,
            None if status is None else hex_int(status),
            selector,
            hex_int(tx.get("type") or "0x0"),
            len(transfers),
            eth_usd,
            usd_amount(value, ETH_DECIMALS, eth_usd),
            usd_amount(gas_used * gas_price, ETH_DECIMALS, eth_usd),
        )
    )
    participants = {sender}
    if recipient is not None:
        participants.add(recipient)
    if created is not None:
        participants.add(created)
    for t in transfers:
        participants.add(t.from_address)
        participants.add(t.to_address)
        priced = token_usd.get(t.contract)
        decimals = prices.decimals.get(t.contract)
        usd = priced[0] if priced is not None and t.standard == "ERC-20" else None
        batch.transfers.append(
            (
                number,
                t.log_index,
                t.batch_index,
                tx_hash,
                tx_index,
                timestamp,
                t.contract,
                t.standard,
                t.from_address,
                t.to_address,
                t.amount,
                t.token_id,
                usd,
                usd_amount(t.amount, decimals, usd) if decimals is not None else None,
            )
        )
    for address in participants:
        batch.address_transactions.append((address, number, tx_index, tx_hash, timestamp))
