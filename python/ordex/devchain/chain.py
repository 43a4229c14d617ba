"""The dev chain's EVM: eth-tester on py-evm, with fixed accounts and a fixed genesis.

eth-tester is not thread-safe, so every call into it goes through `DevChainNode.lock`.
"""

from __future__ import annotations

import threading
from typing import Any

from eth_keys.datatypes import PrivateKey
from eth_tester import EthereumTester, PyEVMBackend  # type: ignore[import-untyped]
from eth_tester.backends.pyevm.main import (  # type: ignore[import-untyped]
    generate_genesis_state_for_keys,
    get_default_genesis_params,
)

# Well-known dev keys 0x01..0x0a: the same accounts on every start, on every machine.
ACCOUNT_COUNT = 10
ACCOUNT_BALANCE_WEI = 1_000_000 * 10**18
# 2024-01-01T00:00:00Z: the genesis block, and so its hash, is the same on every start.
GENESIS_TIMESTAMP = 1_704_067_200
GAS_LIMIT = 30_000_000
CHAIN_ID = 131277322940537  # eth-tester's chain id (fixed by its chain class)


def dev_private_keys() -> list[bytes]:
    return [i.to_bytes(32, "big") for i in range(1, ACCOUNT_COUNT + 1)]


class DevChainNode:
    """One in-memory chain; `lock` serialises every access (RPC threads, deployment, simulation)."""

    def __init__(self) -> None:
        self.private_keys = dev_private_keys()
        account_keys = [PrivateKey(k) for k in self.private_keys]
        genesis_state = generate_genesis_state_for_keys(
            account_keys, overrides={"balance": ACCOUNT_BALANCE_WEI}
        )
        genesis_params = get_default_genesis_params(
            overrides={"timestamp": GENESIS_TIMESTAMP, "gas_limit": GAS_LIMIT}
        )
        backend = PyEVMBackend(genesis_parameters=genesis_params, genesis_state=genesis_state)
        self.backend = backend
        self.tester = EthereumTester(backend=backend)
        self.lock = threading.RLock()
        self.accounts: list[str] = list(self.tester.get_accounts())
        self.automine = True
        # Named snapshots for evm_snapshot/evm_revert: id -> block hash of the head.
        self._snapshots: dict[int, bytes] = {}
        self._next_snapshot = 1
        self.reorg_count = 0

    # --- head and snapshots -------------------------------------------------------------------

    def head_number(self) -> int:
        with self.lock:
            return int(self.tester.get_block_by_number("latest")["number"])

    def head_hash(self) -> bytes:
        with self.lock:
            return bytes.fromhex(self.tester.get_block_by_number("latest")["hash"][2:])

    def snapshot(self) -> int:
        with self.lock:
            snap_id = self._next_snapshot
            self._next_snapshot += 1
            self._snapshots[snap_id] = self.head_hash()
            return snap_id

    def revert(self, snap_id: int) -> bool:
        with self.lock:
            block_hash = self._snapshots.get(snap_id)
            if block_hash is None:
                return False
            self.revert_to_block_hash(block_hash)
            # Like ganache/anvil: a snapshot and every later one are gone once reverted to.
            for key in [k for k in self._snapshots if k >= snap_id]:
                del self._snapshots[key]
            return True

    def revert_to_block_hash(self, block_hash: bytes) -> None:
        """Make the block with this hash the head, dropping the pending block."""
        with self.lock:
            self.backend.revert_to_snapshot(block_hash)

    def revert_to_number(self, number: int) -> None:
        with self.lock:
            block = self.tester.get_block_by_number(number)
            self.revert_to_block_hash(bytes.fromhex(block["hash"][2:]))

    # --- mining -------------------------------------------------------------------------------

    def set_automine(self, enabled: bool) -> None:
        """Automine off: transactions pile up in py-evm's pending block until `mine`.

        eth-tester's own switch is left on: with it off, every send snapshots and re-imports
        the head block (slow) and a sender's second transaction replaces its first.
        """
        with self.lock:
            if enabled and not self.automine and self.has_pending():
                self.mine(1)
            self.automine = enabled

    def has_pending(self) -> bool:
        with self.lock:
            return bool(self.backend.chain.get_block().transactions)

    def send_transaction(self, tx: dict[str, Any]) -> str:
        """Sign with the sender's dev key and include it: mined at once when automining."""
        with self.lock:
            if "nonce" not in tx:
                tx = {**tx, "nonce": self.pending_nonce(tx["from"])}
            if self.automine:
                return str(self.tester.send_transaction(tx))
            return str(self.tester._add_transaction_to_pending_block(tx))

    def pending_nonce(self, address: str) -> int:
        """The nonce after the transactions waiting in the pending block."""
        with self.lock:
            state = self.backend.chain.get_vm().state
            return int(state.get_nonce(bytes.fromhex(address[2:])))

    def send_raw_transaction(self, raw_tx: str) -> str:
        with self.lock:
            tx_hash = str(self.tester.send_raw_transaction(raw_tx))
            if self.automine and self.has_pending():
                self.mine(1)
            return tx_hash

    def mine(self, blocks: int = 1, timestamp: int | None = None) -> list[str]:
        with self.lock:
            if timestamp is not None:
                self.set_next_block_timestamp(timestamp)
            return list(self.tester.mine_blocks(blocks))

    def set_next_block_timestamp(self, timestamp: int) -> None:
        with self.lock:
            chain = self.backend.chain
            chain.header = chain.header.copy(timestamp=timestamp)

    def increase_time(self, seconds: int) -> int:
        with self.lock:
            chain = self.backend.chain
            new_ts = int(chain.header.timestamp) + seconds
            chain.header = chain.header.copy(timestamp=new_ts)
            return new_ts

    def raw(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call an EthereumTester method under the lock."""
        with self.lock:
            return getattr(self.tester, name)(*args, **kwargs)
