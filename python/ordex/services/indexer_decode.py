"""Token transfers decoded from receipt logs.

- ERC-20 `Transfer(address indexed, address indexed, uint256)`: 3 topics, the amount in data.
- ERC-721 `Transfer(address indexed, address indexed, uint256 indexed)`: 4 topics, the token id
  in the last one, amount 1.
- ERC-1155 `TransferSingle(operator, from, to, id, value)` and `TransferBatch(operator, from, to,
  ids[], values[])`: one transfer per id (`batch_index` its position in the batch).
- WETH9 `Deposit(address indexed dst, uint256 wad)` and `Withdrawal(address indexed src, uint256
  wad)`, from the configured WETH contract only: wrapping mints WETH and unwrapping burns it
  without any `Transfer` event, so (as Blockscout does) they are read as ERC-20 transfers from and
  to the zero address. The same events from any other contract are not WETH and are ignored.

A log that claims one of these signatures but is malformed (wrong topic count or data length) is
skipped, never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOPIC_TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TOPIC_TRANSFER_SINGLE = "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62"
TOPIC_TRANSFER_BATCH = "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb"
TRANSFER_TOPICS = frozenset((TOPIC_TRANSFER, TOPIC_TRANSFER_SINGLE, TOPIC_TRANSFER_BATCH))
TOPIC_WETH_DEPOSIT = "0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c"
TOPIC_WETH_WITHDRAWAL = "0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65"
WETH_TOPICS = frozenset((TOPIC_WETH_DEPOSIT, TOPIC_WETH_WITHDRAWAL))

ZERO_ADDRESS = bytes(20)

ERC20 = "ERC-20"
ERC721 = "ERC-721"
ERC1155 = "ERC-1155"

# More ids than this in one TransferBatch is not a real transfer (and would bloat a batch).
MAX_BATCH_IDS = 10_000


@dataclass(frozen=True, slots=True)
class DecodedTransfer:
    log_index: int
    batch_index: int
    contract: bytes
    standard: str
    from_address: bytes
    to_address: bytes
    amount: int
    token_id: int | None


_ADDRESS_PADDING = "0" * 24


def _topic_address(topic: str) -> bytes | None:
    # A 32-byte word whose first 12 bytes are zero (compared as text: cheaper than as bytes).
    if len(topic) != 66 or topic[2:26] != _ADDRESS_PADDING:
        return None
    try:
        return bytes.fromhex(topic[26:])
    except ValueError:
        return None


def _words(data: str) -> bytes:
    return bytes.fromhex(data[2:]) if len(data) > 2 else b""


def decode_transfer_log(log: dict[str, Any], weth: bytes | None = None) -> list[DecodedTransfer]:
    """The transfers one log carries (empty when it is none of the known events); `weth` is the
    WETH contract whose deposits and withdrawals count as mints and burns."""
    topics: list[str] = log.get("topics") or []
    if not topics:
        return []
    signature = topics[0]
    if signature in WETH_TOPICS:
        return _weth_wrap(log, topics, weth) if weth is not None else []
    if signature == TOPIC_TRANSFER:
        return _transfer(log, topics)
    if signature == TOPIC_TRANSFER_SINGLE:
        return _transfer_single(log, topics)
    if signature == TOPIC_TRANSFER_BATCH:
        return _transfer_batch(log, topics)
    return []


def _transfer(log: dict[str, Any], topics: list[str]) -> list[DecodedTransfer]:
    if len(topics) not in (3, 4):
        return []
    sender, recipient = _topic_address(topics[1]), _topic_address(topics[2])
    if sender is None or recipient is None:
        return []
    data = _words(log["data"])
    contract = bytes.fromhex(log["address"][2:])
    log_index = int(log["logIndex"], 16)
    if len(topics) == 3:
        if len(data) != 32:
            return []
        amount = int.from_bytes(data, "big")
        return [DecodedTransfer(log_index, 0, contract, ERC20, sender, recipient, amount, None)]
    if data:
        return []
    token_id = int(topics[3], 16)
    return [DecodedTransfer(log_index, 0, contract, ERC721, sender, recipient, 1, token_id)]


def _weth_wrap(log: dict[str, Any], topics: list[str], weth: bytes) -> list[DecodedTransfer]:
    if len(topics) != 2:
        return []
    try:
        contract = bytes.fromhex(log["address"][2:])
    except ValueError:
        return []
    holder = _topic_address(topics[1])
    data = _words(log["data"])
    if contract != weth or holder is None or len(data) != 32:
        return []
    amount = int.from_bytes(data, "big")
    log_index = int(log["logIndex"], 16)
    if topics[0] == TOPIC_WETH_DEPOSIT:
        return [DecodedTransfer(log_index, 0, contract, ERC20, ZERO_ADDRESS, holder, amount, None)]
    return [DecodedTransfer(log_index, 0, contract, ERC20, holder, ZERO_ADDRESS, amount, None)]


def _transfer_single(log: dict[str, Any], topics: list[str]) -> list[DecodedTransfer]:
    if len(topics) != 4:
        return []
    sender, recipient = _topic_address(topics[2]), _topic_address(topics[3])
    data = _words(log["data"])
    if sender is None or recipient is None or len(data) != 64:
        return []
    token_id = int.from_bytes(data[:32], "big")
    amount = int.from_bytes(data[32:], "big")
    contract = bytes.fromhex(log["address"][2:])
    log_index = int(log["logIndex"], 16)
    return [DecodedTransfer(log_index, 0, contract, ERC1155, sender, recipient, amount, token_id)]


def _uint_array(data: bytes, offset: int) -> list[int] | None:
    if offset % 32 or offset + 32 > len(data):
        return None
    length = int.from_bytes(data[offset : offset + 32], "big")
    end = offset + 32 + 32 * length
    if length > MAX_BATCH_IDS or end > len(data):
        return None
    return [int.from_bytes(data[at : at + 32], "big") for at in range(offset + 32, end, 32)]


def _transfer_batch(log: dict[str, Any], topics: list[str]) -> list[DecodedTransfer]:
    if len(topics) != 4:
        return []
    sender, recipient = _topic_address(topics[2]), _topic_address(topics[3])
    data = _words(log["data"])
    if sender is None or recipient is None or len(data) < 128:
        return []
    ids = _uint_array(data, int.from_bytes(data[:32], "big"))
    values = _uint_array(data, int.from_bytes(data[32:64], "big"))
    if ids is None or values is None or len(ids) != len(values):
        return []
    contract = bytes.fromhex(log["address"][2:])
    log_index = int(log["logIndex"], 16)
    return [
        DecodedTransfer(log_index, i, contract, ERC1155, sender, recipient, value, token_id)
        for i, (token_id, value) in enumerate(zip(ids, values, strict=True))
    ]
