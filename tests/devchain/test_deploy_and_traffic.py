"""Deployment is deterministic and priced as seeded; traffic moves prices; reorgs replace blocks."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
from web3 import Web3
from web3.types import Wei

from ordex.devchain import DevChain, reorg, simulate
from ordex.devchain.deploy import contract_at


def eth_usd_from_slot0(chain: DevChain, w3: Web3) -> Decimal:
    pool = chain.pools["weth_usdc_3000"]
    sqrt_price = Decimal(
        contract_at(w3, "uniswap_v3/UniswapV3Pool", pool.address).functions.slot0().call()[0]
    )
    raw = (sqrt_price / Decimal(2**96)) ** 2  # token1 raw per token0 raw
    if pool.token0 == chain.contracts["usdc"]:
        return Decimal(10) ** 12 / raw  # WETH is token1: USDC per WETH
    return raw * Decimal(10) ** 12


def test_tokens_and_pools(devchain: DevChain) -> None:
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    c = devchain.contracts
    assert devchain.decimals["usdc"] == 6 and devchain.decimals["dai"] == 18
    assert devchain.decimals["nodecimals"] is None
    assert contract_at(w3, "ERC20MockDecimals", c["usdc"]).functions.decimals().call() == 6
    assert contract_at(w3, "ERC20MockDecimals", c["usdc"]).functions.symbol().call() == "USDC"
    mkr = contract_at(w3, "Bytes32Token", c["mkr"])
    assert mkr.functions.symbol().call().rstrip(b"\0") == b"MKR"
    # decimals() is absent: the call reverts (no such selector), it does not answer 0.
    selector = Web3.keccak(text="decimals()")[:4].hex()
    body = httpx.post(
        devchain.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_call",
            "params": [
                {"to": c["nodecimals"], "data": "0x" + selector.removeprefix("0x")},
                "latest",
            ],
        },
    ).json()
    assert "error" in body
    for key in (
        "uniswap_v3_factory",
        "nonfungible_position_manager",
        "swap_router",
        "quoter",
        "nft",
        "multi",
    ):
        assert len(w3.eth.get_code(c[key])) > 100, key
    factory = contract_at(w3, "uniswap_v3/UniswapV3Factory", c["uniswap_v3_factory"])
    for pool in devchain.pools.values():
        assert factory.functions.getPool(pool.token0, pool.token1, pool.fee).call() == pool.address
        assert (
            contract_at(w3, "uniswap_v3/UniswapV3Pool", pool.address).functions.liquidity().call()
            > 0
        )


def test_deployment_is_deterministic(
    devchain: DevChain, make_devchain: Callable[[], DevChain]
) -> None:
    fresh = make_devchain()
    assert fresh.contracts == devchain.contracts
    assert {k: p.address for k, p in fresh.pools.items()} == {
        k: p.address for k, p in devchain.pools.items()
    }
    assert fresh.accounts == devchain.accounts
    genesis = [
        httpx.post(
            c.url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "eth_getBlockByNumber",
                "params": ["0x0", False],
            },
        ).json()["result"]["hash"]
        for c in (fresh, devchain)
    ]
    assert genesis[0] == genesis[1]


def test_seeded_price_and_traffic_moves_it(make_devchain: Callable[[], DevChain]) -> None:
    chain = make_devchain()
    w3 = Web3(Web3.HTTPProvider(chain.url))
    before = eth_usd_from_slot0(chain, w3)
    assert abs(before - 3000) < Decimal("0.01")
    quoter = contract_at(w3, "uniswap_v3/Quoter", chain.contracts["quoter"])
    out = quoter.functions.quoteExactInputSingle(
        chain.contracts["weth"], chain.contracts["usdc"], 3000, 10**18, 0
    ).call()
    assert 2_980 * 10**6 < out < 3_000 * 10**6  # 1 ETH for ~3000 USDC less the 0.3% fee

    head = w3.eth.block_number
    counts = simulate(chain.url, blocks=8, seed=7)
    assert counts["blocks"] >= 8 and counts["swaps"] > 0
    assert w3.eth.block_number >= head + 8
    assert eth_usd_from_slot0(chain, w3) != before
    kinds = set()
    failed = 0
    for number in range(head + 1, w3.eth.block_number + 1):
        for receipt in w3.eth.get_block_receipts(number):
            failed += receipt["status"] != 1
            for log in receipt["logs"]:
                kinds.add(log["topics"][0].hex().removeprefix("0x")[:8])
    assert failed == 0
    swap = (
        Web3.keccak(text="Swap(address,address,int256,int256,uint160,uint128,int24)")
        .hex()
        .removeprefix("0x")
    )
    assert swap[:8] in kinds


def test_simulation_is_repeatable(make_devchain: Callable[[], DevChain]) -> None:
    chain = make_devchain()
    w3 = chain.web3()
    seeded = eth_usd_from_slot0(chain, w3)
    simulate(chain, blocks=0)  # the traders' one-off approvals, before the snapshot
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    prices = []
    for _ in range(2):
        simulate(chain, blocks=3, seed=3)
        prices.append(eth_usd_from_slot0(chain, w3))
        assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True  # type: ignore[arg-type]
        snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    assert prices[0] == prices[1]
    assert prices[0] != seeded
    assert eth_usd_from_slot0(chain, w3) == seeded  # reverted


def test_reorg_replaces_blocks_at_reorged_heights(make_devchain: Callable[[], DevChain]) -> None:
    chain = make_devchain()
    w3 = Web3(Web3.HTTPProvider(chain.url))
    for i in range(6):
        w3.eth.send_transaction(
            {"from": chain.accounts[3], "to": chain.accounts[4], "value": Wei(i + 1)}
        )
    head = w3.eth.block_number
    before = {n: w3.eth.get_block(n) for n in range(head - 5, head + 1)}
    victim = before[head]["transactions"][0]
    result = reorg(chain.url, 3)
    assert result["common_ancestor"] == head - 3 and result["new_head"] == head + 1
    after = {n: w3.eth.get_block(n) for n in range(head - 5, head + 2)}
    for n in range(head - 5, head - 2):
        assert after[n]["hash"] == before[n]["hash"]
    for n in range(head - 2, head + 1):
        assert after[n]["hash"] != before[n]["hash"]
    assert after[head - 2]["parentHash"] == before[head - 3]["hash"]
    assert w3.eth.block_number == head + 1
    # A transaction of an orphaned block is gone, like on a node after a reorg.
    answer = httpx.post(
        chain.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getTransactionReceipt",
            "params": ["0x" + victim.hex().removeprefix("0x")],
        },
    ).json()
    assert answer["result"] is None
    orphan = httpx.post(
        chain.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_getLogs",
            "params": [{"blockHash": result["orphaned_block_hashes"][-1]}],
        },
    ).json()
    assert "result" in orphan  # a node still answers for a known (orphaned) block hash
