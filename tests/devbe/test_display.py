"""Amount displays and request parsing of the index reads (pure functions, no servers)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordex.services.errors import ServiceError
from ordex.services.indexer_reads import (
    Cursor,
    eth_display,
    parse_address,
    parse_date,
    token_amount_display,
    usd_number,
)


@pytest.mark.parametrize(
    ("wei", "shown"),
    [
        (Decimal(0), "0.00 ETH"),
        (Decimal("0E-18"), "0.00 ETH"),
        (Decimal("1.5E+18"), "1.50 ETH"),
        (Decimal(15 * 10**17), "1.50 ETH"),
        (Decimal(123_456 * 10**9), "0.000123456 ETH"),
        (Decimal(1), "0.000000000000000001 ETH"),
        (12_345 * 10**18, "12345.00 ETH"),
    ],
)
def test_eth_display(wei: Decimal | int, shown: str) -> None:
    assert eth_display(wei) == shown


def test_token_amounts_use_the_tokens_decimals() -> None:
    assert token_amount_display(Decimal(250_000_000), 6, "USDC", "ERC-20") == "250.00 USDC"
    assert token_amount_display(Decimal(2_500_001), 6, "USDC", "ERC-20") == "2.500001 USDC"
    assert token_amount_display(Decimal(777), None, "NODEC", "ERC-20") == "777 NODEC (raw units)"
    assert token_amount_display(Decimal(1), None, "KITTY", "ERC-721") == "1 KITTY"
    assert token_amount_display(Decimal(10), 0, None, "ERC-1155") == "10.00 tokens"
    assert token_amount_display(Decimal(2**255), 18, "BIG", "ERC-20").endswith(" BIG")


def test_usd_is_rounded_to_cents_half_up() -> None:
    assert usd_number(Decimal("2.4375")) == 2.44
    assert usd_number(Decimal("2.4349")) == 2.43
    assert usd_number(None) is None


def test_addresses_and_dates() -> None:
    checksummed = "0xd8dA6BF26964aF9D7eEd9e03E53415D37aA96045"
    assert parse_address(checksummed.lower()) == checksummed
    assert parse_address("0x" + checksummed[2:].upper()) == checksummed
    for bad in ("0xD8dA6BF26964aF9D7eEd9e03E53415D37aA96045", checksummed[2:], "0x12", ""):
        with pytest.raises(ServiceError) as caught:
            parse_address(bad)
        assert caught.value.status_code == 400
    assert parse_date("2026-04-01", "to_date", end_of_day=True) == datetime(
        2026, 4, 1, 23, 59, 59, 999_999, tzinfo=UTC
    )
    assert parse_date("2026-04-01T02:00:00+02:00", "from_date", end_of_day=False) == datetime(
        2026, 4, 1, tzinfo=UTC
    )
    assert parse_date("2026-04-01T00:00:00", "from_date", end_of_day=False).tzinfo == UTC


def test_cursor_round_trip_and_tampering() -> None:
    cursor = Cursor(3, 22_400_001, 2, "next", "abc")
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("", "!!!", "W10", Cursor(0, 1, 1, "next", "x").encode()):
        with pytest.raises(ServiceError):
            Cursor.decode(bad)
