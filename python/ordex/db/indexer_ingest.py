"""Writes of the EVM indexer (the `evm_*` tables): a batch of blocks in one transaction with COPY,
the counters kept beside the rows they count, and a reorg's removal of an orphaned range.

The state row moves with every batch in the same transaction, guarded by the block it expects to
follow, so a batch is either wholly there or not at all (a kill -9 loses nothing but the batch in
flight, which is fetched again) and two writers can never both append the same range.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import pairwise, repeat
from types import NoneType
from typing import Any, Literal

from ordex.db.types import Connection

BLOCK_COLUMNS = ("number", "hash", "parent_hash", "timestamp", "tx_count", "eth_usd")
TRANSACTION_COLUMNS = (
    "hash",
    "block_number",
    "tx_index",
    "block_timestamp",
    "from_address",
    "to_address",
    "contract_address",
    "value",
    "nonce",
    "gas_limit",
    "gas_used",
    "effective_gas_price",
    "status",
    "input_selector",
    "tx_type",
    "transfer_count",
    "eth_usd",
    "value_usd",
    "gas_fee_usd",
)
TRANSFER_COLUMNS = (
    "block_number",
    "log_index",
    "batch_index",
    "tx_hash",
    "tx_index",
    "block_timestamp",
    "contract_address",
    "token_standard",
    "from_address",
    "to_address",
    "amount",
    "token_id",
    "token_usd",
    "amount_usd",
)
ADDRESS_TX_COLUMNS = ("address", "block_number", "tx_index", "tx_hash", "block_timestamp")
TOKEN_PRICE_COLUMNS = ("block_number", "token_address", "usd_price", "pool_address")


class StateConflict(RuntimeError):
    """The state row is not where this writer expected it: another writer moved it."""


class ChainMismatch(RuntimeError):
    """The database holds another chain's index than the node serves."""


@dataclass(frozen=True, slots=True)
class IndexerState:
    chain_id: int
    last_block: int | None
    last_block_hash: bytes | None
    last_block_timestamp: datetime | None
    finalized_block: int | None
    chain_tip_block: int | None
    reorg_count: int
    block_count: int
    tx_count: int
    transfer_count: int


@dataclass(slots=True)
class NewToken:
    address: bytes
    token_standard: str | None
    name: str | None
    symbol: str | None
    decimals: int | None
    fetched: bool
    first_seen_block: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EncodedRows:
    """A batch's rows already as binary COPY payloads (from the Rust decode): the transactions,
    transfers and address rows, and with them (when `block_count` is set) the blocks and token
    prices, whose first and last block are then kept here."""

    transactions: bytes
    transfers: bytes
    address_transactions: bytes
    # (address, rows in address_transactions) for the per-address counters.
    address_counts: list[tuple[bytes, int]]
    tx_count: int
    transfer_count: int
    blocks: bytes = b""
    token_prices: bytes = b""
    block_count: int = 0
    # (number, parent hash) of the first block; (number, hash, timestamp) of the last.
    first_block: tuple[int, bytes] | None = None
    last_block: tuple[int, bytes, datetime] | None = None

    @classmethod
    def joined(cls, parts: Sequence[EncodedRows]) -> EncodedRows:
        """The rows of consecutive ranges, in order, as the payloads of one range."""
        first, last = parts[0], parts[-1]
        return cls(
            transactions=join_copy_payloads([p.transactions for p in parts]),
            transfers=join_copy_payloads([p.transfers for p in parts]),
            address_transactions=join_copy_payloads([p.address_transactions for p in parts]),
            address_counts=[count for p in parts for count in p.address_counts],
            tx_count=sum(p.tx_count for p in parts),
            transfer_count=sum(p.transfer_count for p in parts),
            blocks=join_copy_payloads([p.blocks for p in parts]),
            token_prices=join_copy_payloads([p.token_prices for p in parts]),
            block_count=sum(p.block_count for p in parts),
            first_block=first.first_block,
            last_block=last.last_block,
        )


# A binary COPY payload as ordex-evm writes it: the signature, no flags, no header extension;
# the rows; -1 as the field count of the trailer.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_COPY_TRAILER = b"\xff\xff"


def join_copy_payloads(payloads: Sequence[bytes]) -> bytes:
    """Binary COPY payloads of one table as one: a header, every part's rows, a trailer."""
    parts = [p for p in payloads if p]
    if len(parts) <= 1:
        return parts[0] if parts else b""
    if not all(p.startswith(_COPY_HEADER) and p.endswith(_COPY_TRAILER) for p in parts):
        raise ValueError("not a binary COPY payload without a header extension")
    rows = (memoryview(p)[len(_COPY_HEADER) : -len(_COPY_TRAILER)] for p in parts)
    return b"".join([_COPY_HEADER, *rows, _COPY_TRAILER])


@dataclass(slots=True)
class IngestBatch:
    """Rows of consecutive blocks, as tuples in the *_COLUMNS order (or, from the Rust decode,
    as binary COPY payloads in `encoded`)."""

    blocks: list[tuple[Any, ...]] = field(default_factory=list)
    transactions: list[tuple[Any, ...]] = field(default_factory=list)
    transfers: list[tuple[Any, ...]] = field(default_factory=list)
    address_transactions: list[tuple[Any, ...]] = field(default_factory=list)
    token_prices: list[tuple[Any, ...]] = field(default_factory=list)
    tokens: list[NewToken] = field(default_factory=list)
    # New tokens whose metadata the node is still being asked for (`settle_tokens`).
    pending_tokens: list[Awaitable[list[NewToken]]] = field(default_factory=list)
    encoded: EncodedRows | None = None

    async def settle_tokens(self) -> list[NewToken]:
        """`tokens`, with those still pending once the node has answered."""
        pending, self.pending_tokens = self.pending_tokens, []
        for lookup in pending:
            self.tokens += await lookup
        return self.tokens

    @property
    def tx_count(self) -> int:
        return len(self.transactions) + (self.encoded.tx_count if self.encoded else 0)

    @property
    def transfer_count(self) -> int:
        return len(self.transfers) + (self.encoded.transfer_count if self.encoded else 0)

    @property
    def block_count(self) -> int:
        return len(self.blocks) + (self.encoded.block_count if self.encoded else 0)

    @property
    def first_block(self) -> int:
        if self.encoded is not None and self.encoded.first_block is not None:
            return self.encoded.first_block[0]
        return int(self.blocks[0][0])

    @property
    def first_parent(self) -> bytes:
        """The parent hash of the first block."""
        if self.encoded is not None and self.encoded.first_block is not None:
            return self.encoded.first_block[1]
        parent: bytes = self.blocks[0][2]
        return parent

    @property
    def last_block(self) -> tuple[int, bytes, datetime]:
        if self.encoded is not None and self.encoded.last_block is not None:
            return self.encoded.last_block
        number, hash_, _parent, timestamp = self.blocks[-1][:4]
        return number, hash_, timestamp

    @classmethod
    def joined(cls, parts: Sequence[IngestBatch]) -> IngestBatch:
        """Batches of consecutive ranges as one, written in one transaction: the rows in order,
        the tokens each part found."""
        for before, after in pairwise(parts):
            if (before.encoded is None) != (after.encoded is None):
                raise ValueError("batches decoded in Rust join only with each other")
            if after.first_parent != before.last_block[1]:
                raise ValueError(f"block {after.first_block} does not follow the batch before")
        encoded = [p.encoded for p in parts if p.encoded is not None]
        return cls(
            blocks=[row for p in parts for row in p.blocks],
            transactions=[row for p in parts for row in p.transactions],
            transfers=[row for p in parts for row in p.transfers],
            address_transactions=[row for p in parts for row in p.address_transactions],
            token_prices=[row for p in parts for row in p.token_prices],
            tokens=[token for p in parts for token in p.tokens],
            pending_tokens=[lookup for p in parts for lookup in p.pending_tokens],
            encoded=EncodedRows.joined(encoded) if encoded else None,
        )


@dataclass(frozen=True, slots=True)
class Rollback:
    fork_block: int
    blocks: int
    transactions: int
    transfers: int


async def load_state(conn: Connection) -> IndexerState | None:
    row = await conn.fetchrow(
        """SELECT chain_id, last_block, last_block_hash, last_block_timestamp, finalized_block,
                  chain_tip_block, reorg_count, block_count, tx_count, transfer_count
           FROM evm_indexer_state WHERE id = 1"""
    )
    return None if row is None else IndexerState(**dict(row))


async def ensure_state(conn: Connection, chain_id: int) -> IndexerState:
    """The state row, created on first use; a different chain id than the stored one is refused."""
    await conn.execute(
        "INSERT INTO evm_indexer_state (id, chain_id) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        chain_id,
    )
    state = await load_state(conn)
    assert state is not None
    if state.chain_id != chain_id:
        raise ChainMismatch(
            f"the database indexes chain {state.chain_id}, the node serves chain {chain_id}"
        )
    return state


async def record_tip(conn: Connection, tip: int, finalized: int | None) -> None:
    await conn.execute(
        """UPDATE evm_indexer_state
           SET chain_tip_block = $1, chain_tip_seen_at = now(),
               finalized_block = GREATEST(finalized_block, $2), updated_at = now()
           WHERE id = 1""",
        tip,
        finalized,
    )


async def stored_hashes(conn: Connection, low: int, high: int) -> dict[int, bytes]:
    rows = await conn.fetch(
        "SELECT number, hash FROM evm_blocks WHERE number BETWEEN $1 AND $2", low, high
    )
    return {r["number"]: r["hash"] for r in rows}


async def known_tokens(conn: Connection, addresses: list[bytes]) -> set[bytes]:
    rows = await conn.fetch(
        "SELECT address FROM evm_tokens WHERE address = ANY($1::bytea[])", addresses
    )
    return {r["address"] for r in rows}


async def write_batch(
    conn: Connection,
    batch: IngestBatch,
    *,
    expected_last: int | None,
    tip: int | None = None,
    after: Awaitable[object] | None = None,
) -> None:
    """Appends `batch` right after `expected_last` in one transaction (StateConflict otherwise).

    `after`: the write of the batch before, still in flight. The rows are copied meanwhile (no
    row of one batch conflicts with another's) and the state row, the counters and the tokens
    are written once it is done, so its failure fails this one too (the state row no longer
    matches, or its error is raised here) and nothing is half-written."""
    last_number, last_hash, last_time = batch.last_block
    counts = Counter(row[0] for row in batch.address_transactions)
    encoded = batch.encoded
    if encoded is not None:
        for address, count in encoded.address_counts:
            counts[address] += count
    addresses = sorted(counts)
    async with conn.transaction():
        # COPY in text format, encoded here: asyncpg's binary encoding of the records costs
        # more CPU than the rest of the write.
        await _copy(conn, "evm_blocks", BLOCK_COLUMNS, batch.blocks)
        await _copy(conn, "evm_transactions", TRANSACTION_COLUMNS, batch.transactions)
        await _copy(conn, "evm_token_transfers", TRANSFER_COLUMNS, batch.transfers)
        await _copy(
            conn, "evm_address_transactions", ADDRESS_TX_COLUMNS, batch.address_transactions
        )
        await _copy(conn, "evm_token_prices", TOKEN_PRICE_COLUMNS, batch.token_prices)
        if encoded is not None:
            # Binary COPY from the Rust encode: nothing for the server to parse.
            await _copy_payload(conn, "evm_blocks", BLOCK_COLUMNS, encoded.blocks)
            await _copy_payload(conn, "evm_token_prices", TOKEN_PRICE_COLUMNS, encoded.token_prices)
            await _copy_payload(conn, "evm_transactions", TRANSACTION_COLUMNS, encoded.transactions)
            await _copy_payload(conn, "evm_token_transfers", TRANSFER_COLUMNS, encoded.transfers)
            await _copy_payload(
                conn, "evm_address_transactions", ADDRESS_TX_COLUMNS, encoded.address_transactions
            )
        if after is not None:
            # The batch before this one commits first; this one's rows are in meanwhile.
            await after
        # The commit does not wait for its WAL to reach the disk (synchronous_commit off for
        # this transaction, set by the state update). Everything here derives from the chain
        # and the state row commits with its rows: a PostgreSQL crash may lose the last
        # batches whole, never part of one, and the worker ingests them again from the state.
        moved = await conn.execute(
            """UPDATE evm_indexer_state
               SET last_block = $2, last_block_hash = $3, last_block_timestamp = $4,
                   block_count = block_count + $5, tx_count = tx_count + $6,
                   transfer_count = transfer_count + $7,
                   chain_tip_block = GREATEST(chain_tip_block, $8, $2),
                   chain_tip_seen_at = CASE WHEN $8::bigint IS NULL THEN chain_tip_seen_at
                                            ELSE now() END,
                   updated_at = now()
               WHERE id = 1 AND last_block IS NOT DISTINCT FROM $1
               RETURNING set_config('synchronous_commit', 'off', true)""",
            expected_last,
            last_number,
            last_hash,
            last_time,
            batch.block_count,
            batch.tx_count,
            batch.transfer_count,
            tip,
        )
        if moved != "UPDATE 1":
            raise StateConflict(f"indexer state is no longer at block {expected_last}")
        if addresses:
            await conn.execute(
                """INSERT INTO evm_address_counters (address, tx_count)
                   SELECT * FROM unnest($1::bytea[], $2::bigint[])
                   ON CONFLICT (address)
                   DO UPDATE SET tx_count = evm_address_counters.tx_count + EXCLUDED.tx_count""",
                addresses,
                [counts[a] for a in addresses],
            )
        tokens = await batch.settle_tokens()
        if tokens:
            await _insert_tokens(conn, tokens)


def _text_str(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def _text_column(values: Sequence[Any]) -> tuple[str, Iterable[str]]:
    """One column in COPY's text format: its field template and its fields. bytea is `\\x<hex>`
    (the backslash itself escaped), NUMERIC plain decimal text (never an exponent, never a
    float), NULL `\\N`. A column of one non-null type is converted by C-level maps."""
    kinds = set(map(type, values))
    if kinds == {bytes}:
        return "\\\\x%s", map(bytes.hex, values)
    if kinds == {int}:
        return "%s", map(int.__repr__, values)
    if kinds == {datetime}:
        # A block's timestamp repeats on all of its rows.
        text = {v: v.isoformat() for v in set(values)}
        return "%s", map(text.__getitem__, values)
    if kinds == {Decimal}:
        return "%s", map(format, values, repeat("f"))
    # Nullable columns, the commonest mixes spelled out (a call per value costs more).
    if kinds == {bytes, NoneType}:
        return "%s", ["\\N" if v is None else "\\\\x" + v.hex() for v in values]
    if kinds == {Decimal, NoneType}:
        return "%s", ["\\N" if v is None else format(v, "f") for v in values]
    return "%s", map(_text_field, values)


def _text_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return _text_str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if type(value) is int:
        return repr(value)
    raise TypeError(f"no COPY text form for {type(value).__name__}")


def copy_text(rows: Sequence[Sequence[Any]]) -> bytes:
    """`rows` in COPY's text format (one line per row, tab-separated)."""
    if not rows:
        return b""
    templates: list[str] = []
    fields: list[Iterable[str]] = []
    for column in zip(*rows, strict=True):
        template, texts = _text_column(column)
        templates.append(template)
        fields.append(texts)
    line = "\t".join(templates) + "\n"
    return "".join(map(line.__mod__, zip(*fields, strict=True))).encode()


async def _one_chunk(payload: bytes) -> AsyncIterator[bytes]:
    # An async iterable: asyncpg takes a bare `bytes` source for a file name.
    yield payload


async def _copy(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    if rows:
        await _copy_payload(conn, table, columns, copy_text(rows), "text")


async def _copy_payload(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    payload: bytes,
    format: Literal["text", "binary"] = "binary",
) -> None:
    if payload:
        await conn.copy_to_table(
            table, columns=list(columns), source=_one_chunk(payload), format=format
        )


async def _insert_tokens(conn: Connection, tokens: list[NewToken]) -> None:
    await conn.execute(
        """INSERT INTO evm_tokens (address, token_standard, name, symbol, decimals, fetched_at,
                                   attempts, next_retry_at, last_error, first_seen_block)
           SELECT t.address, t.standard, t.name, t.symbol, t.decimals,
                  CASE WHEN t.fetched THEN now() END,
                  1, CASE WHEN t.fetched THEN NULL ELSE now() + interval '30 seconds' END,
                  t.error, t.first_seen
           FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::smallint[],
                       $6::boolean[], $7::text[], $8::bigint[])
                AS t(address, standard, name, symbol, decimals, fetched, error, first_seen)
           ON CONFLICT (address) DO NOTHING""",
        [t.address for t in tokens],
        [t.token_standard for t in tokens],
        [t.name for t in tokens],
        [t.symbol for t in tokens],
        [t.decimals for t in tokens],
        [t.fetched for t in tokens],
        [t.error for t in tokens],
        [t.first_seen_block for t in tokens],
    )


async def tokens_due(conn: Connection, limit: int = 100) -> list[bytes]:
    """Tokens whose metadata fetch failed and whose back-off has passed."""
    rows = await conn.fetch(
        """SELECT address FROM evm_tokens
           WHERE fetched_at IS NULL AND next_retry_at <= now()
           ORDER BY next_retry_at LIMIT $1""",
        limit,
    )
    return [r["address"] for r in rows]


async def save_token_metadata(
    conn: Connection,
    address: bytes,
    *,
    name: str | None,
    symbol: str | None,
    decimals: int | None,
) -> None:
    await conn.execute(
        """UPDATE evm_tokens SET name = $2, symbol = $3, decimals = $4, fetched_at = now(),
                  attempts = attempts + 1, next_retry_at = NULL, last_error = NULL
           WHERE address = $1""",
        address,
        name,
        symbol,
        decimals,
    )


async def token_fetch_failed(conn: Connection, address: bytes, error: str) -> None:
    """Backs off exponentially: 30 s, 1 min, 2 min, ... capped at one day."""
    await conn.execute(
        """UPDATE evm_tokens SET attempts = attempts + 1, last_error = $2,
                  next_retry_at = now() + least(interval '1 day',
                                                interval '30 seconds' * power(2, attempts))
           WHERE address = $1""",
        address,
        error[:500],
    )


async def request_token_refetch(conn: Connection, address: bytes) -> bool:
    """Marks a token's metadata to be fetched again at the next retry pass."""
    status = await conn.execute(
        """UPDATE evm_tokens SET fetched_at = NULL, next_retry_at = now(), attempts = 0
           WHERE address = $1""",
        address,
    )
    return status == "UPDATE 1"


async def roll_back_to(
    conn: Connection,
    fork_block: int,
    *,
    expected_last: int,
    new_tip_hash: bytes,
) -> Rollback:
    """Removes every block from `fork_block` on and all derived from it, in one transaction, with
    the counters taken back; the state then stands at `fork_block - 1`."""
    async with conn.transaction():
        state = await conn.fetchrow(
            "SELECT last_block, last_block_hash FROM evm_indexer_state WHERE id = 1 FOR UPDATE"
        )
        if state is None or state["last_block"] != expected_last:
            raise StateConflict(f"indexer state is no longer at block {expected_last}")
        # The address rows above the fork are found by the addresses the orphaned
        # transactions and transfers name (every row's address is one of them), each on the
        # address index's primary key: no index on block_number to keep up at ingest.
        addresses = [
            r["address"]
            for r in await conn.fetch(
                """SELECT from_address AS address FROM evm_transactions WHERE block_number >= $1
                   UNION SELECT to_address FROM evm_transactions
                    WHERE block_number >= $1 AND to_address IS NOT NULL
                   UNION SELECT contract_address FROM evm_transactions
                    WHERE block_number >= $1 AND contract_address IS NOT NULL
                   UNION SELECT from_address FROM evm_token_transfers WHERE block_number >= $1
                   UNION SELECT to_address FROM evm_token_transfers WHERE block_number >= $1""",
                fork_block,
            )
        ]
        emptied = await conn.fetch(
            """WITH gone AS (
                   SELECT address, count(*) AS n FROM evm_address_transactions
                   WHERE address = ANY($2::bytea[]) AND block_number >= $1 GROUP BY address)
               UPDATE evm_address_counters c SET tx_count = c.tx_count - gone.n
               FROM gone WHERE c.address = gone.address
               RETURNING c.address, c.tx_count""",
            fork_block,
            addresses,
        )
        # An address seen only in the orphaned blocks has no row, as if never seen.
        zero = [r["address"] for r in emptied if r["tx_count"] == 0]
        if zero:
            await conn.execute(
                "DELETE FROM evm_address_counters WHERE address = ANY($1::bytea[])", zero
            )
        await conn.execute(
            """DELETE FROM evm_address_transactions
                WHERE address = ANY($2::bytea[]) AND block_number >= $1""",
            fork_block,
            addresses,
        )
        transfers = _deleted(
            await conn.execute(
                "DELETE FROM evm_token_transfers WHERE block_number >= $1", fork_block
            )
        )
        transactions = _deleted(
            await conn.execute("DELETE FROM evm_transactions WHERE block_number >= $1", fork_block)
        )
        # By priced token (a handful, found by a skip scan of the primary key), then block.
        await conn.execute(
            """WITH RECURSIVE priced(token) AS (
                   (SELECT token_address FROM evm_token_prices ORDER BY token_address LIMIT 1)
                   UNION ALL
                   SELECT (SELECT token_address FROM evm_token_prices
                            WHERE token_address > priced.token ORDER BY token_address LIMIT 1)
                     FROM priced WHERE priced.token IS NOT NULL)
               DELETE FROM evm_token_prices
                WHERE token_address IN (SELECT token FROM priced WHERE token IS NOT NULL)
                  AND block_number >= $1""",
            fork_block,
        )
        await conn.execute("DELETE FROM evm_tokens WHERE first_seen_block >= $1", fork_block)
        blocks = _deleted(
            await conn.execute("DELETE FROM evm_blocks WHERE number >= $1", fork_block)
        )
        ancestor = await conn.fetchrow(
            "SELECT hash, timestamp FROM evm_blocks WHERE number = $1", fork_block - 1
        )
        await conn.execute(
            """UPDATE evm_indexer_state
               SET last_block = $1, last_block_hash = $2, last_block_timestamp = $3,
                   block_count = block_count - $4, tx_count = tx_count - $5,
                   transfer_count = transfer_count - $6, reorg_count = reorg_count + 1,
                   updated_at = now()
               WHERE id = 1""",
            fork_block - 1 if ancestor is not None else None,
            ancestor["hash"] if ancestor is not None else None,
            ancestor["timestamp"] if ancestor is not None else None,
            blocks,
            transactions,
            transfers,
        )
        await conn.execute(
            """INSERT INTO evm_reorgs (fork_block, depth, old_tip_hash, new_tip_hash)
               VALUES ($1, $2, $3, $4)""",
            fork_block,
            expected_last - fork_block + 1,
            state["last_block_hash"],
            new_tip_hash,
        )
    return Rollback(fork_block, blocks, transactions, transfers)


def _deleted(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])
