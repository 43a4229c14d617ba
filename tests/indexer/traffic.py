"""Transactions on the dev chain for the indexer tests (sent through its JSON-RPC handler)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from ordex.devchain import DevChain
from ordex.devchain.deploy import contract_at

GAS = 1_000_000


@dataclass
class Sent:
    """Hashes (0x hex) of what `standard_traffic` sent, by kind."""

    eth: str
    usdc: str
    mkr: str
    nodec: str
    nft_mint: str
    nft_transfer: str
    multi_single: str
    multi_batch: str
    swap: str
    failed: str
    nft_id: int


def _wait(w3: Web3, tx_hash: Any) -> str:
    receipt = w3.eth.get_transaction_receipt(tx_hash)
    return "0x" + bytes(receipt["transactionHash"]).hex()


def send_eth(chain: DevChain, sender: str, to: str, wei: int) -> str:
    w3 = chain.web3()
    return _wait(w3, w3.eth.send_transaction({"from": sender, "to": to, "value": wei}))


def erc20_transfer(chain: DevChain, key: str, sender: str, to: str, amount: int) -> str:
    w3 = chain.web3()
    token = contract_at(w3, "ERC20MockDecimals", chain.contracts[key])
    return _wait(w3, token.functions.transfer(to, amount).transact({"from": sender, "gas": GAS}))


def swap_weth_for_usdc(chain: DevChain, trader: str, weth_in: int) -> str:
    """Wraps `weth_in` wei and sells it for USDC in the 0.3% pool (moving its price down)."""
    w3 = chain.web3()
    c = chain.contracts
    weth = contract_at(w3, "sushi/WETH9Mock", c["weth"])
    _wait(w3, weth.functions.deposit().transact({"from": trader, "value": weth_in, "gas": GAS}))
    _wait(
        w3,
        weth.functions.approve(c["swap_router"], weth_in).transact({"from": trader, "gas": GAS}),
    )
    router = contract_at(w3, "uniswap_v3/SwapRouter", c["swap_router"])
    params = (c["weth"], c["usdc"], 3000, trader, 2**40, weth_in, 0, 0)
    return _wait(
        w3, router.functions.exactInputSingle(params).transact({"from": trader, "gas": GAS})
    )


def standard_traffic(chain: DevChain) -> Sent:
    """One transaction of every kind the indexer decodes, plus a reverted one."""
    w3 = chain.web3()
    alice, bob = chain.accounts[1], chain.accounts[2]
    c = chain.contracts
    swap = swap_weth_for_usdc(chain, alice, 3 * 10**18)
    eth = send_eth(chain, alice, bob, 12345 * 10**14)  # 1.2345 ETH
    usdc = erc20_transfer(chain, "usdc", alice, bob, 250 * 10**6)
    mkr = erc20_transfer(chain, "mkr", alice, bob, 2 * 10**18)
    nodec_token = contract_at(w3, "NoDecimalsToken", c["nodecimals"])
    nodec = _wait(
        w3, nodec_token.functions.transfer(bob, 777).transact({"from": alice, "gas": GAS})
    )
    nft = contract_at(w3, "DevNFT", c["nft"])
    nft_mint = _wait(w3, nft.functions.mint(alice).transact({"from": alice, "gas": GAS}))
    logs = nft.events.Transfer().process_receipt(w3.eth.get_transaction_receipt(nft_mint))
    nft_id = int(logs[0]["args"]["tokenId"])
    nft_transfer = _wait(
        w3,
        nft.functions.transferFrom(alice, bob, nft_id).transact({"from": alice, "gas": GAS}),
    )
    multi = contract_at(w3, "DevMultiToken", c["multi"])
    multi_single = _wait(
        w3, multi.functions.mint(alice, 7, 100).transact({"from": alice, "gas": GAS})
    )
    _wait(w3, multi.functions.mint(alice, 8, 50).transact({"from": alice, "gas": GAS}))
    multi_batch = _wait(
        w3,
        multi.functions.safeBatchTransferFrom(alice, bob, [7, 8], [10, 5], b"").transact(
            {"from": alice, "gas": GAS}
        ),
    )
    usdc_token = contract_at(w3, "ERC20MockDecimals", c["usdc"])
    # More than alice holds: mined, reverted (status 0).
    failed = _wait(
        w3,
        usdc_token.functions.transfer(bob, 10**30).transact({"from": alice, "gas": 200_000}),
    )
    return Sent(
        eth=eth,
        usdc=usdc,
        mkr=mkr,
        nodec=nodec,
        nft_mint=nft_mint,
        nft_transfer=nft_transfer,
        multi_single=multi_single,
        multi_batch=multi_batch,
        swap=swap,
        failed=failed,
        nft_id=nft_id,
    )
