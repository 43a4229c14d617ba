"""JSON-RPC methods of the dev chain, answering in the shapes geth answers in.

Quantities are 0x-hex without leading zeros, data is 0x-hex, unknown blocks and transactions are
`null`, and errors are JSON-RPC error objects (code 3 with the revert data for a reverted call).
Log indices are block-wide, as on a real node (eth-tester numbers them per receipt).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from eth_tester.backends.pyevm.serializers import (  # type: ignore[import-untyped]
    serialize_transaction_receipt,
)
from eth_tester.exceptions import (  # type: ignore[import-untyped]
    BlockNotFound,
    TransactionFailed,
    TransactionNotFound,
    ValidationError,
)

from ordex.devchain.chain import DevChainNode
from ordex.devchain.rpc_shapes import (
    Json,
    RpcError,
    block_json,
    hexbytes,
    parse_qty,
    qty,
    receipt_json,
    revert_error,
    topics_match,
    tx_json,
)

CLIENT_VERSION = "ordex-devchain/1.0 (eth-tester/py-evm)"
PRIORITY_FEE_WEI = 1_000_000_000
# A proof-of-stake node reports a head that is a few epochs from final: reorgs shallower than
# this are possible on the dev chain, deeper ones are not.
SAFE_DEPTH = 16
FINALIZED_DEPTH = 32
MAX_LOG_BLOCK_RANGE = 50_000


class DevChainRpc:
    """Dispatches decoded JSON-RPC requests to the chain under its lock."""

    def __init__(self, node: DevChainNode) -> None:
        self.node = node
        self.tester = node.tester
        # Blocks and receipts never change for a given hash: cache them by hash.
        self._block_cache: OrderedDict[str, Json] = OrderedDict()
        self._receipts_cache: OrderedDict[str, list[Json]] = OrderedDict()
        # What `devchain_info` answers: accounts, contracts, pools (set once deployed).
        self.info: Json = {}
        self._methods: dict[str, Callable[..., Any]] = {
            "web3_clientVersion": lambda: CLIENT_VERSION,
            "net_version": lambda: str(self.chain_id()),
            "net_listening": lambda: True,
            "net_peerCount": lambda: "0x0",
            "eth_chainId": lambda: qty(self.chain_id()),
            "eth_syncing": lambda: False,
            "eth_mining": lambda: self.node.automine,
            "eth_coinbase": lambda: "0x0000000000000000000000000000000000000000",
            "eth_accounts": lambda: [a.lower() for a in self.node.accounts],
            "eth_blockNumber": lambda: qty(self.node.head_number()),
            "eth_gasPrice": self.gas_price,
            "eth_maxPriorityFeePerGas": lambda: qty(PRIORITY_FEE_WEI),
            "eth_feeHistory": self.fee_history,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.block_tx_count_by_number,
            "eth_getBlockTransactionCountByHash": self.block_tx_count_by_hash,
            "eth_getTransactionByHash": self.get_transaction,
            "eth_getTransactionReceipt": self.get_receipt,
            "eth_getBlockReceipts": self.get_block_receipts,
            "eth_getLogs": self.get_logs,
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_getBalance": self.get_balance,
            "eth_getCode": self.get_code,
            "eth_getStorageAt": self.get_storage_at,
            "eth_getTransactionCount": self.get_transaction_count,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_sendTransaction": self.send_transaction,
            "evm_mine": self.evm_mine,
            "anvil_mine": self.anvil_mine,
            "evm_setAutomine": self.set_automine,
            "anvil_setAutomine": self.set_automine,
            "miner_start": lambda: self.set_automine(True),
            "miner_stop": lambda: self.set_automine(False),
            "evm_snapshot": lambda: qty(self.node.snapshot()),
            "evm_revert": lambda snap: self.node.revert(parse_qty(snap, "snapshot id")),
            "evm_increaseTime": self.increase_time,
            "evm_setNextBlockTimestamp": self.set_next_block_timestamp,
            "devchain_reorg": self.reorg,
            "devchain_info": lambda: self.info,
        }

    # --- envelope -----------------------------------------------------------------------------

    def handle_body(self, body: bytes) -> bytes | None:
        """Answer one HTTP body: a request object or a batch array. None: nothing to send."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return json.dumps(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
            ).encode()
        if isinstance(payload, list):
            if not payload:
                return json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": None,
                        "error": {"code": -32600, "message": "empty batch"},
                    }
                ).encode()
            answers = [a for a in (self.handle_one(p) for p in payload) if a is not None]
            return json.dumps(answers).encode() if answers else None
        answer = self.handle_one(payload)
        return json.dumps(answer).encode() if answer is not None else None

    def handle_one(self, request: Any) -> Json | None:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": "invalid request"},
            }
        req_id = request.get("id")
        is_notification = "id" not in request
        try:
            result = self.dispatch(request["method"], request.get("params") or [])
            answer: Json = {"jsonrpc": "2.0", "id": req_id, "result": result}
        except RpcError as exc:
            answer = {"jsonrpc": "2.0", "id": req_id, "error": exc.to_json()}
        return None if is_notification else answer

    def dispatch(self, method: str, params: Any) -> Any:
        func = self._methods.get(method)
        if func is None:
            raise RpcError(-32601, f"the method {method} does not exist/is not available")
        if not isinstance(params, list):
            raise RpcError(-32602, "invalid params: expected an array")
        with self.node.lock:
            try:
                return func(*params)
            except RpcError:
                raise
            except TypeError as exc:
                raise RpcError(-32602, f"invalid params: {exc}") from exc
            except TransactionFailed as exc:
                raise revert_error(exc) from exc
            except (ValidationError, ValueError) as exc:
                raise RpcError(-32602, f"invalid argument: {exc}") from exc
            except Exception as exc:  # an EVM error must answer, never kill the server
                raise RpcError(-32000, str(exc) or type(exc).__name__) from exc

    # --- helpers ------------------------------------------------------------------------------

    def chain_id(self) -> int:
        return int(self.node.backend.chain.chain_id)

    def resolve_number(self, tag: Any) -> int | None:
        """A block tag or hex number as a canonical block number; None if beyond the head."""
        head = self.node.head_number()
        if tag is None or tag in ("latest", "pending"):
            return head
        if tag == "earliest":
            return 0
        if tag == "safe":
            return max(0, head - SAFE_DEPTH)
        if tag == "finalized":
            return max(0, head - FINALIZED_DEPTH)
        if isinstance(tag, dict):  # EIP-1898
            if "blockHash" in tag:
                block = self._block_by_hash(tag["blockHash"])
                if block is None:
                    raise RpcError(-32000, "header not found")
                return int(block["number"], 16)
            return self.resolve_number(tag.get("blockNumber", "latest"))
        number = parse_qty(tag, "block number")
        return number if number <= head else None

    def _state_block(self, tag: Any) -> int:
        number = self.resolve_number(tag)
        if number is None:
            raise RpcError(-32000, "header not found")
        return number

    def _block_by_hash(self, block_hash: str) -> Json | None:
        key = block_hash.lower()
        cached = self._block_cache.get(key)
        if cached is not None:
            self._block_cache.move_to_end(key)
            return cached
        try:
            raw = self.tester.get_block_by_hash(key, full_transactions=True)
        except BlockNotFound:
            return None
        block = block_json(raw, self.chain_id())
        # A block above the head (the pending one) has no settled hash: do not cache it.
        if int(raw["number"]) <= self.node.head_number():
            self._block_cache[key] = block
            if len(self._block_cache) > 4096:
                self._block_cache.popitem(last=False)
        return block

    def _block_by_number(self, number: int) -> Json | None:
        try:
            raw = self.tester.get_block_by_number(number, full_transactions=False)
        except BlockNotFound:
            return None
        return self._block_by_hash(raw["hash"])

    def _receipts_for_block(self, block: Json) -> list[Json]:
        key = block["hash"]
        cached = self._receipts_cache.get(key)
        if cached is not None:
            return cached
        receipts: list[Json] = []
        log_index = 0
        # Straight from py-evm by block hash: this also answers for a block orphaned by a reorg,
        # which eth-tester's lookup by transaction hash no longer finds.
        chain = self.node.backend.chain
        evm_block = chain.get_block_by_hash(bytes.fromhex(key[2:]))
        evm_receipts = evm_block.get_receipts(chain.chaindb)
        vm = chain.get_vm()
        for index, tx in enumerate(block["transactions"]):
            raw = self.tester.normalizer.normalize_outbound_receipt(
                serialize_transaction_receipt(
                    evm_block, evm_receipts, evm_block.transactions[index], index, False, vm
                )
            )
            receipt, log_index = receipt_json(raw, tx, log_index)
            receipts.append(receipt)
        self._receipts_cache[key] = receipts
        if len(self._receipts_cache) > 4096:
            self._receipts_cache.popitem(last=False)
        return receipts

    def _mined_tx(self, tx_hash: str) -> tuple[Json, Json] | None:
        """(block, transaction) of a mined transaction on the canonical chain."""
        try:
            raw = self.tester.get_transaction_by_hash(tx_hash)
        except (TransactionNotFound, BlockNotFound):
            return None
        if raw.get("block_hash") is None:
            return None
        block = self._block_by_hash(raw["block_hash"])
        if block is None:
            return None
        number = int(block["number"], 16)
        canonical = self._block_by_number(number)
        if canonical is None or canonical["hash"] != block["hash"]:
            return None  # reorged out
        index = int(str(raw["transaction_index"]))
        return block, block["transactions"][index]

    def _call_tx(self, call: Json) -> Json:
        if not isinstance(call, dict):
            raise RpcError(-32602, "invalid argument: transaction object expected")
        tx: Json = {}
        tx["from"] = call.get("from") or "0x0000000000000000000000000000000000000000"
        if call.get("to"):
            tx["to"] = call["to"]
        data = call.get("input") or call.get("data")
        if data:
            tx["data"] = data
        for src, dst in (
            ("value", "value"),
            ("gas", "gas"),
            ("gasPrice", "gas_price"),
            ("maxFeePerGas", "max_fee_per_gas"),
            ("maxPriorityFeePerGas", "max_priority_fee_per_gas"),
            ("nonce", "nonce"),
        ):
            if call.get(src) is not None:
                tx[dst] = parse_qty(call[src], src)
        return tx

    # --- methods ------------------------------------------------------------------------------

    def gas_price(self) -> str:
        pending = self.tester.get_block_by_number("pending")
        return qty(int(pending.get("base_fee_per_gas") or 0) + PRIORITY_FEE_WEI)

    def fee_history(self, count: Any, newest: Any, percentiles: list[float] | None = None) -> Json:
        block_count = min(parse_qty(count, "block count"), 1024)
        newest_number = self._state_block(newest)
        oldest = max(0, newest_number - block_count + 1)
        base_fees: list[str] = []
        ratios: list[float] = []
        rewards: list[list[str]] = []
        for number in range(oldest, newest_number + 1):
            block = self._block_by_number(number)
            assert block is not None
            base_fees.append(block["baseFeePerGas"])
            ratios.append(int(block["gasUsed"], 16) / int(block["gasLimit"], 16))
            rewards.append([qty(PRIORITY_FEE_WEI) for _ in percentiles or []])
        pending = self.tester.get_block_by_number("pending")
        base_fees.append(qty(int(pending.get("base_fee_per_gas") or 0)))
        history: Json = {
            "oldestBlock": qty(oldest),
            "baseFeePerGas": base_fees,
            "gasUsedRatio": ratios,
        }
        if percentiles:
            history["reward"] = rewards
        return history

    def get_block_by_number(self, tag: Any, full: bool = False) -> Json | None:
        if tag == "pending":
            tag = "latest"
        number = self.resolve_number(tag)
        if number is None:
            return None
        block = self._block_by_number(number)
        return self._shape_block(block, full)

    def get_block_by_hash(self, block_hash: str, full: bool = False) -> Json | None:
        block = self._block_by_hash(block_hash)
        return self._shape_block(block, full)

    @staticmethod
    def _shape_block(block: Json | None, full: bool) -> Json | None:
        if block is None or full:
            return block
        return {**block, "transactions": [tx["hash"] for tx in block["transactions"]]}

    def block_tx_count_by_number(self, tag: Any) -> str | None:
        block = self.get_block_by_number(tag)
        return None if block is None else qty(len(block["transactions"]))

    def block_tx_count_by_hash(self, block_hash: str) -> str | None:
        block = self._block_by_hash(block_hash)
        return None if block is None else qty(len(block["transactions"]))

    def get_transaction(self, tx_hash: str) -> Json | None:
        found = self._mined_tx(tx_hash)
        if found is not None:
            return found[1]
        try:
            raw = self.tester.get_transaction_by_hash(tx_hash)
        except (TransactionNotFound, BlockNotFound):
            return None
        if raw.get("block_hash") is None:  # pending
            return tx_json(raw, self.chain_id())
        return None

    def get_receipt(self, tx_hash: str) -> Json | None:
        found = self._mined_tx(tx_hash)
        if found is None:
            return None
        block, tx = found
        return self._receipts_for_block(block)[int(tx["transactionIndex"], 16)]

    def get_block_receipts(self, tag: Any) -> list[Json] | None:
        if isinstance(tag, str) and len(tag) == 66:
            block = self._block_by_hash(tag)
        elif isinstance(tag, dict) and "blockHash" in tag:
            block = self._block_by_hash(tag["blockHash"])
        else:
            number = self.resolve_number(tag)
            block = None if number is None else self._block_by_number(number)
        return None if block is None else self._receipts_for_block(block)

    def get_logs(self, criteria: Json) -> list[Json]:
        if not isinstance(criteria, dict):
            raise RpcError(-32602, "invalid argument: filter object expected")
        if criteria.get("blockHash"):
            block = self._block_by_hash(criteria["blockHash"])
            if block is None:
                raise RpcError(-32000, "unknown block")
            blocks = [block]
        else:
            head = self.node.head_number()
            start = self.resolve_number(criteria.get("fromBlock", "latest"))
            end = self.resolve_number(criteria.get("toBlock", "latest"))
            start = head + 1 if start is None else start
            end = head if end is None else end
            if end - start + 1 > MAX_LOG_BLOCK_RANGE:
                raise RpcError(-32005, f"block range is too wide (max {MAX_LOG_BLOCK_RANGE})")
            blocks = []
            for number in range(start, end + 1):
                found = self._block_by_number(number)
                if found is not None:
                    blocks.append(found)
        addresses = criteria.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        wanted_addresses = {a.lower() for a in addresses} if addresses else None
        topic_filters: list[set[str] | None] = []
        for entry in criteria.get("topics") or []:
            if entry is None:
                topic_filters.append(None)
            elif isinstance(entry, str):
                topic_filters.append({entry.lower()})
            else:
                topic_filters.append({t.lower() for t in entry if t is not None} or None)
        out: list[Json] = []
        for block in blocks:
            if not block["transactions"]:
                continue
            for receipt in self._receipts_for_block(block):
                for log in receipt["logs"]:
                    if wanted_addresses is not None and log["address"] not in wanted_addresses:
                        continue
                    if topics_match(log["topics"], topic_filters):
                        out.append(log)
        return out

    def call(self, call: Json, tag: Any = "latest", *_overrides: Any) -> str:
        number = self._state_block(tag)
        result = self.tester.call(self._call_tx(call), number)
        return hexbytes(result)

    def estimate_gas(self, call: Json, tag: Any = "latest", *_overrides: Any) -> str:
        number = self._state_block(tag)
        tx = self._call_tx(call)
        return qty(self.tester.estimate_gas(tx, number))

    def get_balance(self, address: str, tag: Any = "latest") -> str:
        return qty(self.tester.get_balance(address, self._state_block(tag)))

    def get_code(self, address: str, tag: Any = "latest") -> str:
        return hexbytes(self.tester.get_code(address, self._state_block(tag)))

    def get_storage_at(self, address: str, slot: Any, tag: Any = "latest") -> str:
        value = self.tester.get_storage_at(address, hexbytes(slot), self._state_block(tag))
        return "0x" + bytes.fromhex(str(value)[2:]).rjust(32, b"\0").hex()

    def get_transaction_count(self, address: str, tag: Any = "latest") -> str:
        if tag == "pending":
            return qty(self.node.pending_nonce(address))
        return qty(self.tester.get_nonce(address, self._state_block(tag)))

    def send_raw_transaction(self, raw_tx: str) -> str:
        # py-evm does not check the chain id of a signed transaction; a node refuses a foreign one.
        try:
            builder = self.node.backend.chain.get_vm().get_transaction_builder()
            decoded = builder.decode(bytes.fromhex(raw_tx.removeprefix("0x")))
        except Exception as exc:
            raise RpcError(-32000, f"rlp: cannot decode the transaction: {exc}") from exc
        chain_id = getattr(decoded, "chain_id", None)
        if chain_id is not None and chain_id != self.chain_id():
            raise RpcError(-32000, f"invalid chain id {chain_id}, want {self.chain_id()}")
        return self.node.send_raw_transaction(raw_tx)

    def send_transaction(self, call: Json) -> str:
        tx = self._call_tx(call)
        if tx["from"].lower() not in {a.lower() for a in self.node.accounts}:
            raise RpcError(-32000, "unknown account")
        if "gas" not in tx:
            estimate = self.tester.estimate_gas(dict(tx), "latest")
            tx["gas"] = min(int(estimate * 1.2) + 10_000, 29_000_000)
        if "gas_price" not in tx and "max_fee_per_gas" not in tx:
            pending = self.tester.get_block_by_number("pending")
            base_fee = int(pending.get("base_fee_per_gas") or 0)
            tip = tx.get("max_priority_fee_per_gas", PRIORITY_FEE_WEI)
            tx["max_priority_fee_per_gas"] = tip
            tx["max_fee_per_gas"] = 2 * base_fee + tip
        elif "max_fee_per_gas" in tx and "max_priority_fee_per_gas" not in tx:
            tx["max_priority_fee_per_gas"] = min(PRIORITY_FEE_WEI, tx["max_fee_per_gas"])
        return self.node.send_transaction(tx)

    def evm_mine(self, options: Any = None) -> str:
        timestamp = None
        blocks = 1
        if isinstance(options, dict):
            if options.get("timestamp") is not None:
                timestamp = parse_qty(options["timestamp"], "timestamp")
            blocks = parse_qty(options.get("blocks", 1), "blocks")
        elif options is not None:
            timestamp = parse_qty(options, "timestamp")
        self.node.mine(blocks, timestamp)
        return "0x0"

    def anvil_mine(self, blocks: Any = "0x1", interval: Any = None) -> None:
        count = parse_qty(blocks, "blocks")
        step = parse_qty(interval, "interval") if interval is not None else None
        for _ in range(count):
            if step is not None:
                self.node.increase_time(step)
            self.node.mine(1)

    def set_automine(self, enabled: bool) -> bool:
        self.node.set_automine(bool(enabled))
        return True

    def increase_time(self, seconds: Any) -> str:
        return qty(self.node.increase_time(parse_qty(seconds, "seconds")))

    def set_next_block_timestamp(self, timestamp: Any) -> None:
        self.node.set_next_block_timestamp(parse_qty(timestamp, "timestamp"))

    def reorg(self, depth: Any) -> Json:
        from ordex.devchain.simulate import reorg_node

        return reorg_node(self.node, parse_qty(depth, "depth"))
