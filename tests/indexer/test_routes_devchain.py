"""`/api/v1` and `/api/devbe` over what the indexer ingested from a dev chain (real JSON-RPC):
the documented shapes with the chain's own values, USD from the pool's slot0, balances equal to
the chain's, paging, and a two-block reorg taking a transaction away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pytest
from web3 import Web3

from ordex.devchain import DevChain, reorg
from ordex.devchain.deploy import contract_at
from ordex.workers.indexer import IndexerWorker
from tests.devbe.conftest import Reader, reader  # noqa: F401  (fixture)
from tests.indexer.conftest import WorkerFactory
from tests.indexer.test_ingest_prices import pool_price
from tests.indexer.traffic import Sent, send_eth, standard_traffic
from tests.platform.conftest import settings  # noqa: F401  (fixture)
from tests.workspace.helpers import api_error


@dataclass
class Indexed:
    chain: DevChain
    sent: Sent
    worker: IndexerWorker
    http: Reader


@pytest.fixture
async def indexed(
    make_devchain: Callable[[], DevChain],
    make_worker: WorkerFactory,
    reader: Reader,  # noqa: F811
) -> AsyncIterator[Indexed]:
    chain = make_devchain()
    sent = standard_traffic(chain)
    worker = await make_worker(chain)
    await worker.sync()
    reader.app.state.eth_rpc_url = chain.url
    yield Indexed(chain, sent, worker, reader)


async def _get(reader: Reader, url: str, **params: Any) -> Any:  # noqa: F811
    r = await reader.http.get(url, params=params or None)
    assert r.status_code == 200, r.text
    return r.json()


def _cents(value: Fraction) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


async def test_transactions_carry_the_chains_values(indexed: Indexed) -> None:
    chain, sent, api = indexed.chain, indexed.sent, indexed.http
    w3 = chain.web3()
    alice, bob = chain.accounts[1], chain.accounts[2]

    usdc = await _get(api, f"/api/v1/transactions/{sent.usdc}")
    receipt = w3.eth.get_transaction_receipt(sent.usdc)
    block = w3.eth.get_block(receipt["blockNumber"])
    eth_usd = pool_price(chain, "weth_usdc_3000", "weth", receipt["blockNumber"])
    fee_wei = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert usdc["from_address"] == alice and usdc["to_address"] == chain.contracts["usdc"]
    assert usdc["block_number"] == receipt["blockNumber"]
    assert usdc["gas_used"] == receipt["gasUsed"]
    assert usdc["gas_price_gwei"] == float(Fraction(receipt["effectiveGasPrice"], 10**9))
    assert usdc["gas_fee_eth"] == float(Fraction(fee_wei, 10**18))
    assert usdc["gas_fee_usd"] == _cents(Fraction(fee_wei, 10**18) * eth_usd)
    assert (usdc["value_native"], usdc["value_usd"], usdc["status"]) == ("0.00 ETH", 0.0, "success")
    assert usdc["price_source"] == "uniswap_v3"
    stamp = usdc["block_timestamp"]
    assert usdc["price_timestamp"] == stamp
    assert Web3.to_int(block["timestamp"]) == int(datetime.fromisoformat(stamp).timestamp())
    assert usdc["token_transfers"] == [
        {
            "contract_address": chain.contracts["usdc"],
            "token_symbol": "USDC",
            "token_name": usdc["token_transfers"][0]["token_name"],
            "token_standard": "ERC-20",
            "from_address": alice,
            "to_address": bob,
            "amount_display": "250.00 USDC",
            "amount_usd": 250.0,
            "token_id": None,
        }
    ]

    eth = await _get(api, f"/api/v1/transactions/{sent.eth}")
    eth_block = w3.eth.get_transaction_receipt(sent.eth)["blockNumber"]
    at_block = pool_price(chain, "weth_usdc_3000", "weth", eth_block)
    assert eth["value_native"] == "1.2345 ETH"
    assert eth["value_usd"] == _cents(Fraction(12345, 10**4) * at_block)

    (mkr,) = (await _get(api, f"/api/v1/transactions/{sent.mkr}"))["token_transfers"]
    assert (mkr["token_symbol"], mkr["amount_display"]) == ("MKR", "2.00 MKR")  # bytes32 symbol
    (nodec,) = (await _get(api, f"/api/v1/transactions/{sent.nodec}"))["token_transfers"]
    assert nodec["amount_display"].startswith("777 ") and "raw units" in nodec["amount_display"]
    (nft,) = (await _get(api, f"/api/v1/transactions/{sent.nft_transfer}"))["token_transfers"]
    assert (nft["token_standard"], nft["token_id"]) == ("ERC-721", str(sent.nft_id))
    batch = (await _get(api, f"/api/v1/transactions/{sent.multi_batch}"))["token_transfers"]
    assert [(t["token_standard"], t["token_id"]) for t in batch] == [
        ("ERC-1155", "7"),
        ("ERC-1155", "8"),
    ]
    failed = await _get(api, f"/api/v1/transactions/{sent.failed}")
    assert (failed["status"], failed["token_transfers"]) == ("failed", [])

    blk = await _get(api, f"/api/v1/blocks/{receipt['blockNumber']}")
    assert sent.usdc in blk["transaction_hashes"]
    assert blk["transaction_count"] == len(block["transactions"])
    token = await _get(api, f"/api/v1/tokens/{chain.contracts['usdc'].lower()}")
    assert (token["contract_address"], token["symbol"], token["decimals"]) == (
        chain.contracts["usdc"],
        "USDC",
        6,
    )
    assert (await _get(api, f"/api/v1/tokens/{chain.contracts['nodecimals']}"))["decimals"] is None


async def test_health_and_paging_against_the_chain(indexed: Indexed) -> None:
    chain, api = indexed.chain, indexed.http
    w3 = chain.web3()
    health = await _get(api, "/api/v1/health")
    tip = w3.eth.block_number
    assert health["status"] == "ok"
    assert (health["last_indexed_block"], health["chain_tip_block"]) == (tip, tip)
    assert health["ingestion_lag_seconds"] == 0.0
    assert health["reorg_count"] == 0

    alice = chain.accounts[1]
    for sort in ("timestamp", "-timestamp"):
        page = await _get(api, "/api/v1/transactions", address=alice, sort=sort, page_size=3)
        total = page["total_results"]
        hashes = [t["hash"] for t in page["data"]]
        while page["next_page_url"]:
            page = await _get(api, page["next_page_url"])
            hashes += [t["hash"] for t in page["data"]]
        assert len(hashes) == len(set(hashes)) == total
        positions = []
        for h in hashes:
            tx = w3.eth.get_transaction(h)
            positions.append((tx["blockNumber"], tx["transactionIndex"]))
        assert positions == sorted(positions, reverse=sort.startswith("-"))
        assert set(vars(indexed.sent).values()) - {indexed.sent.nft_id} <= set(hashes)


async def test_devbe_queries_match_the_chain(indexed: Indexed) -> None:
    chain, api = indexed.chain, indexed.http
    w3 = chain.web3()
    alice = chain.accounts[1]
    summary = await _get(api, "/api/devbe/data/walletSummary", address=alice.lower())
    assert summary["address"] == alice
    assert summary["native_balance_wei"] == str(w3.eth.get_balance(alice))
    count = (await _get(api, "/api/v1/transactions", address=alice))["total_results"]
    assert summary["transaction_count"] == count > 0
    assert summary["first_seen_block"] <= summary["last_seen_block"] == w3.eth.block_number

    # The ERC-20 balances from the indexed transfers equal the tokens' balanceOf (WETH's too: its
    # `Deposit` and `Withdrawal` are indexed as mints and burns).
    balances = await _get(api, "/api/devbe/data/tokenBalances", address=alice)
    erc20 = {b["contract_address"]: b for b in balances["token_balances"]}
    for key in ("usdc", "mkr", "nodecimals", "weth"):
        token = contract_at(w3, "ERC20MockDecimals", chain.contracts[key])
        on_chain = token.functions.balanceOf(alice).call()
        held = erc20.get(chain.contracts[key])
        assert (int(held["balance_raw"]) if held else 0) == on_chain, key
    usdc = erc20[chain.contracts["usdc"]]
    assert usdc["decimals"] == 6 and usdc["balance_usd"] is not None

    recent = await _get(api, "/api/devbe/data/recentTransfers", address=alice, limit=2)
    assert len(recent["transfers"]) == 2
    assert recent["transfers"][0]["transaction_hash"] == indexed.sent.multi_batch
    missing = {"walletId": 2**40}
    api_error(await api.http.get("/api/devbe/data/walletSummary", params=missing), 404)


async def test_a_reorg_removes_a_transaction(indexed: Indexed) -> None:
    chain, api, worker = indexed.chain, indexed.http, indexed.worker
    bob, carol = chain.accounts[2], chain.accounts[3]
    before = (await _get(api, "/api/v1/transactions", address=carol))["total_results"]
    doomed = send_eth(chain, bob, carol, 10**15)
    await worker.sync()
    assert (await _get(api, f"/api/v1/transactions/{doomed}"))["to_address"] == carol
    assert (await _get(api, "/api/v1/transactions", address=carol))["total_results"] == before + 1

    reorg(chain, 2)
    await worker.sync()
    api_error(await api.http.get(f"/api/v1/transactions/{doomed}"), 404)
    page = await _get(api, "/api/v1/transactions", address=carol)
    assert page["total_results"] == before
    assert doomed not in [t["hash"] for t in page["data"]]
    health = await _get(api, "/api/v1/health")
    assert health["reorg_count"] == 1
    assert health["last_indexed_block"] == chain.web3().eth.block_number
