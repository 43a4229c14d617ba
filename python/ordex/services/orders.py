"""Order intake and cancellation: the one-transaction path of docs/exchange.md.

`submit_orders` serves `POST /orders` (through `OrderBatcher`), the `orders.intake` stream
worker and every other producer. A batch of orders is one transaction that behaves exactly like
the orders submitted one after another: it locks the balance rows the orders hold from, checks
what each account can afford (`ordex.spot_hold`, or `ordex.risk_check` over every perpetual
market of the account) counting the holds of the batch's earlier orders, raises `held`, inserts
the orders PENDING and their engine commands into the outbox (which notifies the publisher on
commit). The work is set-based, a handful of statements whatever the batch's size; an order
refused by a check is left out of it and gets its error, the others go on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

import asyncpg
import orjson

from ordex.db import order_batches as batches_repo
from ordex.db import orders as orders_repo
from ordex.db.order_batches import BalanceKey, LockedBalance, OrderInsert, OutboxInsert
from ordex.db.orders import OrderRow
from ordex.db.types import Connection
from ordex.redis_client import RedisClient
from ordex.services.exchange_errors import (
    ExchangeError,
    duplicate_client_order_id,
    insufficient_margin,
    invalid_request,
    order_not_found,
    order_not_open,
)
from ordex.services.markets import Market, MarketRegistry
from ordex.services.order_checks import (
    AccountExposure,
    CheckedOrder,
    TopOfBook,
    check_order,
    engine_price,
    perp_hold,
    place_command,
    read_top_of_book,
    spot_hold,
)
from ordex.services.order_requests import OrderRequest

__all__ = [
    "CancelRequested",
    "OrderSubmission",
    "SubmittedOrder",
    "TopOfBook",
    "cancel_order",
    "get_order",
    "list_orders",
    "parse_order_id",
    "read_top_of_book",
    "submit_order",
    "submit_orders",
]

EMPTY_BALANCE = LockedBalance(Decimal(0), Decimal(0))
LIVE_CLIENT_ORDER_ID_KEY = "orders_live_client_order_id_key"
MAX_ORDER_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class SubmittedOrder:
    inserted: OrderInsert
    created_at: datetime
    outbox_id: int
    command: str
    """The engine `place` command as queued in the outbox (JSON, with its `cmd_id`)."""

    @property
    def order(self) -> OrderRow:
        """The order's row as inserted (built on demand: most callers need only its id)."""
        return batches_repo.pending_order(self.inserted, self.created_at)

    @property
    def order_id(self) -> str:
        return str(self.inserted.id)

    @property
    def status(self) -> str:
        return "PENDING"


@dataclass(frozen=True, slots=True)
class CancelRequested:
    order: OrderRow
    outbox_id: int
    command: str
    """The engine `cancel` command exactly as stored in the outbox (JSON)."""


@dataclass(frozen=True, slots=True)
class OrderSubmission:
    account_id: int
    request: OrderRequest
    venue: str = "EXCHANGE"


Outcome = SubmittedOrder | Exception
"""A submitted order, or what submitting it alone would have raised: an `ExchangeError` for a
refused order, rarely a database error."""


def parse_order_id(value: object) -> int:
    """An order id from a path or a message; anything that cannot be one is ORDER_NOT_FOUND."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ORDER_ID:
        raise order_not_found()
    return int(text)


def unknown_account() -> ExchangeError:
    return invalid_request("account is not a trading account", field="account")


async def submit_order(
    conn: Connection,
    redis: RedisClient,
    registry: MarketRegistry,
    account_id: int,
    request: OrderRequest,
    *,
    venue: str = "EXCHANGE",
    tops: dict[str, TopOfBook] | None = None,
) -> SubmittedOrder:
    """Validate, hold the funds and queue one order for the engine, in one transaction.

    Raises `ExchangeError`: MARKET_NOT_FOUND, INVALID_ORDER, INSUFFICIENT_MARGIN or
    DUPLICATE_CLIENT_ORDER_ID; nothing is written then.
    """
    [outcome] = await submit_orders(
        conn, redis, registry, [OrderSubmission(account_id, request, venue)], tops=tops
    )
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def submit_orders(
    conn: Connection,
    redis: RedisClient,
    registry: MarketRegistry,
    submissions: Sequence[OrderSubmission],
    *,
    tops: dict[str, TopOfBook] | None = None,
) -> list[Outcome]:
    """Submits a batch in one transaction (a savepoint inside the caller's), as if one by one.

    `tops` is the published top of book when the caller already read it; otherwise it is read
    here, once, and only when an order needs it (market orders, perpetuals' marks).

    Should the batch's statements fail (a client order id taken by a concurrent transaction
    between the check and the insert, a deadlock), the batch is rolled back and every order is
    submitted again on its own, so one such order costs the others nothing.
    """
    outcomes: list[Outcome | None] = [None] * len(submissions)
    checked: list[tuple[int, CheckedOrder]] = []
    priced: dict[str, Market] = {}
    for index, submission in enumerate(submissions):
        try:
            order = check_order(
                registry, submission.account_id, submission.request, submission.venue
            )
        except ExchangeError as error:
            outcomes[index] = error
            continue
        checked.append((index, order))
        priced.update((m.id, m) for m in order.priced_markets(registry))
    # Redis is read before the transaction so the balance locks are held as briefly as possible.
    if priced and (tops is None or any(m not in tops for m in priced)):
        tops = {**(tops or {}), **await read_top_of_book(redis, priced.values())}
    tops = tops or {}
    indexes: list[int] = []
    priced_orders: list[tuple[CheckedOrder, int]] = []
    for index, order in checked:
        try:
            price = engine_price(order, tops.get(order.market.id, TopOfBook()))
        except ExchangeError as error:
            outcomes[index] = error
            continue
        indexes.append(index)
        priced_orders.append((order, price))
    if priced_orders:
        try:
            async with conn.transaction():
                results = await _hold_and_queue(conn, registry, tops, priced_orders)
        except asyncpg.PostgresError as exc:
            if len(priced_orders) == 1:
                results = [_database_refusal(exc, priced_orders[0][0])]
            else:
                results = [
                    await _submit_alone(conn, registry, tops, order, price)
                    for order, price in priced_orders
                ]
        for index, result in zip(indexes, results, strict=True):
            outcomes[index] = result
    assert all(o is not None for o in outcomes)
    return cast(list[Outcome], outcomes)


async def _submit_alone(
    conn: Connection,
    registry: MarketRegistry,
    tops: dict[str, TopOfBook],
    order: CheckedOrder,
    price: int,
) -> Outcome:
    try:
        async with conn.transaction():
            [outcome] = await _hold_and_queue(conn, registry, tops, [(order, price)])
    except asyncpg.PostgresError as exc:
        return _database_refusal(exc, order)
    return outcome


def _database_refusal(exc: asyncpg.PostgresError, order: CheckedOrder) -> Exception:
    # Two orders with one client order id that hold different assets do not share a lock;
    # the partial unique index decides between them.
    cid = order.request.client_order_id
    if (
        isinstance(exc, asyncpg.UniqueViolationError)
        and exc.constraint_name == LIVE_CLIENT_ORDER_ID_KEY
        and cid
    ):
        return duplicate_client_order_id(cid)
    return exc


async def _hold_and_queue(
    conn: Connection,
    registry: MarketRegistry,
    tops: dict[str, TopOfBook],
    orders: Sequence[tuple[CheckedOrder, int]],
) -> list[Outcome]:
    """The transaction's work: lock, decide order by order in memory, write what was accepted."""
    keys = sorted({(o.account_id, o.hold_asset) for o, _ in orders})
    locked = await batches_repo.lock_balances(conn, keys, len(orders))
    balances = locked.balances
    unlocked = [account for account, asset in keys if (account, asset) not in balances]
    known = await batches_repo.existing_accounts(conn, unlocked) if unlocked else set()
    cid_keys = sorted(
        {(o.account_id, cid) for o, _ in orders if (cid := o.request.client_order_id)}
    )
    taken = await batches_repo.live_client_order_ids(conn, cid_keys) if cid_keys else set()
    perp_accounts = sorted({o.account_id for o, _ in orders if o.market.is_perp})
    exposures: dict[int, AccountExposure] = {}
    if perp_accounts:
        context = await batches_repo.perp_context(conn, perp_accounts)
        exposures = {
            a: AccountExposure(
                context.positions.get(a, {}),
                context.live.get(a, {}),
                context.leverages.get(a, {}),
                context.isolated.get(a, {}),
            )
            for a in perp_accounts
        }

    holds: defaultdict[BalanceKey, Decimal] = defaultdict(Decimal)
    decided: list[Outcome | tuple[CheckedOrder, int, Decimal]] = []
    for order, price in orders:
        key = (order.account_id, order.hold_asset)
        balance = balances.get(key)
        cid = order.request.client_order_id
        try:
            if balance is None:
                if order.account_id not in known:
                    raise unknown_account()
                balance = EMPTY_BALANCE
            if cid is not None and (order.account_id, cid) in taken:
                raise duplicate_client_order_id(cid)
            if order.market.is_perp:
                hold = perp_hold(
                    registry, order, price, balance.total, exposures[order.account_id], tops
                )
            else:
                hold = spot_hold(order.market, order.request.side, price, order.lots)
                if balance.total - balance.held - holds[key] < hold:
                    raise insufficient_margin()
        except ExchangeError as error:
            decided.append(error)
            continue
        holds[key] += hold
        if cid is not None:
            taken.add((order.account_id, cid))
        if order.market.is_perp:
            exposures[order.account_id].add_order(order)
        decided.append((order, price, hold))

    accepted = [d for d in decided if isinstance(d, tuple)]
    if not accepted:
        return [d for d in decided if not isinstance(d, tuple)]
    ids = locked.ids[: len(accepted)]
    inserts: list[OrderInsert] = []
    queued: list[OutboxInsert] = []
    for (order, price, hold), (order_id, outbox_id) in zip(accepted, ids, strict=True):
        request = order.request
        inserts.append(
            OrderInsert(
                id=order_id,
                account_id=order.account_id,
                market_id=order.market.id,
                venue=order.venue,
                side=request.side,
                type=request.order_type,
                time_in_force=request.effective_time_in_force,
                price=request.price,
                trigger_price=request.trigger_price,
                quantity=order.market.lots_to_qty(order.lots),
                client_order_id=request.client_order_id,
                reduce_only=request.reduce_only,
                post_only=request.post_only,
                leverage=order.leverage,
                hold_asset=order.hold_asset,
                hold_amount=hold,
            )
        )
        command = place_command(order, order_id, price)
        command["cmd_id"] = outbox_id
        queued.append(
            OutboxInsert(
                outbox_id, order.market.id, "order.created", orjson.dumps(command).decode()
            )
        )
    nonzero = {key: amount for key, amount in holds.items() if amount}
    created_at = await batches_repo.write_orders(conn, nonzero, inserts, queued)
    written = iter(zip(inserts, queued, strict=True))
    results: list[Outcome] = []
    for d in decided:
        if isinstance(d, tuple):
            insert, command_row = next(written)
            results.append(
                SubmittedOrder(
                    insert,
                    created_at,
                    command_row.id,
                    command_row.payload,
                )
            )
        else:
            results.append(d)
    return results


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
