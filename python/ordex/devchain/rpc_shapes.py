"""JSON shapes of the dev chain's answers, as geth gives them, from eth-tester's dicts."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_bloom.bloom import BloomFilter
from eth_tester.exceptions import TransactionFailed  # type: ignore[import-untyped]

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")

Json = dict[str, Any]


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> Json:
        err: Json = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


def qty(value: Any) -> str:
    return hex(int(value))


def parse_qty(value: Any, name: str = "quantity") -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise RpcError(-32602, f"invalid argument: {name} must be a 0x-hex quantity")


def bloom_hex(value: int) -> str:
    return "0x" + int(value).to_bytes(256, "big").hex()


def hexbytes(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def revert_error(exc: TransactionFailed) -> RpcError:
    reason = exc.args[0] if exc.args else ""
    if isinstance(reason, bytes):
        return RpcError(3, "execution reverted", "0x" + reason.hex())
    text = str(reason)
    if text.startswith("execution reverted") or not text:
        return RpcError(3, text or "execution reverted")
    data = ERROR_STRING_SELECTOR + abi_encode(["string"], [text])
    return RpcError(3, f"execution reverted: {text}", "0x" + data.hex())


def block_json(raw: Json, chain_id: int) -> Json:
    block: Json = {
        "baseFeePerGas": qty(raw.get("base_fee_per_gas") or 0),
        "blobGasUsed": qty(raw.get("blob_gas_used") or 0),
        "difficulty": qty(raw["difficulty"]),
        "excessBlobGas": qty(raw.get("excess_blob_gas") or 0),
        "extraData": hexbytes(raw["extra_data"]),
        "gasLimit": qty(raw["gas_limit"]),
        "gasUsed": qty(raw["gas_used"]),
        "hash": raw["hash"],
        "logsBloom": bloom_hex(raw["logs_bloom"]),
        "miner": str(raw["coinbase"]).lower(),
        "mixHash": raw["mix_hash"],
        "nonce": raw["nonce"],
        "number": qty(raw["number"]),
        "parentBeaconBlockRoot": raw.get("parent_beacon_block_root"),
        "parentHash": raw["parent_hash"],
        "receiptsRoot": raw["receipts_root"],
        "requestsHash": raw.get("requests_hash"),
        "sha3Uncles": raw["sha3_uncles"],
        "size": qty(raw["size"]),
        "stateRoot": raw["state_root"],
        "timestamp": qty(raw["timestamp"]),
        "totalDifficulty": qty(raw.get("total_difficulty") or 0),
        "transactions": [tx_json(tx, chain_id) for tx in raw["transactions"]],
        "transactionsRoot": raw["transactions_root"],
        "uncles": list(raw["uncles"]),
        "withdrawals": [
            {
                "index": qty(w["index"]),
                "validatorIndex": qty(w["validator_index"]),
                "address": str(w["address"]).lower(),
                "amount": qty(w["amount"]),
            }
            for w in raw.get("withdrawals") or []
        ],
        "withdrawalsRoot": raw.get("withdrawals_root"),
    }
    return {k: v for k, v in block.items() if v is not None}


def tx_json(raw: Json, chain_id: int) -> Json:
    tx_type = int(str(raw.get("type", "0x0")), 16)
    tx: Json = {
        "blockHash": raw.get("block_hash"),
        "blockNumber": None if raw.get("block_number") is None else qty(raw["block_number"]),
        "from": str(raw["from"]).lower(),
        "gas": qty(raw["gas"]),
        "gasPrice": qty(raw.get("gas_price") or raw.get("max_fee_per_gas") or 0),
        "hash": raw["hash"],
        "input": hexbytes(raw["data"]),
        "nonce": qty(raw["nonce"]),
        "to": str(raw["to"]).lower() if raw.get("to") else None,
        "transactionIndex": (
            None if raw.get("transaction_index") is None else qty(raw["transaction_index"])
        ),
        "value": qty(raw["value"]),
        "type": qty(tx_type),
        "v": qty(raw.get("v", raw.get("y_parity", 0))),
        "r": qty(raw["r"]),
        "s": qty(raw["s"]),
    }
    v = int(raw.get("v", 0))
    if tx_type == 0 and v >= 35:  # EIP-155: the chain id is folded into v
        tx["chainId"] = qty((v - 35) // 2)
    if tx_type >= 1:
        tx["chainId"] = qty(raw.get("chain_id") or chain_id)
        tx["accessList"] = [
            {
                "address": str(item["address"]).lower(),
                "storageKeys": [hexbytes(k) for k in item.get("storage_keys", ())],
            }
            for item in raw.get("access_list") or ()
        ]
        tx["yParity"] = qty(raw.get("y_parity", raw.get("v", 0)))
    if tx_type >= 2:
        tx["maxFeePerGas"] = qty(raw["max_fee_per_gas"])
        tx["maxPriorityFeePerGas"] = qty(raw["max_priority_fee_per_gas"])
    return tx


def receipt_json(raw: Json, tx: Json, first_log_index: int) -> tuple[Json, int]:
    bloom = BloomFilter()
    logs: list[Json] = []
    log_index = first_log_index
    for entry in raw["logs"]:
        address = str(entry["address"]).lower()
        topics = [hexbytes(t) for t in entry["topics"]]
        bloom.add(bytes.fromhex(address[2:]))
        for topic in topics:
            bloom.add(bytes.fromhex(topic[2:]))
        logs.append(
            {
                "address": address,
                "topics": topics,
                "data": hexbytes(entry["data"]),
                "blockNumber": tx["blockNumber"],
                "transactionHash": tx["hash"],
                "transactionIndex": tx["transactionIndex"],
                "blockHash": tx["blockHash"],
                "logIndex": qty(log_index),
                "removed": False,
            }
        )
        log_index += 1
    contract = raw.get("contract_address")
    receipt: Json = {
        "blockHash": tx["blockHash"],
        "blockNumber": tx["blockNumber"],
        "contractAddress": str(contract).lower() if contract else None,
        "cumulativeGasUsed": qty(raw["cumulative_gas_used"]),
        "effectiveGasPrice": qty(raw["effective_gas_price"]),
        "from": tx["from"],
        "gasUsed": qty(raw["gas_used"]),
        "logs": logs,
        "logsBloom": bloom_hex(int(bloom)),
        "status": qty(raw["status"]),
        "to": tx["to"],
        "transactionHash": tx["hash"],
        "transactionIndex": tx["transactionIndex"],
        "type": tx["type"],
    }
    return receipt, log_index


def topics_match(topics: list[str], filters: list[set[str] | None]) -> bool:
    if len(filters) > len(topics):
        return False
    for position, wanted in enumerate(filters):
        if wanted is not None and topics[position].lower() not in wanted:
            return False
    return True
