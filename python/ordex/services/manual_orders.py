"""Manual orders of the trading app (`/api/orders`): the exchange's one order path, answered with
the engine's verdict.

An order is validated with the contract's names (`market`, `orderType`, `stopPrice`, `expiresAt`)
and then goes through exactly what `POST /orders` runs (`services.orders.submit_order`: checks,
hold and risk check, the order row PENDING and its outbox row in one transaction; venue `MANUAL`),
with the GTD expiry written in the same transaction. The caller then waits, at most
`ORDEX_ORDER_WAIT_MS`, for the engine's answer to that command:

- `EngineAnswers` is one reader of `engine.events.{MARKET}` per API process (plain XREAD from the
  newest entry, like the live fan-out). It runs while someone waits (and a few seconds after), is
  positioned before the order is committed, and hands each waiter the events that carry its
  command's `cmd_id` (the outbox id). A command's events come in one entry of the stream (the
  matcher writes one per batch), so the answer is complete when it arrives: `accepted` or
  `rejected`, the order's trades, an IOC remainder's `cancelled`, ...
- The same process listens (`LISTEN market_progress`, one connection while it waits) to the
  persister's commits, which a trigger announces with the market's new `last_seq` while a
  listener holds a lease (`market_progress_listeners`): once the answer's seq is committed the
  order is read once and returned as stored, so a `GET` right after shows the same. Nothing
  polls the database.
- The persister slower than the wait: the row is shown as the answer leaves it (status, filled
  quantity and average price computed as the persister will store them).
- No answer in time (or Redis away): the row as it is, PENDING; the order goes on regardless.

Cancelling works the same way with the engine `cancel` command's `cmd_id`.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, cast

import asyncpg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.exceptions import RedisError

from ordex.db import manual_orders as repo
from ordex.db.manual_orders import ManualOrderRow
from ordex.db.orders import LIVE_STATUSES
from ordex.db.types import Connection
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services import orders as orders_service
from ordex.services.errors import ServiceError
from ordex.services.exchange_errors import ExchangeError
from ordex.services.markets import MarketRegistry, decimal_from_text
from ordex.services.order_requests import (
    CONDITIONAL,
    LIMIT_PRICED,
    ORDER_TYPES,
    OrderRequest,
    parse_order_request,
)
from ordex.streams import entry_events, events_stream

log = get_logger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_EXPIRY_MS = 253_402_300_800_000  # 10000-01-01: beyond what a timestamp can spell
AVERAGE_PRICE_UNIT = Decimal("1e-12")  # the persister's precision for average_price
ORDER_TYPE_ALIASES = {
    "STOP": "STOP_LOSS",
    "STOP_MARKET": "STOP_LOSS",
    "STOP_LIMIT": "STOP_LOSS_LIMIT",
    "TAKE_PROFIT_MARKET": "TAKE_PROFIT",
}
BODY_FIELDS = (
    "market", "side", "orderType", "quantity", "price", "stopPrice", "timeInForce", "expiresAt",
    "clientOrderId", "postOnly", "reduceOnly", "leverage",
)  # fmt: skip
# The exchange's field names in its messages, as the trading-app contract spells them.
CONTRACT_NAMES = {"marketId": "market", "triggerPrice": "stopPrice", "expireAt": "expiresAt"}
_EXCHANGE_NAMES = re.compile(r"\b(marketId|triggerPrice|expireAt)\b")
# NOTIFY of the persister's commits while a lease is held (migrations/20261204000300_...sql).
PROGRESS_CHANNEL = "market_progress"
PROGRESS_LEASE_SECONDS = 120.0  # beyond the longest wait (60 s) and the reader's linger
LEASE_RENEW_SECONDS = 30.0


class ManualOrderSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # How long `POST /api/orders` and `DELETE /api/orders/{id}` wait for the engine's answer
    # before they answer with what is known (0: never wait).
    ordex_order_wait_ms: Annotated[int, Field(ge=0, le=60_000)] = 2000


# ----- errors ------------------------------------------------------------------------------------


def invalid(message: str, field: str | None = None) -> ServiceError:
    return ServiceError(400, "VALIDATION_ERROR", message, field=field)


def order_not_found() -> ServiceError:
    return ServiceError(404, "ORDER_NOT_FOUND", "Order not found")


def contract_error(error: ServiceError) -> ServiceError:
    """An exchange error as `/api/orders` answers it: the contract's field names, 400 for
    everything the order itself is at fault for (the contract knows no 422)."""
    message = _EXCHANGE_NAMES.sub(lambda m: CONTRACT_NAMES[m.group()], error.message)
    name = CONTRACT_NAMES.get(error.field, error.field) if error.field else None
    if error.code == "MARKET_NOT_FOUND":
        return invalid(message, "market")
    if error.code == "INVALID_ORDER":
        return ServiceError(400, "VALIDATION_ERROR" if name else "INVALID_ORDER", message,
                            field=name)  # fmt: skip
    if error.code == "INSUFFICIENT_MARGIN":
        return ServiceError(
            400, "INSUFFICIENT_FUNDS", "Insufficient funds: the available balance or margin "
            "does not cover the order"
        )  # fmt: skip
    if error.code == "ORDER_NOT_OPEN":
        return ServiceError(400, "ORDER_NOT_OPEN", message)
    return ServiceError(error.status_code, error.code, message, field=name)


# ----- the request ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManualOrderRequest:
    request: OrderRequest
    expires_at: datetime | None = None


def _text(data: Mapping[str, object], name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid(f"{name} is required", name)
        return None
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{name} must be a non-empty string", name)
    return value.strip()


def _number(data: Mapping[str, object], name: str) -> Decimal | int | None:
    """A JSON number (read as Decimal, never float) or a decimal string; the exchange's parser
    then checks it is positive and in range."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        number = decimal_from_text(value.strip())
        if number is None:
            raise invalid(f"{name} must be a number", name)
        return number
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise invalid(f"{name} must be a number", name)
    return value


def _expiry(value: object) -> int:
    """`expiresAt` in engine time (milliseconds since the epoch): an ISO 8601 time (UTC when it
    names no offset) or an integer of milliseconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        millis = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise invalid("expiresAt must be an ISO 8601 time", "expiresAt") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        millis = (moment - EPOCH) // timedelta(milliseconds=1)
    else:
        raise invalid("expiresAt must be an ISO 8601 time or epoch milliseconds", "expiresAt")
    if not 0 < millis < MAX_EXPIRY_MS:
        raise invalid("expiresAt is out of range", "expiresAt")
    return millis


def parse_manual_order(data: object) -> ManualOrderRequest:
    """The body of `POST /api/orders`, validated with the exchange's own parser; raises 400
    VALIDATION_ERROR naming the contract's field."""
    if not isinstance(data, dict):
        raise invalid("The body must be a JSON object")
    for name in data:
        if name not in BODY_FIELDS:
            raise invalid(f"Unknown field {name!r}", str(name))
    market = cast(str, _text(data, "market", required=True))
    order_type = cast(str, _text(data, "orderType", required=True)).upper()
    order_type = ORDER_TYPE_ALIASES.get(order_type, order_type)
    if order_type not in ORDER_TYPES:
        allowed = ", ".join((*ORDER_TYPES, *ORDER_TYPE_ALIASES))
        raise invalid(f"orderType must be one of {allowed}", "orderType")
    stop_price = _number(data, "stopPrice")
    if stop_price is not None and order_type not in CONDITIONAL:
        raise invalid("stopPrice is only for stop and take-profit orders", "stopPrice")
    time_in_force = data.get("timeInForce")
    expire_at: int | None = None
    if data.get("expiresAt") is not None:
        if order_type not in LIMIT_PRICED:
            raise invalid("expiresAt is for limit orders (GTD)", "expiresAt")
        expire_at = _expiry(data["expiresAt"])
        time_in_force = "GTD" if time_in_force is None else time_in_force
    exchange_body = {
        "marketId": market,
        "side": data.get("side"),
        "type": order_type,
        "quantity": _number(data, "quantity"),
        "price": _number(data, "price"),
        "triggerPrice": stop_price,
        "timeInForce": time_in_force,
        "expireAt": expire_at,
        "clientOrderId": data.get("clientOrderId"),
        "postOnly": data.get("postOnly"),
        "reduceOnly": data.get("reduceOnly"),
        "leverage": data.get("leverage"),
    }
    try:
        request = parse_order_request(exchange_body)
    except ExchangeError as error:
        raise contract_error(error) from None
    expires_at = None if expire_at is None else EPOCH + timedelta(milliseconds=expire_at)
    return ManualOrderRequest(request, expires_at)


# ----- the engine's answers ----------------------------------------------------------------------


@dataclass(slots=True)
class _Waiter:
    future: asyncio.Future[list[dict[str, Any]]]
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Answer:
    """The engine's events for one command, and whether the persister has committed them."""

    events: list[dict[str, Any]]
    last_seq: int
    stored: bool


async def _close_quietly(connection: asyncpg.Connection | None, listener_id: uuid.UUID) -> None:
    """Ends a listening connection, its lease first (best effort: a lease expires anyway)."""
    if connection is not None:
        with suppress(Exception):
            await repo.drop_progress_lease(connection, listener_id)
        with suppress(Exception):
            await connection.close(timeout=2)


def _account_of(event: Mapping[str, Any]) -> int | None:
    account = event.get("account", event.get("taker_account"))
    return account if isinstance(account, int) else None


class EngineAnswers:
    """The engine's answers to commands, by `cmd_id`, for the waiters of one API process.

    Use: `async with answers.expecting(account, market): submit; await answers.wait(...)`.
    `expecting` positions the reader on the market's events stream and starts listening to the
    persister's progress (PostgreSQL `LISTEN market_progress`, see the migration) before the
    command exists, and keeps the account's answers that arrive before their waiter does. The
    reader and the listening connection stop `linger_seconds` after the last waiter.
    """

    def __init__(
        self,
        redis: RedisClient,
        dsn: str | None = None,
        *,
        block_ms: int = 1000,
        linger_seconds: float = 10.0,
        batch: int = 500,
        buffer_max: int = 10_000,
    ) -> None:
        self._redis = redis
        self._dsn = dsn
        self._block_ms = block_ms
        self._linger = linger_seconds
        self._batch = batch
        self._buffer_max = buffer_max
        self._positions: dict[str, str] = {}
        self._expected: Counter[int] = Counter()
        self._waiters: dict[int, _Waiter] = {}
        self._buffer: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._idle_since = time.monotonic()
        self._listener: asyncpg.Connection | None = None
        self._applied: dict[str, int] = {}
        self._progressed = asyncio.Event()
        self._closed = False
        self._closing: asyncio.Future[None] | None = None
        self._listener_id = uuid.uuid4()
        self._lease_renewed = 0.0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @asynccontextmanager
    async def expecting(self, account_id: int, market_id: str) -> AsyncIterator[None]:
        self._expected[account_id] += 1
        try:
            await self._follow(market_id)
            yield
        finally:
            self._expected[account_id] -= 1
            if self._expected[account_id] <= 0:
                del self._expected[account_id]
            if not self._expected:
                self._buffer.clear()
                self._idle_since = time.monotonic()

    async def wait(self, market_id: str, cmd_id: int, within: float) -> Answer | None:
        """The answer to command `cmd_id` of the market, or None when the engine gave none
        `within` seconds; `stored` says whether the persister committed it in that time too."""
        deadline = time.monotonic() + within
        events = self._buffer.pop(cmd_id, None)
        if events is None:
            events = await self._events(cmd_id, within)
        if not events:
            return None
        last_seq = max(int(e.get("seq", 0)) for e in events)
        return Answer(events, last_seq, await self._stored(market_id, last_seq, deadline))

    async def _events(self, cmd_id: int, within: float) -> list[dict[str, Any]] | None:
        if within <= 0:
            return None
        waiter = _Waiter(asyncio.get_running_loop().create_future())
        self._waiters[cmd_id] = waiter
        try:
            return await asyncio.wait_for(waiter.future, within)
        except TimeoutError:
            return None
        finally:
            self._waiters.pop(cmd_id, None)
            if not self._waiters:
                self._idle_since = time.monotonic()

    async def _stored(self, market_id: str, seq: int, deadline: float) -> bool:
        """Until the persister announces it has committed the market's events up to `seq`."""
        while self._applied.get(market_id, 0) < seq:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._listener is None or self._listener.is_closed():
                return False
            with suppress(TimeoutError):
                await asyncio.wait_for(self._progressed.wait(), remaining)
        return True

    def _on_progress(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        market_id, _, seq = str(payload).rpartition(":")
        with suppress(ValueError):
            if int(seq) > self._applied.get(market_id, 0):
                self._applied[market_id] = int(seq)
                # Wakes every waiter once; each checks its own market and seq again.
                woken, self._progressed = self._progressed, asyncio.Event()
                woken.set()

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        self._positions.clear()
        listener, self._listener = self._listener, None
        await _close_quietly(listener, self._listener_id)
        if self._closing is not None:
            await self._closing

    async def _follow(self, market_id: str) -> None:
        """Positions the reader at the newest entry of the market's events stream (if it is not
        reading it already), listens to the persister's progress, and makes sure the reader
        runs: every later event and commit reaches it. A failure here only costs the answer
        (the waiter gets none, or an answer the persister did not confirm), never the order."""
        stream = events_stream(market_id)
        async with self._lock:
            if stream not in self._positions:
                try:
                    newest = cast(
                        list[tuple[bytes, Any]], await self._redis.xrevrange(stream, count=1)
                    )
                except (RedisError, OSError) as exc:
                    log.warning("manual orders cannot follow engine events", error=str(exc))
                    return
                self._positions[stream] = newest[0][0].decode() if newest else "0-0"
            try:
                if self._dsn is not None and (self._listener is None or self._listener.is_closed()):
                    self._listener = await self._listen(self._dsn)
                elif self._listener is not None and (
                    time.monotonic() - self._lease_renewed > LEASE_RENEW_SECONDS
                ):
                    await self._renew(self._listener)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("manual orders cannot listen to the persister", error=str(exc))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="manual-order-answers")

    async def _listen(self, dsn: str) -> asyncpg.Connection:
        listener = await asyncpg.connect(
            dsn, server_settings={"application_name": "ordex manual orders"}
        )
        # A lease of its own: the one of a connection still closing is dropped apart.
        self._listener_id = uuid.uuid4()
        try:
            await listener.add_listener(PROGRESS_CHANNEL, self._on_progress)
            await self._renew(listener)
        except BaseException:
            await _close_quietly(listener, self._listener_id)
            raise
        return listener

    async def _renew(self, listener: asyncpg.Connection) -> None:
        """The persister's trigger announces commits while this lease holds (committed before
        any order this process then waits for)."""
        await repo.hold_progress_lease(listener, self._listener_id, PROGRESS_LEASE_SECONDS)
        self._lease_renewed = time.monotonic()

    def _idle(self) -> bool:
        return (
            not self._expected
            and not self._waiters
            and time.monotonic() - self._idle_since >= self._linger
        )

    async def _run(self) -> None:
        delay = 0.5
        while True:
            if self._idle() or not self._positions or self._closed:
                # Stops in the same step as it decides to: a later `_follow` starts anew.
                self._positions.clear()
                self._buffer.clear()
                self._task = None
                listener, self._listener = self._listener, None
                if listener is not None:  # closed apart, so that `close()` can wait for it
                    self._closing = asyncio.ensure_future(
                        _close_quietly(listener, self._listener_id)
                    )
                return
            try:
                reply = cast(
                    list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
                    await self._redis.xread(
                        dict(self._positions),  # type: ignore[arg-type]
                        count=self._batch,
                        block=self._block_ms,
                    ),
                )
            except (RedisError, OSError) as exc:
                task = asyncio.current_task()
                if self._closed or (task is not None and task.cancelling()):
                    raise  # a cancellation redis-py reported as its own timeout
                log.warning("manual orders cannot read engine events", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.5
            answered: set[int] = set()
            for stream_name, entries in reply or []:
                self._positions[stream_name.decode()] = entries[-1][0].decode()
                for _entry_id, fields in entries:
                    with suppress(ValueError):
                        self._take(entry_events(fields), answered)
            for cmd_id in answered:
                waiter = self._waiters.get(cmd_id)
                if waiter is not None and not waiter.future.done():
                    waiter.future.set_result(waiter.events)

    def _take(self, events: list[dict[str, Any]], answered: set[int]) -> None:
        for event in events:
            cmd_id = event.get("cmd_id")
            if not isinstance(cmd_id, int):
                continue
            waiter = self._waiters.get(cmd_id)
            if waiter is not None:
                waiter.events.append(event)
                answered.add(cmd_id)
            elif self._expected and _account_of(event) in self._expected:
                self._buffer.setdefault(cmd_id, []).append(event)
                self._buffer.move_to_end(cmd_id)
                while len(self._buffer) > self._buffer_max:
                    self._buffer.popitem(last=False)


# ----- what an answer does to the order ------------------------------------------------------------


def answered_row(
    row: ManualOrderRow, events: list[dict[str, Any]], *, placing: bool
) -> ManualOrderRow:
    """The order as the persister will store it once it has applied `events` (the answer to the
    order's `place`, or to a `cancel` of it), over the row as stored before them."""
    status, quantity = row.status, row.quantity
    reject_reason, cancel_reason = row.reject_reason, row.cancel_reason
    traded, notional = Decimal(0), Decimal(0)
    for event in sorted(events, key=lambda e: int(e.get("seq", 0))):
        kind = event.get("type")
        if kind == "trade":
            if placing and row.id in (event.get("taker_order_id"), event.get("maker_order_id")):
                qty = Decimal(str(event["qty"]))
                traded += qty
                notional += Decimal(str(event["price"])) * qty
                done = row.filled_quantity + traded >= quantity
                status = "FILLED" if done else "PARTIALLY_FILLED"
            continue
        if event.get("order_id") != row.id:
            continue
        if kind == "accepted" and placing and status == "PENDING":
            status = "UNTRIGGERED" if row.type in CONDITIONAL else "OPEN"
        elif kind == "triggered":
            status = "OPEN"
        elif kind == "rejected" and placing:  # a refused cancel leaves the order as it is
            status, reject_reason = "REJECTED", event.get("reason")
        elif kind == "cancelled":
            status, cancel_reason = "CANCELLED", event.get("reason")
        elif kind == "expired":
            status = "EXPIRED"
        elif kind == "amended":
            quantity = row.filled_quantity + traded + Decimal(str(event["qty"]))
    filled, average = row.filled_quantity + traded, row.average_price
    if traded:
        if average is not None and row.filled_quantity:
            notional += average * row.filled_quantity
        average = (notional / filled).quantize(AVERAGE_PRICE_UNIT)
    return replace(
        row,
        status=status,
        quantity=quantity,
        filled_quantity=filled,
        average_price=average,
        reject_reason=reject_reason,
        cancel_reason=cancel_reason,
    )


# ----- the service -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderView:
    row: ManualOrderRow
    answered: bool
    """Whether the engine's answer came in time (False: the row as stored, PENDING for a new
    order)."""


class ManualOrders:
    """One per API process. Holds no database connection while it waits."""

    def __init__(
        self, pool: asyncpg.Pool, redis: RedisClient, dsn: str | None, *, wait_ms: int
    ) -> None:
        self._pool = pool
        self._redis = redis
        self.wait_seconds = wait_ms / 1000
        self.answers = EngineAnswers(redis, dsn)

    async def close(self) -> None:
        await self.answers.close()

    def _expecting(self, account_id: int, market_id: str) -> AbstractAsyncContextManager[None]:
        if self.wait_seconds <= 0:
            return nullcontext()  # no wait: nothing to follow
        return self.answers.expecting(account_id, market_id)

    async def place(
        self, registry: MarketRegistry, account_id: int, order: ManualOrderRequest
    ) -> OrderView:
        """Submits the order as `POST /orders` does (venue MANUAL) and waits for its answer.
        Raises 400 VALIDATION_ERROR / INVALID_ORDER / INSUFFICIENT_FUNDS, 409
        DUPLICATE_CLIENT_ORDER_ID; nothing is written then."""
        market = registry.find(order.request.market_id)
        if market is None:
            raise invalid(f"Market {order.request.market_id!r} not found", "market")
        async with self._expecting(account_id, market.id):
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    submitted = await orders_service.submit_order(
                        conn, self._redis, registry, account_id, order.request, venue="MANUAL"
                    )
                    if order.expires_at is not None:
                        await repo.set_expires_at(conn, submitted.inserted.id, order.expires_at)
            except ExchangeError as error:
                raise contract_error(error) from None
            answer = await self.answers.wait(market.id, submitted.outbox_id, self.wait_seconds)
        return await self._view(account_id, submitted.inserted.id, answer, placing=True)

    async def cancel(self, account_id: int, order_id: int) -> OrderView:
        """Queues the engine `cancel` and waits for its answer. An order already CANCELLED is
        answered as it is; another final order is 400 ORDER_NOT_OPEN."""
        async with self._pool.acquire() as conn:
            row = await _own_order(conn, account_id, order_id)
            if row.status not in LIVE_STATUSES:
                if row.status == "CANCELLED":
                    return OrderView(row, answered=True)
                raise ServiceError(400, "ORDER_NOT_OPEN", f"Order is already {row.status}")
        async with self._expecting(account_id, row.market_id):
            async with self._pool.acquire() as conn:
                try:
                    requested = await orders_service.cancel_order(conn, account_id, order_id)
                except ExchangeError as error:
                    if error.code != "ORDER_NOT_OPEN":
                        raise contract_error(error) from None
                    # Final since it was read: a cancel that came first is answered as one.
                    row = await _own_order(conn, account_id, order_id)
                    if row.status != "CANCELLED":
                        raise contract_error(error) from None
                    return OrderView(row, answered=True)
            answer = await self.answers.wait(row.market_id, requested.outbox_id, self.wait_seconds)
        return await self._view(account_id, order_id, answer, placing=False)

    async def _view(
        self,
        account_id: int,
        order_id: int,
        answer: Answer | None,
        *,
        placing: bool,
    ) -> OrderView:
        async with self._pool.acquire() as conn:
            found = await repo.get_order(conn, account_id, order_id)
        if found is None:  # the order was committed and orders are never deleted
            raise order_not_found()
        row, applied = found
        if answer is None:
            # The answer may have been stored since the wait gave up: then it counts as given.
            settled = row.status != "PENDING" if placing else row.status not in LIVE_STATUSES
            return OrderView(row, answered=settled)
        if applied < answer.last_seq:
            # The persister is behind (it did not commit within the wait): the row as it will be.
            row = answered_row(row, answer.events, placing=placing)
        return OrderView(row, answered=True)


async def _own_order(conn: Connection, account_id: int, order_id: int) -> ManualOrderRow:
    found = await repo.get_order(conn, account_id, order_id)
    if found is None:
        raise order_not_found()
    return found[0]


async def get_order(conn: Connection, account_id: int | None, order_id: int) -> ManualOrderRow:
    """The account's order; ORDER_NOT_FOUND for an unknown one or another account's."""
    if account_id is None:
        raise order_not_found()
    return await _own_order(conn, account_id, order_id)


async def list_orders(
    conn: Connection,
    account_id: int | None,
    *,
    market_id: str | None = None,
    status: str | None = None,
    side: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ManualOrderRow]:
    if account_id is None:
        return []
    return await repo.list_orders(
        conn,
        account_id,
        market_id=market_id,
        status=status,
        side=side,
        limit=limit,
        offset=offset,
    )
