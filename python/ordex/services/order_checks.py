"""The checks of an order before it is held and queued: pure functions, no I/O.

Validation against the market (grid, minimum, leverage cap, status), the price the engine gets
(a market order's protection price from the published top of book), the hold of a spot order, and
the perpetual risk check over every market the account is exposed in. `services.orders` runs them
for single orders and batches alike, so both refuse exactly the same orders.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import ordex
from ordex.db.orders import LiveOrderTotals
from ordex.db.positions import PositionRow
from ordex.engine_types import Side
from ordex.redis_client import RedisClient
from ordex.services.exchange_errors import insufficient_margin, invalid_order
from ordex.services.markets import Market, MarketRegistry, plain
from ordex.services.order_requests import OrderRequest
from ordex.streams import top_of_book_key


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """What the matcher last published for a market (`md:top:{MARKET}`), in ticks."""

    bid: int | None = None
    ask: int | None = None
    last: int | None = None


async def read_top_of_book(redis: RedisClient, markets: Iterable[Market]) -> dict[str, TopOfBook]:
    markets = list(markets)
    async with redis.pipeline(transaction=False) as pipe:
        for market in markets:
            pipe.hgetall(top_of_book_key(market.id))
        results = await pipe.execute()
    tops: dict[str, TopOfBook] = {}
    for market, fields in zip(markets, results, strict=True):
        values = {_text(k): _text(v) for k, v in (fields or {}).items()}
        tops[market.id] = TopOfBook(
            bid=_published_ticks(market, values.get("bid")),
            ask=_published_ticks(market, values.get("ask")),
            last=_published_ticks(market, values.get("last")),
        )
    return tops


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _published_ticks(market: Market, value: str | None) -> int | None:
    if not value:
        return None
    try:
        return market.config.price_to_ticks(value)
    except ordex.DecimalFormatError:
        return None  # not a price on this market's grid: treated as no reference at all


@dataclass(frozen=True, slots=True)
class CheckedOrder:
    """An order request that passed every check that needs no balance: on the market's grid,
    within its limits, and priced for the engine."""

    account_id: int
    request: OrderRequest
    market: Market
    lots: int
    limit: int | None
    trigger: int | None
    leverage: int | None
    venue: str

    @property
    def hold_asset(self) -> str:
        row = self.market.row
        return (
            row.quote_asset if self.market.is_perp or self.request.side == "BUY" else row.base_asset
        )

    def priced_markets(self, registry: MarketRegistry) -> tuple[Market, ...]:
        """The markets whose published top of book the order needs: all perpetuals for the risk
        check's marks, the own market for a market order's protection price, none otherwise."""
        if self.market.is_perp:
            return registry.perp_markets
        if not self.request.is_limit_priced and self.trigger is None:
            return (self.market,)
        return ()


def check_order(
    registry: MarketRegistry, account_id: int, request: OrderRequest, venue: str = "EXCHANGE"
) -> CheckedOrder:
    """Raises `ExchangeError` (MARKET_NOT_FOUND, INVALID_ORDER) for an order no balance can fix."""
    market = registry.resolve(request.market_id)
    if not market.is_active:
        raise invalid_order(f"Market {market.id} is {market.row.status}", field="marketId")
    lots = _lots(market, request.quantity)
    limit = None if request.price is None else _ticks(market, request.price, "price")
    trigger = (
        None
        if request.trigger_price is None
        else _ticks(market, request.trigger_price, "triggerPrice")
    )
    leverage = _leverage(market, request.leverage)
    if request.reduce_only and not market.is_perp:
        raise invalid_order("reduceOnly is for perpetual markets", field="reduceOnly")
    if request.expire_at is not None and request.expire_at <= int(time.time() * 1000):
        raise invalid_order("expireAt is in the past", field="expireAt")
    return CheckedOrder(account_id, request, market, lots, limit, trigger, leverage, venue)


def engine_price(order: CheckedOrder, top: TopOfBook) -> int:
    return _engine_price(order.market, order.request, order.limit, order.trigger, top)


def _ticks(market: Market, value: Decimal, field: str) -> int:
    try:
        ticks = market.price_to_ticks(value)
    except ordex.NotAlignedError:
        raise invalid_order(
            f"{field} {plain(value)} is not a multiple of the tick size "
            f"{plain(market.row.tick_size)}",
            field=field,
        ) from None
    except (ordex.DecimalFormatError, OverflowError, ValueError):
        raise invalid_order(f"{field} {plain(value)} is not a valid price", field=field) from None
    if ticks <= 0:
        raise invalid_order(f"{field} must be positive", field=field)
    return ticks


def _lots(market: Market, quantity: Decimal) -> int:
    try:
        lots = market.qty_to_lots(quantity)
    except ordex.NotAlignedError:
        raise invalid_order(
            f"quantity {plain(quantity)} is not a multiple of the lot size "
            f"{plain(market.row.lot_size)}",
            field="quantity",
        ) from None
    except (ordex.DecimalFormatError, OverflowError, ValueError):
        raise invalid_order("quantity is not a valid quantity", field="quantity") from None
    if lots < market.config.min_qty:
        raise invalid_order(
            f"quantity is below the minimum {plain(market.row.min_quantity)}", field="quantity"
        )
    return lots


def _leverage(market: Market, requested: int | None) -> int | None:
    """The order's leverage: perpetuals default to 1 and are capped by the market."""
    if not market.is_perp:
        if requested not in (None, 1):
            raise invalid_order(f"{market.id} is a spot market: no leverage", field="leverage")
        return None
    leverage = 1 if requested is None else requested
    if not 1 <= leverage <= market.row.max_leverage:
        raise invalid_order(
            f"leverage must be between 1 and {market.row.max_leverage}", field="leverage"
        )
    return leverage


def protection_ticks(market: Market, side: Side, reference: int) -> int:
    """The furthest price a market order may trade at: the band beyond the reference price."""
    band = market.row.price_band
    with localcontext() as ctx:
        ctx.prec = 60
        if side == "BUY":
            return int((Decimal(reference) * (1 + band)).to_integral_value(ROUND_FLOOR))
        return max(1, int((Decimal(reference) * (1 - band)).to_integral_value(ROUND_CEILING)))


def _engine_price(
    market: Market,
    request: OrderRequest,
    limit: int | None,
    trigger: int | None,
    top: TopOfBook,
) -> int:
    """The price sent to the engine and used for the hold: the limit price, or for market-priced
    orders a protection price so the engine never trades beyond what was held."""
    if request.is_limit_priced:
        assert limit is not None
        return limit
    if trigger is not None:
        reference: int | None = trigger  # a stop fires at its trigger: the band is around it
    elif request.side == "BUY":
        reference = top.ask if top.ask is not None else top.last
    else:
        reference = top.bid if top.bid is not None else top.last
    if reference is None:
        if limit is not None:
            return limit
        raise invalid_order(f"No reference price for a market order on {market.id} yet")
    protection = protection_ticks(market, request.side, reference)
    if limit is None:
        return protection
    # A price given with a market order can only tighten the protection.
    return min(limit, protection) if request.side == "BUY" else max(limit, protection)


def spot_hold(market: Market, side: Side, price: int, lots: int) -> Decimal:
    amount = ordex.spot_hold(market.config, side, price, lots)
    return market.atoms_to_quote(amount) if side == "BUY" else market.lots_to_qty(amount)


@dataclass(slots=True)
class AccountExposure:
    """An account's open positions, live order totals and leverage setting per market, as the
    risk check reads them, and the isolated margin of each market it trades ISOLATED;
    `add_order` keeps them current within a batch."""

    positions: dict[str, PositionRow]
    live: dict[str, LiveOrderTotals]
    leverages: dict[str, int]
    isolated: dict[str, Decimal] = field(default_factory=dict)

    def add_order(self, order: CheckedOrder) -> None:
        market_id = order.market.id
        qty = order.market.lots_to_qty(order.lots)
        totals = self.live.get(market_id) or LiveOrderTotals(
            market_id, Decimal(0), Decimal(0), None
        )
        if order.request.side == "BUY":
            totals = replace(totals, open_buy=totals.open_buy + qty)
        else:
            totals = replace(totals, open_sell=totals.open_sell + qty)
        price = order.request.price
        if price is not None and (totals.max_price is None or price > totals.max_price):
            totals = replace(totals, max_price=price)
        self.live[market_id] = totals
        if order.leverage is not None:
            self.leverages[market_id] = order.leverage


def perp_hold(
    registry: MarketRegistry,
    order: CheckedOrder,
    price: int,
    collateral: Decimal,
    exposure: AccountExposure,
    tops: dict[str, TopOfBook],
) -> Decimal:
    """`required` of `ordex.risk_check` over every perpetual market the account is exposed in.

    Leverage is the account's setting per market: the order's leverage applies to everything in
    its own market, the other markets keep the leverage of their latest order (1 without one).

    Isolated markets (docs/exchange.md, "Isolated margin"): the collateral is the cross one (the
    total less the isolated margins), and an isolated position's own unrealized PnL and initial
    margin are taken out of the check (its isolated margin backs it), so that only what its open
    orders and the new order add is asked of the cross collateral. An order that can only
    reduce an isolated position (with the open orders on its side) holds nothing: its fee is
    booked against the position's margin when it fills, so a position can always be closed.
    Raises INSUFFICIENT_MARGIN or INVALID_ORDER.
    """
    market, request = order.market, order.request
    assert order.leverage is not None
    if _reduces_isolated(order, exposure):
        return Decimal(0)
    exposures: list[ordex.Exposure] = []
    market_index = -1
    collateral -= sum(exposure.isolated.values(), Decimal(0))
    isolated_adjustment = 0  # quote atoms: the isolated positions' own PnL less their margin
    for other in registry.perp_markets:
        position = exposure.positions.get(other.id)
        totals = exposure.live.get(other.id)
        if other.id != market.id and position is None and totals is None:
            continue
        size = other.qty_to_lots(abs(position.size)) if position else 0
        if position is not None and position.size < 0:
            size = -size
        cost = other.quote_to_atoms(position.cost) if position else 0
        top = tops.get(other.id, TopOfBook())
        mark = top.last
        if mark is None and other.id == market.id:
            mark = price
        if mark is None and size != 0:
            mark = max(1, cost // (abs(size) * other.config.atoms_per_tick_lot))
        if mark is None and totals is not None and totals.max_price is not None:
            mark = other.price_to_ticks(totals.max_price)
        if mark is None:
            continue  # only pending market orders and no price anywhere: nothing to value them by
        if other.id == market.id:
            market_index = len(exposures)
            other_leverage = order.leverage
        else:
            other_leverage = min(exposure.leverages.get(other.id, 1), other.row.max_leverage)
        if other.id in exposure.isolated and size:
            try:
                isolated_adjustment += ordex.unrealized_pnl(
                    other.config, size, cost, mark
                ) - ordex.initial_margin(other.config, size, mark, other_leverage)
            except ordex.InvalidLeverageError:
                raise invalid_order("leverage is out of range", field="leverage") from None
        exposures.append(
            ordex.Exposure(
                other.config,
                size,
                cost,
                mark,
                open_buy=other.qty_to_lots(totals.open_buy) if totals else 0,
                open_sell=other.qty_to_lots(totals.open_sell) if totals else 0,
                leverage=other_leverage,
            )
        )
    try:
        required, _available = ordex.risk_check(
            market.quote_to_atoms(collateral) - isolated_adjustment,
            exposures,
            market_index,
            request.side,
            order.lots,
            price,
        )
    except ordex.InsufficientMarginError:
        raise insufficient_margin() from None
    except ordex.InvalidLeverageError:
        raise invalid_order("leverage is out of range", field="leverage") from None
    return market.atoms_to_quote(required)


def _reduces_isolated(order: CheckedOrder, exposure: AccountExposure) -> bool:
    market = order.market
    position = exposure.positions.get(market.id)
    if market.id not in exposure.isolated or position is None or position.size == 0:
        return False
    size = market.qty_to_lots(abs(position.size))
    totals = exposure.live.get(market.id)
    if position.size > 0 and order.request.side == "SELL":
        resting = market.qty_to_lots(totals.open_sell) if totals else 0
    elif position.size < 0 and order.request.side == "BUY":
        resting = market.qty_to_lots(totals.open_buy) if totals else 0
    else:
        return False
    return resting + order.lots <= size


def place_command(order: CheckedOrder, order_id: int, price: int) -> dict[str, object]:
    """The engine `place` command of an order (without its `cmd_id`, the outbox row's id)."""
    request, config = order.request, order.market.config
    command: dict[str, object] = {
        "type": "place",
        "order_id": order_id,
        "account": order.account_id,
        "side": request.side,
        "order_type": request.order_type,
        "time_in_force": request.effective_time_in_force,
        "price": config.format_price(price),
        "qty": config.format_qty(order.lots),
        "post_only": request.post_only,
        "reduce_only": request.reduce_only,
        "stp": request.stp,
    }
    if order.trigger is not None:
        command["trigger_price"] = config.format_price(order.trigger)
        command["trigger_by"] = request.trigger_by
    if request.expire_at is not None:
        command["expire_at"] = request.expire_at
    if request.client_order_id is not None:
        command["client_order_id"] = request.client_order_id
    return command
