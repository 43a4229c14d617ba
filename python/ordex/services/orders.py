"""Order intake and cancellation: the one-transaction path of docs/exchange.md.

`submit_order` and `cancel_order` serve both `POST /orders` / `DELETE /orders/{orderId}` and the
`orders.intake` stream worker. Within one transaction an order locks the balance row it holds
from, checks what the account can afford (`ordex.spot_hold`, or `ordex.risk_check` over every
perpetual market of the account), raises `held`, inserts the order PENDING and the engine command
into the outbox (which notifies the publisher on commit). Any error rolls all of it back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import asyncpg
from redis.asyncio import Redis

import ordex
from ordex.db import balances as balances_repo
from ordex.db import orders as orders_repo
from ordex.db import positions as positions_repo
from ordex.db.orders import NewOrder, OrderRow
from ordex.db.types import Connection
from ordex.engine_types import Side
from ordex.services.exchange_errors import (
    duplicate_client_order_id,
    insufficient_margin,
    invalid_order,
    order_not_found,
    order_not_open,
)
from ordex.services.markets import Market, MarketRegistry, plain
from ordex.services.order_requests import OrderRequest
from ordex.streams import top_of_book_key

LIVE_CLIENT_ORDER_ID_KEY = "orders_live_client_order_id_key"
MAX_ORDER_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class SubmittedOrder:
    order: OrderRow
    outbox_id: int
    command: str
    """The engine `place` command exactly as stored in the outbox (JSON)."""

    @property
    def order_id(self) -> str:
        return str(self.order.id)

    @property
    def status(self) -> str:
        return self.order.status


@dataclass(frozen=True, slots=True)
class CancelRequested:
    order: OrderRow
    outbox_id: int
    command: str
    """The engine `cancel` command exactly as stored in the outbox (JSON)."""


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """What the matcher last published for a market (`md:top:{MARKET}`), in ticks."""

    bid: int | None = None
    ask: int | None = None
    last: int | None = None


def parse_order_id(value: object) -> int:
    """An order id from a path or a message; anything that cannot be one is ORDER_NOT_FOUND."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ORDER_ID:
        raise order_not_found()
    return int(text)


async def read_top_of_book(redis: Redis, markets: Iterable[Market]) -> dict[str, TopOfBook]:
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


def _spot_hold(market: Market, side: Side, price: int, lots: int) -> Decimal:
    amount = ordex.spot_hold(market.config, side, price, lots)
    return market.atoms_to_quote(amount) if side == "BUY" else market.lots_to_qty(amount)


async def _perp_hold(
    conn: Connection,
    registry: MarketRegistry,
    market: Market,
    account_id: int,
    request: OrderRequest,
    lots: int,
    price: int,
    leverage: int,
    collateral: Decimal,
    tops: dict[str, TopOfBook],
) -> Decimal:
    """`required` of `ordex.risk_check` over every perpetual market the account is exposed in.

    Leverage is the account's setting per market: the order's leverage applies to everything in
    its own market, the other markets keep the leverage of their latest order (1 without one).
    """
    positions = {
        p.market_id: p
        for p in await positions_repo.list_positions(conn, account_id, open_only=True)
    }
    live = {t.market_id: t for t in await orders_repo.live_order_totals(conn, account_id)}
    leverages = await orders_repo.latest_leverage_by_market(conn, account_id)
    exposures: list[ordex.Exposure] = []
    market_index = -1
    for other in registry.perp_markets:
        position = positions.get(other.id)
        totals = live.get(other.id)
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
            other_leverage = leverage
        else:
            other_leverage = min(leverages.get(other.id, 1), other.row.max_leverage)
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
            market.quote_to_atoms(collateral), exposures, market_index, request.side, lots, price
        )
    except ordex.InsufficientMarginError:
        raise insufficient_margin() from None
    except ordex.InvalidLeverageError:
        raise invalid_order("leverage is out of range", field="leverage") from None
    return market.atoms_to_quote(required)


def _place_command(
    market: Market,
    order: OrderRow,
    request: OrderRequest,
    engine_price: int,
    trigger: int | None,
) -> dict[str, object]:
    command: dict[str, object] = {
        "type": "place",
        "order_id": order.id,
        "account": order.account_id,
        "side": request.side,
        "order_type": request.order_type,
        "time_in_force": order.time_in_force,
        "price": market.config.format_price(engine_price),
        "qty": plain(order.quantity),
        "post_only": request.post_only,
        "reduce_only": request.reduce_only,
        "stp": request.stp,
    }
    if trigger is not None:
        command["trigger_price"] = market.config.format_price(trigger)
        command["trigger_by"] = request.trigger_by
    if request.expire_at is not None:
        command["expire_at"] = request.expire_at
    if request.client_order_id is not None:
        command["client_order_id"] = request.client_order_id
    return command


async def submit_order(
    conn: Connection,
    redis: Redis,
    registry: MarketRegistry,
    account_id: int,
    request: OrderRequest,
    *,
    venue: str = "EXCHANGE",
    tops: dict[str, TopOfBook] | None = None,
) -> SubmittedOrder:
    """Validate, hold the funds and queue the order for the engine, all in one transaction.

    `tops` is the published top of book when the caller already read it (the intake worker
    reads it once per batch); by default it is read here.

    Raises `ExchangeError`: MARKET_NOT_FOUND, INVALID_ORDER, INSUFFICIENT_MARGIN or
    DUPLICATE_CLIENT_ORDER_ID; nothing is written then.
    """
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

    # Redis is read before the transaction so the balance lock is held as briefly as possible.
    priced = registry.perp_markets if market.is_perp else (market,)
    if tops is None or any(m.id not in tops for m in priced):
        tops = await read_top_of_book(redis, priced)
    engine_price = _engine_price(market, request, limit, trigger, tops[market.id])
    hold_asset = (
        market.row.quote_asset if market.is_perp or request.side == "BUY" else market.row.base_asset
    )
    try:
        async with conn.transaction():
            balance = await balances_repo.lock_balance(conn, account_id, hold_asset)
            if (
                request.client_order_id is not None
                and await orders_repo.live_client_order_id_exists(
                    conn, account_id, request.client_order_id
                )
            ):
                raise duplicate_client_order_id(request.client_order_id)
            if market.is_perp:
                assert leverage is not None
                hold = await _perp_hold(
                    conn, registry, market, account_id, request, lots, engine_price, leverage,
                    balance.total, tops,
                )  # fmt: skip
            else:
                hold = _spot_hold(market, request.side, engine_price, lots)
                if balance.available < hold:
                    raise insufficient_margin()
            await balances_repo.add_held(conn, account_id, hold_asset, hold)
            order = await orders_repo.insert_order(
                conn,
                NewOrder(
                    account_id=account_id,
                    market_id=market.id,
                    side=request.side,
                    type=request.order_type,
                    time_in_force=request.effective_time_in_force,
                    price=request.price,
                    trigger_price=request.trigger_price,
                    quantity=market.lots_to_qty(lots),
                    client_order_id=request.client_order_id,
                    reduce_only=request.reduce_only,
                    post_only=request.post_only,
                    leverage=leverage,
                    hold_asset=hold_asset,
                    hold_amount=hold,
                    venue=venue,
                ),
            )
            command = _place_command(market, order, request, engine_price, trigger)
            outbox_id, payload = await orders_repo.insert_outbox(
                conn, market.id, "order.created", command
            )
    except asyncpg.UniqueViolationError as exc:
        # Two orders with one client order id that hold different assets do not share a lock;
        # the partial unique index decides between them.
        if exc.constraint_name == LIVE_CLIENT_ORDER_ID_KEY and request.client_order_id:
            raise duplicate_client_order_id(request.client_order_id) from None
        raise
    return SubmittedOrder(order=order, outbox_id=outbox_id, command=payload)


async def cancel_order(conn: Connection, account_id: int, order_id: int) -> CancelRequested:
    """Queue the engine `cancel` for a live order of the account.

    Raises ORDER_NOT_FOUND (unknown or another account's order) or ORDER_NOT_OPEN (already final).
    The order stays as it is until the engine's `cancelled` event is persisted.
    """
    async with conn.transaction():
        order = await orders_repo.get_order(conn, account_id, order_id, for_update=True)
        if order is None:
            raise order_not_found()
        if not order.is_live:
            raise order_not_open(order.status)
        command: dict[str, object] = {"type": "cancel", "order_id": order.id, "account": account_id}
        outbox_id, payload = await orders_repo.insert_outbox(
            conn, order.market_id, "order.cancelled", command
        )
    return CancelRequested(order=order, outbox_id=outbox_id, command=payload)


async def get_order(conn: Connection, account_id: int, order_id: int) -> OrderRow:
    order = await orders_repo.get_order(conn, account_id, order_id)
    if order is None:
        raise order_not_found()
    return order


async def list_orders(
    conn: Connection,
    account_id: int,
    *,
    market: Market | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[OrderRow]:
    return await orders_repo.list_orders(
        conn, account_id, market_id=market.id if market else None, status=status, limit=limit
    )
