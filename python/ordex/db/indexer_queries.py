"""SQL reads of the EVM index (`evm_*` tables) for `/api/v1` and `/api/devbe`.

Addresses and hashes are `bytea` here; the services format them. Pages are keyset ranges on
`(block_number, tx_index)`: the address list on the primary key of `evm_address_transactions`,
the whole-chain list on the unique `(block_number, tx_index)` of `evm_transactions`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from ordex.db.types import Connection

Direction = Literal["asc", "desc"]

TX_COLUMNS = (
    "t.hash, t.block_number, t.tx_index, t.block_timestamp, t.from_address, t.to_address, "
    "t.contract_address, t.value, t.gas_used, t.effective_gas_price, t.status, t.eth_usd, "
    "t.value_usd, t.gas_fee_usd, t.transfer_count"
)


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One page of transactions: in `direction` order, strictly past `after` when given, between
    the block bounds (inclusive), skipping `offset` rows, at most `limit` rows."""

    address: bytes | None
    direction: Direction
    after: tuple[int, int] | None
    first_block: int | None
    last_block: int | None
    limit: int
    offset: int = 0


async def transactions_page(conn: Connection, q: PageQuery) -> list[asyncpg.Record]:
    # Only fixed fragments are spliced in; every value is a bind parameter.
    order = "DESC" if q.direction == "desc" else "ASC"
    past = "<" if q.direction == "desc" else ">"
    args: list[object] = []
    where: list[str] = []
    if q.address is not None:
        args.append(q.address)
        where.append(f"address = ${len(args)}")
    if q.first_block is not None:
        args.append(q.first_block)
        where.append(f"block_number >= ${len(args)}")
    if q.last_block is not None:
        args.append(q.last_block)
        where.append(f"block_number <= ${len(args)}")
    if q.after is not None:
        args.extend(q.after)
        where.append(f"(block_number, tx_index) {past} (${len(args) - 1}, ${len(args)})")
    args.extend((q.limit, q.offset))
    limits = f"LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    condition = ("WHERE " + " AND ".join(where)) if where else ""
    if q.address is not None:
        sql = f"""
            SELECT {TX_COLUMNS}
              FROM (SELECT block_number, tx_index, tx_hash FROM evm_address_transactions
                     {condition}
                     ORDER BY block_number {order}, tx_index {order} {limits}) a
              JOIN evm_transactions t ON t.hash = a.tx_hash
             ORDER BY a.block_number {order}, a.tx_index {order}"""
    else:
        sql = f"""
            SELECT {TX_COLUMNS} FROM evm_transactions t {condition}
             ORDER BY block_number {order}, tx_index {order} {limits}"""
    return list(await conn.fetch(sql, *args))


async def transaction(conn: Connection, tx_hash: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {TX_COLUMNS} FROM evm_transactions t WHERE hash = $1", tx_hash
    )


async def transfers_of(
    conn: Connection, transactions: list[tuple[int, int]]
) -> list[asyncpg.Record]:
    """Token transfers of these transactions (block number, index in the block), with their
    token's metadata, in log order: on the transfers' primary key, a block's few rows each."""
    return list(
        await conn.fetch(
            """
            SELECT tt.tx_hash, tt.contract_address, tt.token_standard, tt.from_address,
                   tt.to_address, tt.amount, tt.token_id, tt.amount_usd,
                   tok.name AS token_name, tok.symbol AS token_symbol, tok.decimals
              FROM unnest($1::bigint[], $2::integer[]) AS wanted(block_number, tx_index)
              JOIN evm_token_transfers tt
                ON tt.block_number = wanted.block_number AND tt.tx_index = wanted.tx_index
              LEFT JOIN evm_tokens tok ON tok.address = tt.contract_address
             ORDER BY tt.block_number, tt.log_index, tt.batch_index""",
            [block for block, _ in transactions],
            [index for _, index in transactions],
        )
    )


async def block_range(
    conn: Connection, start: datetime | None, end: datetime | None
) -> tuple[int | None, int | None]:
    """The first indexed block at or after `start` and the last at or before `end` (None where
    there is no bound); a range whose first block is past its last one is empty."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT number FROM evm_blocks WHERE $1::timestamptz IS NOT NULL
                   AND timestamp >= $1 ORDER BY timestamp, number LIMIT 1) AS first_block,
               (SELECT number FROM evm_blocks WHERE $2::timestamptz IS NOT NULL
                   AND timestamp <= $2 ORDER BY timestamp DESC, number DESC LIMIT 1) AS last_block""",
        start,
        end,
    )
    assert row is not None
    return row["first_block"], row["last_block"]


async def address_tx_count(conn: Connection, address: bytes) -> int:
    count = await conn.fetchval(
        "SELECT tx_count FROM evm_address_counters WHERE address = $1", address
    )
    return int(count or 0)


async def address_tx_count_between(
    conn: Connection, address: bytes, first_block: int | None, last_block: int | None, cap: int
) -> int:
    """Rows of the address index in a block range, counted on the index and never past `cap`."""
    count = await conn.fetchval(
        """
        SELECT count(*) FROM (
            SELECT 1 FROM evm_address_transactions
             WHERE address = $1 AND block_number >= coalesce($2, 0)
               AND block_number <= coalesce($3, 9223372036854775807)
             LIMIT $4) capped""",
        address,
        first_block,
        last_block,
        cap,
    )
    return int(count or 0)


async def chain_tx_count_between(
    conn: Connection, first_block: int | None, last_block: int | None
) -> int:
    """Transactions in a block range from the per-block counts kept at ingest."""
    count = await conn.fetchval(
        """
        SELECT coalesce(sum(tx_count), 0) FROM evm_blocks
         WHERE number >= coalesce($1, 0) AND number <= coalesce($2, 9223372036854775807)""",
        first_block,
        last_block,
    )
    return int(count or 0)


async def indexer_state(conn: Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT chain_id, last_block, last_block_timestamp, finalized_block, chain_tip_block,
               reorg_count, block_count, tx_count, transfer_count
          FROM evm_indexer_state WHERE id = 1"""
    )


async def block(conn: Connection, number: int) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT number, hash, parent_hash, timestamp, tx_count, eth_usd FROM evm_blocks WHERE number = $1",
        number,
    )


async def block_tx_hashes(conn: Connection, number: int) -> list[bytes]:
    rows = await conn.fetch(
        "SELECT hash FROM evm_transactions WHERE block_number = $1 ORDER BY tx_index", number
    )
    return [bytes(r["hash"]) for r in rows]


async def token(conn: Connection, address: bytes) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT tok.address, tok.token_standard, tok.name, tok.symbol, tok.decimals,
               tok.fetched_at, tok.first_seen_block,
               p.usd_price, p.block_number AS price_block, b.timestamp AS price_timestamp
          FROM evm_tokens tok
          LEFT JOIN LATERAL (
                SELECT usd_price, block_number FROM evm_token_prices
                 WHERE token_address = tok.address ORDER BY block_number DESC LIMIT 1) p ON true
          LEFT JOIN evm_blocks b ON b.number = p.block_number
         WHERE tok.address = $1""",
        address,
    )


async def latest_eth_usd(conn: Connection) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """
        SELECT number, timestamp, eth_usd FROM evm_blocks
         WHERE eth_usd IS NOT NULL ORDER BY number DESC LIMIT 1"""
    )


@dataclass(frozen=True, slots=True)
class AddressActivity:
    transaction_count: int
    first_block: int | None
    first_seen: datetime | None
    last_block: int | None
    last_seen: datetime | None


async def address_activity(conn: Connection, address: bytes) -> AddressActivity:
    """Counter plus the two ends of the address's index range (two index probes)."""
    row = await conn.fetchrow(
        """
        SELECT (SELECT tx_count FROM evm_address_counters WHERE address = $1) AS tx_count,
               f.block_number AS first_block, f.block_timestamp AS first_seen,
               l.block_number AS last_block, l.block_timestamp AS last_seen
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (SELECT block_number, block_timestamp FROM evm_address_transactions
                              WHERE address = $1 ORDER BY block_number, tx_index LIMIT 1) f ON true
          LEFT JOIN LATERAL (SELECT block_number, block_timestamp FROM evm_address_transactions
                              WHERE address = $1
                              ORDER BY block_number DESC, tx_index DESC LIMIT 1) l ON true""",
        address,
    )
    assert row is not None
    return AddressActivity(
        int(row["tx_count"] or 0),
        row["first_block"],
        row["first_seen"],
        row["last_block"],
        row["last_seen"],
    )


async def token_balances(conn: Connection, address: bytes) -> list[asyncpg.Record]:
    """Net units per token (received minus sent) over the address's indexed transfers, with the
    token's metadata and its latest indexed USD price; tokens netting to zero are left out.

    A transfer's sender and recipient are both in its transaction's address rows, so the
    address's transactions (its primary-key range in `evm_address_transactions`) lead to every
    transfer it took part in, each block's few on the transfers' primary key."""
    return list(
        await conn.fetch(
            """
            WITH moves AS (
                SELECT tt.contract_address,
                       CASE WHEN tt.to_address = $1 THEN tt.amount ELSE 0 END
                       - CASE WHEN tt.from_address = $1 THEN tt.amount ELSE 0 END AS amount
                  FROM evm_address_transactions a
                  JOIN evm_token_transfers tt
                    ON tt.block_number = a.block_number AND tt.tx_index = a.tx_index
                 WHERE a.address = $1 AND (tt.from_address = $1 OR tt.to_address = $1)
            ), net AS (
                SELECT contract_address, sum(amount) AS balance FROM moves
                 GROUP BY contract_address HAVING sum(amount) <> 0
            )
            SELECT net.contract_address, net.balance, tok.token_standard, tok.name, tok.symbol,
                   tok.decimals, p.usd_price
              FROM net
              LEFT JOIN evm_tokens tok ON tok.address = net.contract_address
              LEFT JOIN LATERAL (
                    SELECT usd_price FROM evm_token_prices
                     WHERE token_address = net.contract_address
                     ORDER BY block_number DESC LIMIT 1) p ON true
             ORDER BY net.contract_address""",
            address,
        )
    )


async def recent_transfers(
    conn: Connection, address: bytes | None, limit: int
) -> list[asyncpg.Record]:
    columns = """
        SELECT tt.block_number, tt.log_index, tt.batch_index, tt.tx_hash, tt.block_timestamp,
               tt.contract_address, tt.token_standard, tt.from_address, tt.to_address, tt.amount,
               tt.token_id, tt.amount_usd, tok.name AS token_name, tok.symbol AS token_symbol,
               tok.decimals"""
    if address is None:
        return list(
            await conn.fetch(
                f"""{columns}
                  FROM evm_token_transfers tt
                  LEFT JOIN evm_tokens tok ON tok.address = tt.contract_address
                 ORDER BY tt.block_number DESC, tt.log_index DESC, tt.batch_index DESC
                 LIMIT $1""",
                limit,
            )
        )
    # Newest first along the address's transactions (its primary-key range in the address
    # index, which names both parties of every transfer), each block's transfers on their key.
    # Within a block log indexes follow transaction indexes, so this is log order, and the scan
    # stops once `limit` transfers are found.
    return list(
        await conn.fetch(
            f"""{columns}
              FROM evm_address_transactions a
              JOIN evm_token_transfers tt
                ON tt.block_number = a.block_number AND tt.tx_index = a.tx_index
              LEFT JOIN evm_tokens tok ON tok.address = tt.contract_address
             WHERE a.address = $1 AND (tt.from_address = $1 OR tt.to_address = $1)
             ORDER BY a.block_number DESC, a.tx_index DESC, tt.log_index DESC,
                      tt.batch_index DESC
             LIMIT $2""",
            address,
            limit,
        )
    )


async def wallet_address(
    conn: Connection, wallet_id: int, user_id: uuid.UUID | None
) -> bytes | None:
    """The address of a wallet account of the user's, or a shared one (the droids' wallets)."""
    value = await conn.fetchval(
        "SELECT address FROM wallets WHERE id = $1 AND (user_id IS NULL OR user_id = $2)",
        wallet_id, user_id,
    )  # fmt: skip
    return None if value is None else bytes(value)
