"""The dev chain as `ordex serve` runs it (a child process), and web3's batch client against it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from web3 import Web3

from ordex.devchain import DevChain
from ordex.devchain.process import DevChainProcess


def test_child_process_serves_and_stops(tmp_path: Path, devchain: DevChain) -> None:
    process = DevChainProcess(tmp_path)
    process.start()
    try:
        url = process.wait_ready()
        info = httpx.post(
            url, json={"jsonrpc": "2.0", "id": 1, "method": "devchain_info", "params": []}
        ).json()["result"]
        assert info["contracts"] == devchain.contracts
        written = json.loads((tmp_path / "devchain" / "devchain.json").read_text())
        assert written["url"] == url and written["contracts"] == devchain.contracts
    finally:
        process.stop()
    try:
        httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=1)
        raise AssertionError("the dev chain still answers after stop()")
    except httpx.HTTPError:
        pass


def test_web3_batch_requests(devchain: DevChain) -> None:
    w3 = Web3(Web3.HTTPProvider(devchain.url))
    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_block(1))
        batch.add(w3.eth.get_block(2, True))
        batch.add(w3.eth.get_balance(devchain.accounts[0]))
        first, second, balance = batch.execute()
    assert first["number"] == 1 and second["number"] == 2
    assert second["parentHash"] == first["hash"]
    assert isinstance(balance, int) and balance > 0
    history = w3.eth.fee_history(4, "latest", [50])
    assert len(history["baseFeePerGas"]) == 5 and len(history["reward"]) == 4
