"""`build_batch` for a range decoded in Rust (`ordex._engine.decode_evm_range`).

The Rust decode gives the blocks, the token contracts each block moves and the Uniswap pool
events; the pricing stays here (services.indexer_prices, exact Decimal math), and its prices go
back to Rust as plain decimal text, which writes the transaction, transfer and address rows as
COPY text with the GIL released. The rows are the very ones the Python path builds
(tests/indexer/test_fast_decode.py compares them table by table).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from ordex.db.indexer_ingest import EncodedRows, IngestBatch
from ordex.db.types import Connection
from ordex.services.evm_rpc import EvmRpc
from ordex.services.indexer import RawRange, TokenCache
from ordex.services.indexer_prices import BlockPrices, PoolEvent, PriceTracker


def pool_blocks(raw: RawRange) -> list[tuple[int, list[PoolEvent]]]:
    """(number, pool events) of each block with transactions or logs, as the price walk
    takes them."""
    assert raw.fast is not None and raw.fast_blocks is not None
    blocks = raw.fast_blocks
    events: list[list[PoolEvent]] = [[] for _ in blocks]
    for position, kind, pool, a, b in raw.fast.pool_events():
        events[position].append((kind, pool, int.from_bytes(a), int.from_bytes(b)))
    return [(block[0], events[i]) for i, block in enumerate(blocks) if block[5]]


async def read_pools_ahead(rpc: EvmRpc, raw: RawRange, prices: PriceTracker) -> None:
    """Reads, right after fetching `raw`, the pools' state after its Mints and Burns (an
    eth_call round trip that building the batch then does not wait for)."""
    if raw.fast is None or not prices.pools:
        return
    raw.pool_blocks = pool_blocks(raw)
    raw.pools_read = await prices.read_pools(rpc, prices.dirty_pools(raw.pool_blocks))


async def build_fast_batch(
    conn: Connection,
    rpc: EvmRpc,
    raw: RawRange,
    prices: PriceTracker,
    tokens: TokenCache,
) -> IngestBatch:
    fast, blocks = raw.fast, raw.fast_blocks
    assert fast is not None and blocks is not None
    if raw.fast_weth != prices.config.weth:
        raise ValueError("the range was decoded for another WETH contract")
    decimals = prices.decimals
    wanted = {b[0]: {t for t in b[6] if t in decimals} for b in blocks}
    at_block: dict[int, BlockPrices] = {}
    if prices.pools:
        active = raw.pool_blocks if raw.pool_blocks is not None else pool_blocks(raw)
        at_block = await prices.walk_events(rpc, active, wanted, raw.pools_read)
    seen = {address: (standard, number) for address, standard, number in fast.seen_tokens()}

    batch = IngestBatch()
    batch.tokens = await tokens.new_tokens(conn, rpc, seen)
    eth_texts: list[str | None] = []
    token_texts: list[list[tuple[bytes, str]]] = []
    for number, block_hash, parent, timestamp, tx_count, _active, _tokens in blocks:
        block_prices = at_block.get(number)
        eth_usd = block_prices.eth_usd if block_prices else None
        token_usd: dict[bytes, tuple[Decimal, bytes | None]] = (
            dict(block_prices.tokens) if block_prices else {}
        )
        for token in wanted[number]:
            if token not in token_usd:
                # Stablecoins are priced without any pool.
                pinned = prices.token_usd(token, eth_usd)
                if pinned is not None:
                    token_usd[token] = pinned
        batch.blocks.append(
            (
                number,
                block_hash,
                parent,
                datetime.fromtimestamp(timestamp, tz=UTC),
                tx_count,
                eth_usd,
            )
        )
        for token, (usd, source) in sorted(token_usd.items()):
            batch.token_prices.append((number, token, usd, source))
        eth_texts.append(None if eth_usd is None else format(eth_usd, "f"))
        token_texts.append([(t, format(price[0], "f")) for t, price in token_usd.items()])
    transactions, transfers, address_transactions, counts = await asyncio.to_thread(
        fast.encode, eth_texts, token_texts, decimals
    )
    batch.encoded = EncodedRows(
        transactions,
        transfers,
        address_transactions,
        counts,
        fast.tx_count,
        fast.transfer_count,
    )
    tokens.remember(batch.tokens)
    return batch
