"""Margin mode and isolated margin of perpetual positions (docs/exchange.md, "Isolated margin").

Per account and market the mode is CROSS (the default) or ISOLATED, changed only while the
account has neither a position nor live orders in the market. An isolated position's margin is an
earmark of the account's quote balance (`positions.isolated_margin`, no ledger entry): the
settlement moves each opening fill's initial margin into it and releases it as the position
closes; `move_margin` adds to it out of the free cross collateral or takes some back while the
position keeps its initial margin.

Locks are taken in the persister's order (the position row, then the balance row), and the
balance row is the one order intake locks, so a mode change and an order never cross.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation

import ordex
from ordex.db import order_batches as batches_repo
from ordex.db import positions as positions_repo
from ordex.db.positions import CROSS, ISOLATED, PositionRow
from ordex.db.types import Connection
from ordex.redis_client import RedisClient
from ordex.services import mark_prices
from ordex.services.exchange_errors import ExchangeError, insufficient_margin, invalid_request
from ordex.services.markets import Market, MarketRegistry

MODES = (CROSS, ISOLATED)
__all__ = ["CROSS", "ISOLATED", "MODES", "move_margin", "set_margin_mode"]


def margin_mode_locked(market_id: str) -> ExchangeError:
    return ExchangeError(
        409,
        "MARGIN_MODE_LOCKED",
        f"The margin mode of {market_id} cannot change while the account has a position or"
        " open orders in it",
        field="marketId",
    )


def not_isolated(market_id: str) -> ExchangeError:
    return ExchangeError(
        409,
        "NOT_ISOLATED",
        f"The account has no isolated position in {market_id}",
        field="marketId",
    )


def _perp_market(registry: MarketRegistry, market_id: object) -> Market:
    if not isinstance(market_id, str) or not market_id:
        raise invalid_request("marketId is required", field="marketId")
    market = registry.resolve(market_id)
    if not market.is_perp:
        raise invalid_request(f"{market.id} is not a perpetual market", field="marketId")
    return market


def _amount(market: Market, value: object) -> Decimal:
    if not isinstance(value, str):
        raise invalid_request("amount must be a decimal string", field="amount")
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise invalid_request("amount must be a decimal string", field="amount") from None
    if not amount.is_finite() or amount == 0 or abs(amount) > Decimal(10) ** 30:
        raise invalid_request("amount must be a non-zero decimal", field="amount")
    atom = Decimal(1).scaleb(-market.row.quote_decimals)
    if amount != amount.quantize(atom, rounding=ROUND_FLOOR):
        raise invalid_request(
            f"amount has more than {market.row.quote_decimals} decimal places", field="amount"
        )
    return amount


async def set_margin_mode(
    conn: Connection, registry: MarketRegistry, account_id: int, market_id: object, mode: object
) -> tuple[Market, str]:
    """Sets the account's margin mode in the market. Raises VALIDATION_ERROR (not a perpetual,
    not a mode), MARKET_NOT_FOUND, MARGIN_MODE_LOCKED (a position or live orders)."""
    market = _perp_market(registry, market_id)
    if mode not in MODES:
        raise invalid_request("marginMode must be CROSS or ISOLATED", field="marginMode")
    assert isinstance(mode, str)
    async with conn.transaction():
        position = await positions_repo.lock_position(conn, account_id, market.id)
        await positions_repo.lock_balance(conn, account_id, market.row.quote_asset)
        if position is not None and position.margin_mode == mode:
            return market, mode
        if position is not None and position.size != 0:
            raise margin_mode_locked(market.id)
        if await positions_repo.live_orders(conn, account_id, market.id):
            raise margin_mode_locked(market.id)
        await positions_repo.set_margin_mode(conn, account_id, market.id, mode)
    return market, mode


def _mark_ticks(
    market: Market, marks: dict[str, mark_prices.MarkPrice], size: int, cost: int
) -> int:
    mark = marks.get(market.id)
    if mark is not None:
        return market.price_to_ticks(mark_prices.to_tick(mark.price, market.row.tick_size))
    # No mark yet: the entry price.
    return max(1, cost // (abs(size) * market.config.atoms_per_tick_lot))


def _lots(market: Market, size: Decimal) -> int:
    lots = market.qty_to_lots(abs(size))
    return lots if size >= 0 else -lots


async def move_margin(
    conn: Connection,
    redis: RedisClient,
    registry: MarketRegistry,
    account_id: int,
    market_id: object,
    amount_text: object,
) -> PositionRow:
    """Adds `amount` (positive) to the isolated margin of the account's position in the market,
    or takes it back (negative). Adding needs free cross collateral: neither held by open orders
    nor earmarked, and within what the cross positions leave available at the marks. Removing
    keeps the margin, with the position's unrealized loss, at its initial margin (at the mark
    and the leverage of the account's latest order in the market). Raises VALIDATION_ERROR,
    MARKET_NOT_FOUND, NOT_ISOLATED, INSUFFICIENT_MARGIN."""
    market = _perp_market(registry, market_id)
    amount = _amount(market, amount_text)
    marks = await mark_prices.read_marks(redis, [m.id for m in registry.perp_markets])
    quote = market.row.quote_asset
    async with conn.transaction():
        position = await positions_repo.lock_position(conn, account_id, market.id)
        if position is None or position.margin_mode != ISOLATED or position.size == 0:
            raise not_isolated(market.id)
        total, held = await positions_repo.lock_balance(conn, account_id, quote)
        context = await batches_repo.perp_context(conn, [account_id])
        leverages = context.leverages.get(account_id, {})
        margin = position.isolated_margin + amount
        if amount > 0:
            isolated = context.isolated
            earmarked = sum(isolated.get(account_id, {}).values(), Decimal(0))
            free = total - held - earmarked
            exposures = []
            for other_id, other in context.positions.get(account_id, {}).items():
                other_market = registry.find(other_id)
                if other_market is None or other_id in isolated.get(account_id, {}):
                    continue
                size = _lots(other_market, other.size)
                cost = other_market.quote_to_atoms(other.cost)
                exposures.append(
                    ordex.Exposure(
                        other_market.config,
                        size,
                        cost,
                        _mark_ticks(other_market, marks, size, cost),
                        leverage=min(leverages.get(other_id, 1), other_market.row.max_leverage),
                    )
                )
            free_atoms = market.quote_to_atoms(free.quantize(Decimal(1).scaleb(
                -market.row.quote_decimals), rounding=ROUND_FLOOR))  # fmt: skip
            _equity, _im, _mm, available = ordex.account_margin(free_atoms, exposures)
            if market.quote_to_atoms(amount) > min(free_atoms, available):
                raise insufficient_margin()
        else:
            if margin < 0:
                raise insufficient_margin()
            size = _lots(market, position.size)
            cost = market.quote_to_atoms(position.cost)
            mark = _mark_ticks(market, marks, size, cost)
            leverage = min(leverages.get(market.id, 1), market.row.max_leverage)
            loss = min(ordex.unrealized_pnl(market.config, size, cost, mark), 0)
            required = ordex.initial_margin(market.config, size, mark, leverage)
            if market.quote_to_atoms(margin) + loss < required:
                raise insufficient_margin()
        await positions_repo.set_isolated_margin(conn, account_id, market.id, margin)
        moved = await positions_repo.lock_position(conn, account_id, market.id)
    assert moved is not None
    return moved
