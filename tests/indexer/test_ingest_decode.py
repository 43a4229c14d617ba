"""Log decoding and call-result decoding on hand-built inputs (malformed ones included)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from eth_abi import encode

from ordex.services.evm_rpc import RpcError, decode_decimals, decode_slot0, decode_text
from ordex.services.indexer_decode import (
    TOPIC_TRANSFER,
    TOPIC_TRANSFER_BATCH,
    TOPIC_TRANSFER_SINGLE,
    decode_transfer_log,
)
from ordex.services.indexer_prices import price_token0_in_token1, to_decimal, usd_amount

TOKEN = "0x" + "ab" * 20
A = bytes.fromhex("11" * 20)
B = bytes.fromhex("22" * 20)


def topic(address: bytes) -> str:
    return "0x" + address.rjust(32, b"\0").hex()


def log(topics: list[str], data: bytes = b"", index: int = 3) -> dict[str, object]:
    return {"address": TOKEN, "topics": topics, "data": "0x" + data.hex(), "logIndex": hex(index)}


def test_erc20_and_erc721_transfers() -> None:
    (erc20,) = decode_transfer_log(
        log([TOPIC_TRANSFER, topic(A), topic(B)], (10**30).to_bytes(32, "big"))
    )
    assert (erc20.standard, erc20.from_address, erc20.to_address) == ("ERC-20", A, B)
    assert (erc20.amount, erc20.token_id, erc20.log_index) == (10**30, None, 3)
    (nft,) = decode_transfer_log(log([TOPIC_TRANSFER, topic(A), topic(B), hex(2**255)]))
    assert (nft.standard, nft.amount, nft.token_id) == ("ERC-721", 1, 2**255)


def test_erc1155_single_and_batch() -> None:
    operator = topic(A)
    (single,) = decode_transfer_log(
        log([TOPIC_TRANSFER_SINGLE, operator, topic(A), topic(B)], encode(["uint256"] * 2, [5, 9]))
    )
    assert (single.standard, single.token_id, single.amount) == ("ERC-1155", 5, 9)
    batch = decode_transfer_log(
        log(
            [TOPIC_TRANSFER_BATCH, operator, topic(A), topic(B)],
            encode(["uint256[]", "uint256[]"], [[1, 2, 3], [10, 20, 30]]),
        )
    )
    assert [(t.batch_index, t.token_id, t.amount) for t in batch] == [
        (0, 1, 10),
        (1, 2, 20),
        (2, 3, 30),
    ]


def test_malformed_logs_are_skipped() -> None:
    assert decode_transfer_log(log([TOPIC_TRANSFER, topic(A)], bytes(32))) == []
    assert decode_transfer_log(log([TOPIC_TRANSFER, topic(A), topic(B)], bytes(31))) == []
    assert decode_transfer_log(log([TOPIC_TRANSFER, topic(A), topic(B), hex(1)], bytes(32))) == []
    dirty = "0x" + "ff" * 12 + A.hex()  # not a left-padded address
    assert decode_transfer_log(log([TOPIC_TRANSFER, dirty, topic(B)], bytes(32))) == []
    mismatched = encode(["uint256[]", "uint256[]"], [[1, 2], [10]])
    assert (
        decode_transfer_log(log([TOPIC_TRANSFER_BATCH, topic(A), topic(A), topic(B)], mismatched))
        == []
    )
    assert decode_transfer_log(log([])) == []
    assert decode_transfer_log(log(["0x" + "00" * 32, topic(A), topic(B)], bytes(32))) == []


def test_text_results_as_string_or_bytes32() -> None:
    assert decode_text("0x" + encode(["string"], ["USD Coin"]).hex()) == "USD Coin"
    assert decode_text("0x" + b"MKR".ljust(32, b"\0").hex()) == "MKR"
    assert decode_text("0x") is None
    assert decode_text(RpcError("execution reverted", 3)) is None
    assert decode_decimals("0x" + encode(["uint8"], [6]).hex()) == 6
    assert decode_decimals(RpcError("execution reverted", 3)) is None
    assert decode_decimals("0x") is None
    slot0 = decode_slot0("0x" + encode(["uint160", "int24"], [2**96, -5]).hex())
    assert slot0 is not None and (slot0.sqrt_price_x96, slot0.tick) == (2**96, -5)


def test_price_math_accounts_for_decimals_and_order() -> None:
    # WETH (18) as token0, USDC (6) as token1 at 3000 USDC/ETH: raw price 3000e6 / 1e18.
    raw = Fraction(3000 * 10**6, 10**18)
    sqrt_price = int((raw * 2**192) ** 0.5)
    price = price_token0_in_token1(sqrt_price, 18, 6)
    assert abs(price - 3000) < Fraction(1, 10**9)
    # The other way round: USDC per ETH when ETH is token1 is 1 / (ETH per USDC).
    inverse = 1 / price_token0_in_token1(sqrt_price, 18, 6)
    assert abs(inverse - Fraction(1, 3000)) < Fraction(1, 10**15)
    assert to_decimal(Fraction(1, 3)) == Decimal("0." + "3" * 50)
    assert usd_amount(1_500_000, 6, Decimal(1)) == Decimal("1.5")
    assert usd_amount(10**18, 18, None) is None
