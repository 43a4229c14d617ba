"""The dev chain's JSON-RPC server answers like a real node: shapes, batches, logs, errors."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from eth_account import Account
from web3 import Web3

from ordex.devchain import DevChain
from ordex.devchain.deploy import contract_at

HEX_QTY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
HEX_DATA = re.compile(r"^0x([0-9a-f]{2})*$")
TRANSFER_TOPIC = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex().removeprefix(
    "0x"
)


def rpc(url: str, method: str, *params: Any) -> Any:
    answer = httpx.post(url, json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == 7 and body["jsonrpc"] == "2.0"
    assert "error" not in body, body
    return body["result"]


def test_identity_and_head(devchain: DevChain) -> None:
    assert rpc(devchain.url, "eth_chainId") == hex(devchain.chain_id)
    assert rpc(devchain.url, "net_version") == str(devchain.chain_id)
    assert "ordex-devchain" in rpc(devchain.url, "web3_clientVersion")
    head = rpc(devchain.url, "eth_blockNumber")
    assert HEX_QTY.match(head) and int(head, 16) > 30  # the deployment's blocks
    accounts = rpc(devchain.url, "eth_accounts")
    assert [Web3.to_checksum_address(a) for a in accounts] == devchain.accounts
    assert int(rpc(devchain.url, "eth_getBalance", devchain.accounts[9], "latest"), 16) > 10**18


def test_batch_answers_every_request_with_its_id(devchain: DevChain) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": "two", "method": "eth_getBlockByNumber", "params": ["0x1", False]},
        {"jsonrpc": "2.0", "id": 3, "method": "no_such_method", "params": []},
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "eth_getBlockByNumber",
            "params": ["0xffffff", False],
        },
    ]
    answers = httpx.post(devchain.url, json=batch).json()
    by_id = {a["id"]: a for a in answers}
    assert set(by_id) == {1, "two", 3, 4}
    assert HEX_QTY.match(by_id[1]["result"])
    assert by_id["two"]["result"]["number"] == "0x1"
    assert by_id[3]["error"]["code"] == -32601
    assert by_id[4]["result"] is None  # unknown block: null, like geth


def test_malformed_requests_answer_json_rpc_errors(devchain: DevChain) -> None:
    parse = httpx.post(
        devchain.url, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert parse.json()["error"]["code"] == -32700
    empty = httpx.post(devchain.url, json=[]).json()
    assert empty["error"]["code"] == -32600
    bad = httpx.post(
        devchain.url,
        json={"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x12", "nope"]},
    ).json()
    assert bad["error"]["code"] == -32602


def test_block_transaction_and_receipt_shapes(devchain: DevChain) -> None:
    sender = Account.from_key(devchain.private_keys[8])
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    usdc = contract_at(w3, "ERC20MockDecimals", devchain.contracts["usdc"])
    usdc.functions.transfer(sender.address, 5 * 10**6).transact({"from": devchain.accounts[1]})
    tx = {
        "to": devchain.contracts["usdc"],
        "data": usdc.encode_abi("transfer", args=[devchain.accounts[2], 1_234_567]),
        "gas": 80_000,
        "maxFeePerGas": 2 * int(rpc(devchain.url, "eth_gasPrice"), 16),
        "maxPriorityFeePerGas": int(rpc(devchain.url, "eth_maxPriorityFeePerGas"), 16),
        "nonce": int(rpc(devchain.url, "eth_getTransactionCount", sender.address, "latest"), 16),
        "chainId": devchain.chain_id,
        "type": 2,
    }
    raw = sender.sign_transaction(tx).raw_transaction
    tx_hash = rpc(devchain.url, "eth_sendRawTransaction", "0x" + raw.hex())

    receipt = rpc(devchain.url, "eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1"
    assert receipt["transactionHash"] == tx_hash
    assert receipt["from"] == sender.address.lower()
    assert receipt["to"] == devchain.contracts["usdc"].lower()
    for key in ("gasUsed", "cumulativeGasUsed", "effectiveGasPrice", "blockNumber", "type"):
        assert HEX_QTY.match(receipt[key]), key
    assert HEX_DATA.match(receipt["logsBloom"]) and len(receipt["logsBloom"]) == 2 + 512
    (log,) = receipt["logs"]
    assert log["topics"][0] == TRANSFER_TOPIC
    assert log["removed"] is False
    assert log["blockHash"] == receipt["blockHash"]
    assert int(log["data"], 16) == 1_234_567
    assert Web3.to_checksum_address("0x" + log["topics"][2][-40:]) == devchain.accounts[2]

    got = rpc(devchain.url, "eth_getTransactionByHash", tx_hash)
    assert got["hash"] == tx_hash and got["blockHash"] == receipt["blockHash"]
    assert got["type"] == "0x2" and got["chainId"] == hex(devchain.chain_id)
    assert got["input"].startswith("0xa9059cbb")
    assert got["nonce"] == hex(tx["nonce"])

    block = rpc(devchain.url, "eth_getBlockByHash", receipt["blockHash"], True)
    assert block["number"] == receipt["blockNumber"]
    assert block["transactions"][int(receipt["transactionIndex"], 16)]["hash"] == tx_hash
    for key in ("timestamp", "gasLimit", "gasUsed", "baseFeePerGas", "size"):
        assert HEX_QTY.match(block[key]), key
    parent = rpc(devchain.url, "eth_getBlockByNumber", hex(int(block["number"], 16) - 1), False)
    assert block["parentHash"] == parent["hash"]
    assert rpc(devchain.url, "eth_getBlockReceipts", receipt["blockNumber"]) == [receipt]

    assert rpc(devchain.url, "eth_getTransactionReceipt", "0x" + "ab" * 32) is None
    assert rpc(devchain.url, "eth_getTransactionByHash", "0x" + "ab" * 32) is None


def test_get_logs_filters_by_range_address_and_topics(devchain: DevChain) -> None:
    head = int(rpc(devchain.url, "eth_blockNumber"), 16)
    everything = rpc(devchain.url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": hex(head)})
    assert everything
    weth = devchain.contracts["weth"].lower()
    weth_logs = rpc(devchain.url, "eth_getLogs", {"fromBlock": "earliest", "address": weth})
    assert weth_logs and all(log["address"] == weth for log in weth_logs)
    assert len(weth_logs) < len(everything)
    transfers = rpc(
        devchain.url,
        "eth_getLogs",
        {"fromBlock": "0x0", "toBlock": "latest", "topics": [[TRANSFER_TOPIC], None]},
    )
    assert transfers and all(log["topics"][0] == TRANSFER_TOPIC for log in transfers)
    # Log indices are block-wide and increasing, as on a real node.
    block_of = transfers[-1]["blockHash"]
    in_block = rpc(devchain.url, "eth_getLogs", {"blockHash": block_of})
    assert [int(x["logIndex"], 16) for x in in_block] == list(range(len(in_block)))


def test_call_revert_is_error_code_3_with_data(devchain: DevChain) -> None:
    usdc = contract_at(Web3(), "ERC20MockDecimals", devchain.contracts["usdc"])
    data = usdc.encode_abi("transfer", args=[devchain.accounts[1], 10**30])
    body = httpx.post(
        devchain.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "eth_call",
            "params": [
                {"from": devchain.accounts[9], "to": devchain.contracts["usdc"], "data": data},
                "latest",
            ],
        },
    ).json()
    assert body["error"]["code"] == 3
    assert body["error"]["message"].startswith("execution reverted")
    assert body["error"]["data"].startswith("0x08c379a0")


def test_block_tags(devchain: DevChain) -> None:
    head = int(rpc(devchain.url, "eth_blockNumber"), 16)
    latest = rpc(devchain.url, "eth_getBlockByNumber", "latest", False)
    assert int(latest["number"], 16) == head
    earliest = rpc(devchain.url, "eth_getBlockByNumber", "earliest", False)
    assert earliest["number"] == "0x0" and earliest["timestamp"] == hex(1_704_067_200)
    finalized = int(rpc(devchain.url, "eth_getBlockByNumber", "finalized", False)["number"], 16)
    safe = int(rpc(devchain.url, "eth_getBlockByNumber", "safe", False)["number"], 16)
    assert finalized <= safe <= head and finalized < head


def test_mining_control_and_snapshots(make_devchain: Any) -> None:
    chain: DevChain = make_devchain()
    url = chain.url
    start = int(rpc(url, "eth_blockNumber"), 16)
    snap = rpc(url, "evm_snapshot")
    assert rpc(url, "evm_setAutomine", False) is True
    a, b = chain.accounts[5], chain.accounts[6]
    hashes = [
        rpc(url, "eth_sendTransaction", {"from": a, "to": b, "value": hex(i + 1)}) for i in range(3)
    ]
    assert int(rpc(url, "eth_blockNumber"), 16) == start  # pending, not mined
    assert rpc(url, "eth_getTransactionReceipt", hashes[0]) is None
    rpc(url, "evm_mine")
    block = rpc(url, "eth_getBlockByNumber", "latest", False)
    assert block["number"] == hex(start + 1)
    assert block["transactions"] == hashes  # one block, three transactions from one sender
    rpc(url, "evm_setAutomine", True)
    rpc(url, "evm_setNextBlockTimestamp", hex(2_000_000_000))
    rpc(url, "evm_mine")
    assert rpc(url, "eth_getBlockByNumber", "latest", False)["timestamp"] == hex(2_000_000_000)
    assert rpc(url, "evm_revert", snap) is True
    assert int(rpc(url, "eth_blockNumber"), 16) == start
    assert rpc(url, "eth_getTransactionReceipt", hashes[0]) is None


@pytest.mark.parametrize("full", [False, True])
def test_web3_reads_blocks(devchain: DevChain, full: bool) -> None:
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    block = w3.eth.get_block("latest", full_transactions=full)
    assert block["number"] == w3.eth.block_number
    assert w3.eth.chain_id == devchain.chain_id


def test_send_raw_transaction_checks_like_a_node(devchain: DevChain) -> None:
    sender = Account.from_key(devchain.private_keys[7])
    nonce = int(rpc(devchain.url, "eth_getTransactionCount", sender.address, "pending"), 16)
    legacy = {
        "to": devchain.accounts[1],
        "value": 5,
        "gas": 21_000,
        "gasPrice": 2 * int(rpc(devchain.url, "eth_gasPrice"), 16),
        "nonce": nonce,
        "chainId": devchain.chain_id,
    }

    def send(tx: dict[str, Any]) -> dict[str, Any]:
        raw = "0x" + sender.sign_transaction(tx).raw_transaction.hex()
        body: dict[str, Any] = httpx.post(
            devchain.url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction", "params": [raw]},
        ).json()
        return body

    assert send({**legacy, "chainId": 1})["error"]["message"].startswith("invalid chain id")
    accepted = send(legacy)["result"]
    assert rpc(devchain.url, "eth_getTransactionReceipt", accepted)["type"] == "0x0"
    assert send(legacy)["error"]["code"] == -32000  # the nonce is used now
