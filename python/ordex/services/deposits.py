"""Deposits: a DEPOSIT ledger entry and the balance's total, in one transaction."""

from __future__ import annotations

from decimal import Decimal

from ordex.db import balances as balances_repo
from ordex.db.balances import BalanceRow
from ordex.db.types import Connection
from ordex.services.exchange_errors import invalid_request
from ordex.services.markets import MarketRegistry, decimal_from_text, decimal_places

# NUMERIC holds more, but no real amount has this many digits before the point.
MAX_INTEGER_DIGITS = 24


def parse_amount(value: object, decimals: int, *, field: str = "amount") -> Decimal:
    """A positive amount as a decimal string (or JSON number parsed exactly) on the asset's grid."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise invalid_request(f"{field} must be a decimal string", field=field)
    amount = decimal_from_text(value) if isinstance(value, str) else Decimal(value)
    if amount is None or not amount.is_finite():
        raise invalid_request(f"{field} must be a decimal string", field=field)
    if amount <= 0:
        raise invalid_request(f"{field} must be positive", field=field)
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) + exponent > MAX_INTEGER_DIGITS:
        raise invalid_request(f"{field} is too large", field=field)
    if decimal_places(amount) > decimals:
        raise invalid_request(f"{field} has more than {decimals} decimal places", field=field)
    return amount


async def deposit(
    conn: Connection, registry: MarketRegistry, account_id: int, asset: object, amount: object
) -> BalanceRow:
    if not isinstance(asset, str) or not asset.strip():
        raise invalid_request("asset is required", field="asset")
    asset = asset.strip().upper()
    decimals = registry.asset_decimals(asset)
    if decimals is None:
        raise invalid_request(f"Unknown asset {asset!r}", field="asset")
    value = parse_amount(amount, decimals)
    async with conn.transaction():
        await balances_repo.insert_ledger_entry(
            conn, account_id=account_id, asset=asset, kind="DEPOSIT", amount=value
        )
        return await balances_repo.credit_total(conn, account_id, asset, value)
