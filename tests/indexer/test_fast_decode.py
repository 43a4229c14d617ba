"""The Rust decode (`ordex._engine.decode_evm_range`, services.indexer_fast) against the Python
one, the reference: the same answers of the dev chain give the very same rows, table by table;
anything but a canonical answer is left to the Python decode."""

from __future__ import annotations

import copy
import io
import random
from collections.abc import Callable
from decimal import Decimal

import asyncpg
import orjson
import pytest

from ordex._engine import EvmRange, decode_evm_range
from ordex.db.indexer_ingest import (
    ADDRESS_TX_COLUMNS,
    BLOCK_COLUMNS,
    TOKEN_PRICE_COLUMNS,
    TRANSACTION_COLUMNS,
    TRANSFER_COLUMNS,
    IngestBatch,
    copy_text,
)
from ordex.devchain import DevChain
from ordex.devchain.simulate import simulate_traffic
from ordex.services.evm_rpc import EvmRpc
from ordex.services.indexer import (
    ChainChanged,
    RawRange,
    TokenCache,
    build_batch,
    devchain_price_config,
    fetch_range,
)
from ordex.services.indexer_prices import (
    EVENT_BURN,
    EVENT_INITIALIZE,
    EVENT_MINT,
    EVENT_SWAP,
    BlockPrices,
    PoolEvent,
    PoolInfo,
    PoolState,
    PriceConfig,
    PriceTracker,
)
from tests.indexer.traffic import standard_traffic


async def _batches(chain: DevChain, db: asyncpg.Connection, *, fast: bool) -> list[IngestBatch]:
    config = devchain_price_config(chain.describe(), Decimal(1000))
    out: list[IngestBatch] = []
    async with EvmRpc(chain.url) as rpc:
        prices = PriceTracker(config)
        await prices.prepare(rpc)
        tokens = TokenCache()
        tip = await rpc.block_number()
        for first in range(0, tip + 1, 9):
            last = min(first + 8, tip)
            raw = await fetch_range(rpc, first, last, fast=fast, weth=config.weth)
            assert (raw.fast is not None) == fast
            await prices.seed(rpc, first - 1)
            batch = await build_batch(db, rpc, raw, prices, tokens)
            await batch.settle_tokens()
            out.append(batch)
            prices.advance_to(last)
    return out


async def _as_stored(
    db: asyncpg.Connection, table: str, columns: tuple[str, ...], payload: bytes, format: str
) -> list[str]:
    """Each row of a COPY payload as PostgreSQL stores it (its text output, numerics' display
    scale included), in payload order: the Rust encode's binary and the Python path's text
    compare on what lands in the table."""
    if not payload:
        return []
    await db.execute(f"CREATE TEMP TABLE stored (LIKE {table} INCLUDING DEFAULTS)")
    try:
        await db.copy_to_table(
            "stored", columns=list(columns), source=io.BytesIO(payload), format=format
        )
        rows = await db.fetch(f"SELECT ({', '.join(columns)})::text AS row FROM stored")
        return [r["row"] for r in rows]
    finally:
        await db.execute("DROP TABLE stored")


async def test_the_rust_decode_gives_the_python_rows_exactly(
    make_devchain: Callable[[], DevChain], db: asyncpg.Connection
) -> None:
    chain = make_devchain()
    standard_traffic(chain)
    simulate_traffic(chain, blocks=12, seed=7)
    reference = await _batches(chain, db, fast=False)
    fast = await _batches(chain, db, fast=True)
    assert len(reference) == len(fast)
    totals = dict.fromkeys(
        ("transactions", "transfers", "priced", "erc1155_batch", "prices", "eth_priced_blocks"), 0
    )
    for ref, got in zip(reference, fast, strict=True):
        encoded = got.encoded
        assert encoded is not None and not got.transactions and not got.transfers
        assert not got.blocks and not got.token_prices
        assert got.tokens == ref.tokens
        assert (got.block_count, got.first_block, got.first_parent, got.last_block) == (
            len(ref.blocks),
            ref.first_block,
            ref.first_parent,
            ref.last_block,
        )
        # Same rows in the same order (address rows: a set per transaction in Python).
        for table, columns, binary, rows in (
            ("evm_blocks", BLOCK_COLUMNS, encoded.blocks, ref.blocks),
            ("evm_token_prices", TOKEN_PRICE_COLUMNS, encoded.token_prices, ref.token_prices),
            ("evm_transactions", TRANSACTION_COLUMNS, encoded.transactions, ref.transactions),
            ("evm_token_transfers", TRANSFER_COLUMNS, encoded.transfers, ref.transfers),
            (
                "evm_address_transactions",
                ADDRESS_TX_COLUMNS,
                encoded.address_transactions,
                ref.address_transactions,
            ),
        ):
            stored = await _as_stored(db, table, columns, binary, "binary")
            expected = await _as_stored(db, table, columns, copy_text(rows), "text")
            if table == "evm_address_transactions":
                stored, expected = sorted(stored), sorted(expected)
            assert stored == expected, table
        counts: dict[bytes, int] = {}
        for row in ref.address_transactions:
            counts[row[0]] = counts.get(row[0], 0) + 1
        assert encoded.address_counts == sorted(counts.items())
        assert (got.tx_count, got.transfer_count) == (ref.tx_count, ref.transfer_count)
        totals["transactions"] += ref.tx_count
        totals["transfers"] += ref.transfer_count
        totals["priced"] += sum(1 for t in ref.transfers if t[13] is not None)
        totals["erc1155_batch"] += sum(1 for t in ref.transfers if t[2] > 0)
        totals["prices"] += len(ref.token_prices)
        totals["eth_priced_blocks"] += sum(1 for b in ref.blocks if b[5] is not None)
    # The comparison covered what matters: priced transfers and ERC-1155 batches included.
    assert totals["transactions"] >= 30
    assert totals["transfers"] >= 20
    assert totals["priced"] >= 5
    assert totals["erc1155_batch"] >= 1
    assert totals["prices"] >= 10 and totals["eth_priced_blocks"] >= 10


async def test_anything_but_a_canonical_answer_is_left_to_the_python_decode(
    make_devchain: Callable[[], DevChain], db: asyncpg.Connection
) -> None:
    chain = make_devchain()
    standard_traffic(chain)
    async with EvmRpc(chain.url) as rpc:
        tip = await rpc.block_number()
        numbers = list(range(tip - 4, tip + 1))
        answer = await rpc.blocks_with_receipts_raw(numbers)
        assert answer is not None
        body, first_id = answer
        decoded = decode_evm_range(body, first_id, len(numbers))
        assert isinstance(decoded, EvmRange)
        assert decoded.block_count == 5 and decoded.tx_count >= 5

        items = orjson.loads(body)
        receipts = next(i for i in items if i["id"] >= first_id + 5 and i["result"])["result"]
        receipts[0]["transactionHash"] = "0x" + "ab" * 32  # not its transaction's
        tampered = orjson.dumps(items)
        assert isinstance(decode_evm_range(tampered, first_id, len(numbers)), str)
        # The Python decode of the same answer says what is wrong with it.
        blocks, by_number = rpc.blocks_with_receipts_from(tampered, first_id, numbers)
        assert by_number is not None
        tracker = PriceTracker(PriceConfig())
        with pytest.raises(ChainChanged, match="receipt order"):
            await build_batch(db, rpc, RawRange(blocks, by_number), tracker, TokenCache())

        for broken in (b"", b"[]", b"{}", b"not json", body[: len(body) // 2]):
            assert isinstance(decode_evm_range(broken, first_id, len(numbers)), str)
        # A range decoded falls back for an id off by one (answers to no call).
        assert isinstance(decode_evm_range(body, first_id + 1, len(numbers)), str)


def _walk_block_by_block(
    tracker: PriceTracker,
    blocks: list[tuple[int, list[PoolEvent]]],
    wanted: dict[int, set[bytes]],
) -> dict[int, BlockPrices]:
    """The walk as it was before it reused a state's prices: every block priced afresh."""
    out: dict[int, BlockPrices] = {}
    state = tracker.state
    for number, events in blocks:
        for kind, emitter, a, b, tick, tick_upper in events:
            if emitter not in state:
                continue
            pool = state[emitter]
            if kind == EVENT_SWAP:
                state[emitter] = PoolState(a, b, tick)
            elif kind == EVENT_INITIALIZE:
                pool.sqrt_price_x96, pool.tick = a, tick
            elif tick <= pool.tick < tick_upper:
                pool.liquidity = max(0, pool.liquidity + (b if kind == EVENT_MINT else -b))
        out[number] = tracker._prices(wanted.get(number, set()))
    return out


def test_the_price_walk_reuses_prices_only_while_no_pool_moves() -> None:
    weth, usdc, token, other = (bytes([i]) * 20 for i in (1, 2, 3, 4))
    eth_pool, token_pool, untracked = (bytes([i]) * 20 for i in (11, 12, 13))
    config = PriceConfig(
        weth=weth,
        eth_usd_pool=eth_pool,
        stablecoins=frozenset({usdc}),
        price_pools=(eth_pool, token_pool),
    )
    rng = random.Random(11)

    def tracker() -> PriceTracker:
        t = PriceTracker(config)
        t.pools = {
            eth_pool: PoolInfo(eth_pool, weth, usdc, 18, 6),
            token_pool: PoolInfo(token_pool, token, weth, 18, 18),
        }
        t.state = {
            eth_pool: PoolState(4_339_505_179_874_779_489_431_521, 10**18),
            token_pool: PoolState(),
        }
        return t

    blocks: list[tuple[int, list[PoolEvent]]] = []
    wanted: dict[int, set[bytes]] = {}
    for number in range(300):
        events: list[PoolEvent] = []
        roll = rng.random()
        tick = rng.randrange(-1000, 1000)
        if roll < 0.25:
            pool = rng.choice([eth_pool, token_pool, untracked])
            sqrt, liquidity = rng.randrange(1, 2**100), rng.randrange(0, 2**70)
            events.append((EVENT_SWAP, pool, sqrt, liquidity, tick, 0))
        elif roll < 0.3:
            events.append((EVENT_INITIALIZE, token_pool, rng.randrange(1, 2**100), 0, tick, 0))
        elif roll < 0.4:
            # A position in range or not, added or removed (more than there is, at times).
            pool = rng.choice([eth_pool, token_pool])
            kind = rng.choice([EVENT_MINT, EVENT_BURN])
            lower = rng.randrange(-1200, 1000)
            events.append((kind, pool, 0, rng.randrange(1, 2**70), lower, lower + 400))
        blocks.append((number, events))
        wanted[number] = set(rng.sample([weth, usdc, token, other], rng.randrange(0, 5)))

    # Each walk its own copy of the starting state.
    reference = _walk_block_by_block(tracker(), copy.deepcopy(blocks), wanted)
    walked = tracker()
    got = walked.walk_events(blocks, wanted)
    assert list(got) == list(reference)
    for number, prices in reference.items():
        assert got[number].eth_usd == prices.eth_usd
        assert list(got[number].tokens.items()) == list(prices.tokens.items())
    # The walk met priced and unpriced blocks, and moved the prices it found.
    token_prices = {p.tokens[token][0] for p in reference.values() if token in p.tokens}
    assert len({p.eth_usd for p in reference.values()}) > 10
    assert len(token_prices) > 10
    assert walked._seeded_at == 299
