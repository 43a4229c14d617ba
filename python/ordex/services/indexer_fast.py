"""`build_batch` for a range decoded in Rust (`ordex._engine.decode_evm_range`).

The Rust decode gives the blocks, the token contracts each block moves and the Uniswap pool
events. Python asks the node what only it knows (the metadata of new tokens) and keeps the
pools' state between batches; Rust walks the pools' events and prices exactly as
services.indexer_prices does (integer ratios, 50-digit decimal division) and writes every row as
binary COPY payloads, with the GIL released. The rows are the very ones the Python
path builds (tests/indexer/test_fast_decode.py compares them table by table).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ordex.db.indexer_ingest import EncodedRows, IngestBatch
from ordex.db.types import Connection
from ordex.services.evm_rpc import EvmRpc
from ordex.services.indexer import RawRange, TokenCache
from ordex.services.indexer_prices import PriceTracker


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
    seen = {address: (standard, number) for address, standard, number in fast.seen_tokens()}
    batch = IngestBatch()
    # The new tokens' metadata is awaited by the write, just before their rows: it prices
    # nothing (a priced token is a pool's, known beforehand).
    lookup = await tokens.look_up(conn, rpc, seen)
    if lookup is not None:
        batch.pending_tokens.append(lookup)
    # The price walk, the USD amounts and every row in Rust, the GIL released.
    block_rows, price_rows, txs, transfers, address_rows, counts, states = await asyncio.to_thread(
        fast.encode, prices.pricing(), prices.state_words()
    )
    if prices.pools:
        # The walk's state is the one at the end of the last block that moves anything.
        prices.adopt(states, next((b[0] for b in reversed(blocks) if b[5]), None))
    first, last = blocks[0], blocks[-1]
    batch.encoded = EncodedRows(
        transactions=txs,
        transfers=transfers,
        address_transactions=address_rows,
        address_counts=counts,
        tx_count=fast.tx_count,
        transfer_count=fast.transfer_count,
        blocks=block_rows,
        token_prices=price_rows,
        block_count=len(blocks),
        first_block=(first[0], first[2]),
        last_block=(last[0], last[1], datetime.fromtimestamp(last[3], tz=UTC)),
    )
    return batch
