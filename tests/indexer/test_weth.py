"""WETH9's `Deposit` and `Withdrawal` indexed as ERC-20 mints and burns of the configured WETH
contract (it emits no `Transfer` for them): rows from and to the zero address priced like any
transfer, balances equal to `balanceOf`, the same events from another contract ignored, and a
reorg taking an unwrap away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from web3 import Web3
from web3.types import Wei

from ordex.devchain import DevChain, reorg
from ordex.devchain.deploy import contract_at, load_artifact
from ordex.services.indexer_decode import (
    ERC20,
    TOPIC_WETH_DEPOSIT,
    TOPIC_WETH_WITHDRAWAL,
    ZERO_ADDRESS,
    DecodedTransfer,
    decode_transfer_log,
)
from ordex.services.indexer_prices import usd_amount
from ordex.workers.indexer import IndexerWorker
from tests.devbe.conftest import Reader, reader  # noqa: F401  (fixture)
from tests.indexer.conftest import WorkerFactory
from tests.platform.conftest import settings  # noqa: F401  (fixture)

GAS = 1_000_000
WETH = bytes.fromhex("c0" * 20)
OTHER = bytes.fromhex("d1" * 20)
HOLDER = bytes.fromhex("ab" * 20)
ZERO_CS = "0x" + "00" * 20


def _log(address: bytes, topics: list[str], data: bytes) -> dict[str, Any]:
    return {"address": "0x" + address.hex(), "topics": topics, "data": "0x" + data.hex(),
            "logIndex": "0x5"}  # fmt: skip


def _topic(address: bytes) -> str:
    return "0x" + address.rjust(32, b"\0").hex()


def test_deposit_and_withdrawal_decode_for_the_weth_contract_only() -> None:
    wad = (7 * 10**18).to_bytes(32, "big")
    deposit = _log(WETH, [TOPIC_WETH_DEPOSIT, _topic(HOLDER)], wad)
    withdrawal = _log(WETH, [TOPIC_WETH_WITHDRAWAL, _topic(HOLDER)], wad)
    assert decode_transfer_log(deposit, WETH) == [
        DecodedTransfer(5, 0, WETH, ERC20, ZERO_ADDRESS, HOLDER, 7 * 10**18, None)
    ]
    assert decode_transfer_log(withdrawal, WETH) == [
        DecodedTransfer(5, 0, WETH, ERC20, HOLDER, ZERO_ADDRESS, 7 * 10**18, None)
    ]
    # Another contract with the same events is not WETH; without a WETH address nothing is.
    assert decode_transfer_log(_log(OTHER, deposit["topics"], wad), WETH) == []
    assert decode_transfer_log(deposit) == []
    # Malformed: a topic too many or too few, short data, a dirty address word.
    assert decode_transfer_log(_log(WETH, [*deposit["topics"], _topic(HOLDER)], wad), WETH) == []
    assert decode_transfer_log(_log(WETH, [TOPIC_WETH_DEPOSIT], wad), WETH) == []
    assert decode_transfer_log(_log(WETH, deposit["topics"], wad[:31]), WETH) == []
    dirty = "0x" + "ff" * 12 + HOLDER.hex()
    assert decode_transfer_log(_log(WETH, [TOPIC_WETH_WITHDRAWAL, dirty], wad), WETH) == []


@dataclass
class Wrapped:
    chain: DevChain
    worker: IndexerWorker
    http: Reader
    pool: asyncpg.Pool
    holder: str
    deposit: str
    withdrawal: str
    impostor: str
    impostor_deposit: str


def _tx(w3: Web3, tx_hash: Any) -> str:
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return "0x" + bytes(receipt["transactionHash"]).hex()


@pytest.fixture
async def wrapped(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    reader: Reader,  # noqa: F811
    indexer_pool: asyncpg.Pool,
) -> AsyncIterator[Wrapped]:
    chain = make_devchain()
    w3 = chain.web3()
    holder = Web3.to_checksum_address(chain.accounts[1])
    weth = contract_at(w3, "sushi/WETH9Mock", chain.contracts["weth"])
    deposit = _tx(
        w3, weth.functions.deposit().transact({"from": holder, "value": Wei(25 * 10**17)})
    )
    withdrawal = _tx(w3, weth.functions.withdraw(10**18).transact({"from": holder, "gas": GAS}))
    # A second WETH9 deployment: same events, but not the configured WETH.
    artifact = load_artifact("sushi/WETH9Mock")
    code = artifact["bytecode"]
    code = code["object"] if isinstance(code, dict) else code
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=code)
    created = w3.eth.get_transaction_receipt(factory.constructor().transact({"from": holder}))
    impostor = str(created["contractAddress"])
    other = contract_at(w3, "sushi/WETH9Mock", impostor)
    impostor_deposit = _tx(
        w3, other.functions.deposit().transact({"from": holder, "value": Wei(10**18)})
    )
    worker = await make_worker(chain)
    await worker.sync()
    reader.app.state.eth_rpc_url = chain.url
    yield Wrapped(
        chain, worker, reader, indexer_pool, holder, deposit, withdrawal, impostor, impostor_deposit
    )


async def _get(reader: Reader, url: str, **params: Any) -> Any:  # noqa: F811
    r = await reader.http.get(url, params=params or None)
    assert r.status_code == 200, r.text
    return r.json()


async def _transfers(pool: asyncpg.Pool, tx_hash: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            """SELECT t.*, b.eth_usd FROM evm_token_transfers t
                 JOIN evm_blocks b ON b.number = t.block_number
                WHERE t.tx_hash = $1 ORDER BY t.log_index""",
            bytes.fromhex(tx_hash[2:]),
        )
    )


async def _weth_balance(w: Wrapped) -> tuple[int, int]:
    """(indexed, on chain) WETH of the holder."""
    weth_address = w.chain.contracts["weth"]
    weth = contract_at(w.chain.web3(), "sushi/WETH9Mock", weth_address)
    body = await _get(w.http, "/api/devbe/data/tokenBalances", address=w.holder)
    held = {b["contract_address"]: b for b in body["token_balances"]}
    assert w.impostor not in held
    indexed = int(held[weth_address]["balance_raw"]) if weth_address in held else 0
    return indexed, weth.functions.balanceOf(w.holder).call()


async def test_wraps_and_unwraps_are_weth_mints_and_burns(wrapped: Wrapped) -> None:
    w = wrapped
    weth = bytes.fromhex(w.chain.contracts["weth"][2:])
    holder = bytes.fromhex(w.holder[2:])

    (mint,) = await _transfers(w.pool, w.deposit)
    (burn,) = await _transfers(w.pool, w.withdrawal)
    for row, sender, recipient, amount in (
        (mint, ZERO_ADDRESS, holder, 25 * 10**17),
        (burn, holder, ZERO_ADDRESS, 10**18),
    ):
        assert (row["contract_address"], row["token_standard"]) == (weth, "ERC-20")
        assert (row["from_address"], row["to_address"]) == (sender, recipient)
        assert (row["amount"], row["token_id"]) == (amount, None)
        # WETH is priced as ETH at its block.
        assert row["eth_usd"] is not None and row["token_usd"] == row["eth_usd"]
        assert row["amount_usd"] == usd_amount(amount, 18, row["token_usd"])
    assert await _transfers(w.pool, w.impostor_deposit) == []

    counts = {
        "0x" + bytes(r["hash"]).hex(): r["transfer_count"]
        for r in await w.pool.fetch("SELECT hash, transfer_count FROM evm_transactions")
    }
    assert (counts[w.deposit], counts[w.withdrawal], counts[w.impostor_deposit]) == (1, 1, 0)
    state = await w.pool.fetchval("SELECT transfer_count FROM evm_indexer_state")
    assert state == await w.pool.fetchval("SELECT count(*) FROM evm_token_transfers")
    # The zero address is indexed like any party to a transfer.
    zero_txs = await w.pool.fetch(
        "SELECT tx_hash FROM evm_address_transactions WHERE address = $1", ZERO_ADDRESS
    )
    zero_hashes = {"0x" + bytes(r["tx_hash"]).hex() for r in zero_txs}
    assert {w.deposit, w.withdrawal} <= zero_hashes and w.impostor_deposit not in zero_hashes

    indexed, on_chain = await _weth_balance(w)
    assert indexed == on_chain > 0

    symbol = contract_at(w.chain.web3(), "sushi/WETH9Mock", w.chain.contracts["weth"])
    sym = symbol.functions.symbol().call()
    for tx_hash, from_cs, to_cs, display in (
        (w.deposit, ZERO_CS, w.holder, f"2.50 {sym}"),
        (w.withdrawal, w.holder, ZERO_CS, f"1.00 {sym}"),
    ):
        (shown,) = (await _get(w.http, f"/api/v1/transactions/{tx_hash}"))["token_transfers"]
        assert shown["contract_address"] == w.chain.contracts["weth"]
        assert (shown["token_standard"], shown["token_id"]) == ("ERC-20", None)
        assert (shown["from_address"], shown["to_address"]) == (from_cs, to_cs)
        assert shown["amount_display"] == display
        assert shown["amount_usd"] is not None and shown["amount_usd"] > 0
    impostor = await _get(w.http, f"/api/v1/transactions/{w.impostor_deposit}")
    assert impostor["token_transfers"] == []


async def test_a_reorg_takes_an_unwrap_away(wrapped: Wrapped) -> None:
    w = wrapped
    w3 = w.chain.web3()
    weth = contract_at(w3, "sushi/WETH9Mock", w.chain.contracts["weth"])
    before = await w.pool.fetchval("SELECT transfer_count FROM evm_indexer_state")
    doomed = _tx(w3, weth.functions.withdraw(10**17).transact({"from": w.holder, "gas": GAS}))
    await w.worker.sync()
    assert len(await _transfers(w.pool, doomed)) == 1
    indexed, on_chain = await _weth_balance(w)
    assert indexed == on_chain

    reorg(w.chain, 1)
    await w.worker.sync()
    assert await _transfers(w.pool, doomed) == []
    assert await w.pool.fetchval("SELECT transfer_count FROM evm_indexer_state") == before
    indexed_after, on_chain_after = await _weth_balance(w)
    assert indexed_after == on_chain_after == indexed + 10**17
