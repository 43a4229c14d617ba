"""A small index written straight into the `evm_*` tables, for the read routes' tests.

Deterministic: `BLOCKS` blocks 12 s apart from `T0`, `PER_BLOCK` transactions each. Every fourth
transaction is the contract's example (ALICE calls USDC, 250.00 USDC to BOB, 65,000 gas at 12.5 gwei,
ETH at 3,000 USD: a gas fee of 0.0008125 ETH, 2.44 USD); others are ETH sends, a failed call, a
contract creation, an ERC-721 transfer and a transfer of a token without `decimals`. Counters are
kept like ingest keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from eth_utils.crypto import keccak

from ordex.db import indexer_ingest as ingest
from ordex.db.types import Connection

ALICE = bytes.fromhex("d8da6bf26964af9d7eed9e03e53415d37aa96045")
BOB = bytes.fromhex("1111111111111111111111111111111111111111")
CAROL = bytes.fromhex("2222222222222222222222222222222222222222")
USDC = bytes.fromhex("a0b86991c6218b36c1d19d4a2e9eb0ce3606eb48")
NODEC = bytes.fromhex("3333333333333333333333333333333333333333")
NFT = bytes.fromhex("4444444444444444444444444444444444444444")
UNTOUCHED = bytes.fromhex("5555555555555555555555555555555555555555")

FIRST_BLOCK = 22_400_001
T0 = datetime(2026, 4, 30, 12, 0, 0, tzinfo=UTC)
GWEI = 10**9
ETH = 10**18
ETH_USD = Decimal("3000")


@dataclass(frozen=True)
class SeedTx:
    hash: bytes
    block_number: int
    tx_index: int
    timestamp: datetime
    addresses: frozenset[bytes]


@dataclass
class Seeded:
    txs: list[SeedTx] = field(default_factory=list)
    first_block: int = FIRST_BLOCK
    last_block: int = FIRST_BLOCK

    def of(self, address: bytes) -> list[SeedTx]:
        """The address's transactions, oldest first."""
        return [t for t in self.txs if address in t.addresses]


def tx_hash(block: int, index: int) -> bytes:
    return keccak(f"seed:{block}:{index}".encode())


async def seed(conn: Connection, blocks: int = 12, per_block: int = 4) -> Seeded:
    out = Seeded(last_block=FIRST_BLOCK + blocks - 1)
    block_rows, tx_rows, transfer_rows, addr_rows = [], [], [], []
    counters: dict[bytes, int] = {}
    for b in range(blocks):
        number = FIRST_BLOCK + b
        moment = T0 + timedelta(seconds=12 * b)
        parent = keccak(f"block:{number - 1}".encode())
        block_rows.append(
            (number, keccak(f"block:{number}".encode()), parent, moment, per_block, ETH_USD)
        )
        for i in range(per_block):
            h = tx_hash(number, i)
            kind = (b * per_block + i) % 8
            sender, to, contract, value, status, gas_used, price = (
                ALICE,
                USDC,
                None,
                0,
                1,
                65_000,
                12_500_000_000,
            )
            transfers: list[tuple[bytes, str, bytes, bytes, int, int | None, Decimal | None]] = []
            if kind in (0, 4):  # the contract's example
                transfers.append((USDC, "ERC-20", ALICE, BOB, 250_000_000, None, Decimal("250")))
            elif kind == 1:
                sender, to, value, gas_used, price = BOB, CAROL, 15 * ETH // 10, 21_000, 10 * GWEI
            elif kind == 2:
                sender, to, status = CAROL, USDC, 0
            elif kind == 3:
                sender, to, contract, value = BOB, None, keccak(h)[:20], 0
            elif kind == 5:
                sender, to = CAROL, NFT
                transfers.append((NFT, "ERC-721", CAROL, ALICE, 1, 7, None))
            elif kind == 6:
                sender, to = BOB, NODEC
                transfers.append((NODEC, "ERC-20", BOB, ALICE, 12_345, None, None))
            else:
                sender, to, value, gas_used, price = ALICE, BOB, 123_456_000_000_000, 21_000, GWEI
            fee_usd = Decimal(gas_used * price) / ETH * ETH_USD
            value_usd = Decimal(value) / ETH * ETH_USD
            tx_rows.append(
                (
                    h,
                    number,
                    i,
                    moment,
                    sender,
                    to,
                    contract,
                    Decimal(value),
                    7,
                    100_000,
                    gas_used,
                    Decimal(price),
                    status,
                    None,
                    2,
                    len(transfers),
                    ETH_USD,
                    value_usd,
                    fee_usd,
                )
            )
            touched = {sender, *(a for a in (to, contract) if a is not None)}
            for log_index, (token, standard, frm, dst, amount, token_id, usd) in enumerate(
                transfers
            ):
                transfer_rows.append(
                    (
                        number,
                        i * 10 + log_index,
                        0,
                        h,
                        i,
                        moment,
                        token,
                        standard,
                        frm,
                        dst,
                        Decimal(amount),
                        None if token_id is None else Decimal(token_id),
                        None if usd is None else Decimal(1),
                        usd,
                    )
                )
                touched |= {frm, dst}
            for address in touched:
                addr_rows.append((address, number, i, h, moment))
                counters[address] = counters.get(address, 0) + 1
            out.txs.append(SeedTx(h, number, i, moment, frozenset(touched)))
    for table, columns, rows in (
        ("evm_blocks", ingest.BLOCK_COLUMNS, block_rows),
        ("evm_transactions", ingest.TRANSACTION_COLUMNS, tx_rows),
        ("evm_token_transfers", ingest.TRANSFER_COLUMNS, transfer_rows),
        ("evm_address_transactions", ingest.ADDRESS_TX_COLUMNS, addr_rows),
    ):
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))
    await conn.copy_records_to_table(
        "evm_address_counters", records=list(counters.items()), columns=["address", "tx_count"]
    )
    await conn.executemany(
        """INSERT INTO evm_tokens (address, token_standard, name, symbol, decimals, fetched_at,
                                   first_seen_block)
           VALUES ($1, $2, $3, $4, $5, now(), $6)""",
        [
            (USDC, "ERC-20", "USD Coin", "USDC", 6, FIRST_BLOCK),
            (NODEC, "ERC-20", "No Decimals", "NODEC", None, FIRST_BLOCK),
            (NFT, "ERC-721", "Dev Kitties", "KITTY", None, FIRST_BLOCK),
        ],
    )
    await conn.execute(
        """INSERT INTO evm_token_prices (block_number, token_address, usd_price, pool_address)
           VALUES ($1, $2, 1, NULL)""",
        FIRST_BLOCK,
        USDC,
    )
    last = block_rows[-1]
    await conn.execute(
        """INSERT INTO evm_indexer_state (id, chain_id, last_block, last_block_hash,
               last_block_timestamp, finalized_block, chain_tip_block, reorg_count, block_count,
               tx_count, transfer_count)
           VALUES (1, 1337, $1, $2, $3, $4, $1, 2, $5, $6, $7)""",
        last[0],
        last[1],
        last[3],
        last[0] - 5,
        len(block_rows),
        len(tx_rows),
        len(transfer_rows),
    )
    return out
