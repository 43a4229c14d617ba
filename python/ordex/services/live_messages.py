"""Users' live messages in the WebSocket envelope `{"type", "timestamp", "data"}`, made from the
exchange's engine events.

- `accepted` -> `order_update` NEW; `cancelled` -> CANCELED; `expired` -> EXPIRED; `rejected` ->
  REJECTED;
- `trade` -> a `trade` message and an `order_update` (PARTIALLY_FILLED or FILLED) for the taker's
  and the maker's owner; on a perpetual market also a `position_update` for both, read once the
  persister has applied the trade (the position is the persisted one, never a guess).

`agent_status`, `system_status` and `error` messages come from other parts of the platform through
`publish()`: RedisClient channel `live:user:{userId}` for one user, `live:broadcast` for everyone; every
API process relays them to its clients.

Executed quantities are followed in memory from the order's `accepted` event; for an order accepted
before this process started reading, the persisted order (and how far the persister got) gives the
starting point.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import asyncpg
import orjson

from ordex.db import live as live_repo
from ordex.logging import get_logger
from ordex.redis_client import RedisClient
from ordex.services.markets import MarketRegistry
from ordex.services.ordex_market_data import ccxt_symbol
from ordex.streams import top_of_book_key

log = get_logger(__name__)

USER_CHANNEL_PREFIX = "live:user:"
BROADCAST_CHANNEL = "live:broadcast"
MESSAGE_TYPES = (
    "position_update",
    "order_update",
    "trade",
    "agent_status",
    "system_status",
    "error",
    "notification",
    "mark_price",
    "funding",
    "liquidation",
    "adl",
    "ping",
    "pong",
)
TRACKED_ORDERS = 100_000
POSITION_WAIT_SECONDS = 5.0

# (user id or None for everyone, message) -> delivered to this process's clients
MessageSink = Callable[[uuid.UUID | None, dict[str, Any]], Awaitable[None]]
# users with a live client in this process
AudienceCheck = Callable[[uuid.UUID], bool]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(message_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": message_type, "timestamp": now_iso(), "data": data}


async def publish(
    redis: RedisClient, message_type: str, data: dict[str, Any], user_id: uuid.UUID | None = None
) -> None:
    """Sends a message to one user's live clients, or to everyone's, in every API process."""
    channel = BROADCAST_CHANNEL if user_id is None else f"{USER_CHANNEL_PREFIX}{user_id}"
    await redis.publish(channel, orjson.dumps(envelope(message_type, data)))


@dataclass(slots=True)
class TrackedOrder:
    account_id: int
    symbol: str
    side: str
    type: str
    quantity: Decimal
    executed: Decimal


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


class UserMessages:
    """Turns engine events into the owners' messages and hands them to the sinks."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        redis: RedisClient,
        registry: MarketRegistry,
        audience: AudienceCheck,
    ) -> None:
        self._pool = pool
        self._redis = redis
        self._registry = registry
        self._audience = audience
        self._sinks: list[MessageSink] = []
        self._owners: dict[int, uuid.UUID | None] = {}
        self._orders: OrderedDict[int, TrackedOrder] = OrderedDict()
        self._pending: set[asyncio.Task[None]] = set()

    def add_sink(self, sink: MessageSink) -> None:
        self._sinks.append(sink)

    async def close(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)

    async def _deliver(self, user_id: uuid.UUID, message: dict[str, Any]) -> None:
        for sink in self._sinks:
            await sink(user_id, message)

    async def _owners_of(self, accounts: set[int]) -> dict[int, uuid.UUID | None]:
        unknown = [a for a in accounts if a not in self._owners]
        if unknown:
            async with self._pool.acquire() as conn:
                found = await live_repo.users_of_accounts(conn, unknown)
            for account in unknown:
                self._owners[account] = found.get(account)  # the house account has no user
        return {a: self._owners[a] for a in accounts}

    async def on_engine_events(self, market_id: str, events: list[dict[str, Any]]) -> None:
        market = self._registry.find(market_id)
        if market is None:
            return
        accounts = {
            int(a)
            for e in events
            for a in (
                e.get("account"),
                e.get("taker_account"),
                e.get("maker_account"),
                e.get("counterparty"),
            )
            if a is not None
        }
        accounts.update(
            int(p[0]) for e in events if e.get("type") == "funding" for p in e.get("payments") or ()
        )
        owners = await self._owners_of(accounts)
        symbol = ccxt_symbol(market)
        for event in events:
            await asyncio.sleep(0)  # the clients' writers drain between events of a burst
            kind = event.get("type")
            if kind == "trade":
                await self._on_trade(market_id, symbol, market.is_perp, event, owners)
            elif kind in ("accepted", "cancelled", "expired", "rejected"):
                await self._on_order_event(symbol, event, owners)
            elif kind == "funding":
                await self._on_funding(market_id, symbol, event, owners)
            elif kind in ("liquidation", "adl"):
                await self._on_risk_event(symbol, event, owners)

    async def _on_risk_event(
        self, symbol: str, event: dict[str, Any], owners: dict[int, uuid.UUID | None]
    ) -> None:
        """`liquidation` to the liquidated account's owner (its order then reports like any
        order); `adl` to both sides, each with its own side."""
        qty, price = Decimal(str(event["qty"])), float(event["price"])
        side = str(event["side"])
        if event["type"] == "liquidation":
            order_id = int(event["order_id"])
            account = int(event["account"])
            self._track(order_id, TrackedOrder(account, symbol, side, "LIMIT", qty, Decimal(0)))
            user = owners.get(account)
            if user is not None and self._audience(user):
                data = {"order_id": str(order_id), "symbol": symbol, "side": side,
                        "quantity": float(qty), "price": price}  # fmt: skip
                await self._deliver(user, envelope("liquidation", data))
            return
        other = "BUY" if side == "SELL" else "SELL"
        for account, own_side, role in ((event["account"], side, "deleveraged"),
                                        (event["counterparty"], other, "counterparty")):  # fmt: skip
            user = owners.get(int(account))
            if user is not None and self._audience(user):
                data = {"symbol": symbol, "side": own_side, "quantity": float(qty),
                        "price": price, "role": role}  # fmt: skip
                await self._deliver(user, envelope("adl", data))

    async def _on_funding(
        self,
        market_id: str,
        symbol: str,
        event: dict[str, Any],
        owners: dict[int, uuid.UUID | None],
    ) -> None:
        """A `funding` message to each owner of a position paid or paid to (negative: paid)."""
        funding_time = datetime.fromtimestamp(int(event["interval"]) / 1000, tz=UTC)
        for account, amount in event.get("payments") or ():
            user = owners.get(int(account))
            if user is None or not self._audience(user):
                continue
            data = {
                "market_id": market_id,
                "symbol": symbol,
                "rate": float(event["rate"]),
                "mark_price": float(event["mark"]),
                "amount": float(amount),
                "funding_time": funding_time.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"
                ),
            }
            await self._deliver(user, envelope("funding", data))

    def _track(self, order_id: int, order: TrackedOrder) -> None:
        self._orders[order_id] = order
        self._orders.move_to_end(order_id)
        while len(self._orders) > TRACKED_ORDERS:
            self._orders.popitem(last=False)

    async def _on_order_event(
        self, symbol: str, event: dict[str, Any], owners: dict[int, uuid.UUID | None]
    ) -> None:
        account = int(event["account"])
        order_id = int(event["order_id"])
        kind = event["type"]
        if kind == "accepted":
            self._track(
                order_id,
                TrackedOrder(
                    account,
                    symbol,
                    str(event.get("side")),
                    str(event.get("order_type", "LIMIT")),
                    Decimal(str(event.get("qty", "0"))),
                    Decimal(0),
                ),
            )
        user = owners.get(account)
        if user is None or not self._audience(user):
            if kind != "accepted":
                self._orders.pop(order_id, None)
            return
        order = self._orders.get(order_id) or await self._load_order(order_id, event, Decimal(0))
        status = {
            "accepted": "NEW",
            "cancelled": "CANCELED",
            "expired": "EXPIRED",
            "rejected": "REJECTED",
        }[kind]
        data = self._order_data(order_id, order, symbol, event, status)
        if kind == "rejected" or kind == "cancelled":
            data["reason"] = event.get("reason")
        if kind != "accepted":
            self._orders.pop(order_id, None)
        await self._deliver(user, envelope("order_update", data))

    def _order_data(
        self,
        order_id: int,
        order: TrackedOrder | None,
        symbol: str,
        event: dict[str, Any],
        status: str,
    ) -> dict[str, Any]:
        return {
            "order_id": str(order_id),
            "symbol": symbol,
            "side": order.side if order else event.get("side"),
            "type": order.type if order else event.get("order_type"),
            "status": status,
            "quantity": _num(order.quantity) if order else _num(event.get("qty")),
            "executed_quantity": _num(order.executed) if order else 0.0,
            "filled_at": now_iso() if status == "FILLED" else None,
        }

    async def _load_order(
        self, order_id: int, event: dict[str, Any], this_fill: Decimal
    ) -> TrackedOrder | None:
        async with self._pool.acquire() as conn:
            state, applied = await live_repo.order_state(conn, order_id)
        if state is None:
            return None
        executed = state.filled_quantity
        if applied >= int(event.get("seq", 0)):
            executed -= this_fill  # the persisted quantity already counts this event
        market = self._registry.find(state.market_id)
        symbol = ccxt_symbol(market) if market else state.market_id
        order = TrackedOrder(
            state.account_id, symbol, state.side, state.type, state.quantity, executed
        )
        self._track(order_id, order)
        return order

    async def _on_trade(
        self,
        market_id: str,
        symbol: str,
        is_perp: bool,
        event: dict[str, Any],
        owners: dict[int, uuid.UUID | None],
    ) -> None:
        qty = Decimal(str(event["qty"]))
        price = float(event["price"])
        seq = int(event.get("seq", 0))
        taker_side = str(event["taker_side"])
        maker_side = "SELL" if taker_side == "BUY" else "BUY"
        for role, side in (("taker", taker_side), ("maker", maker_side)):
            account = int(event[f"{role}_account"])
            order_id = int(event[f"{role}_order_id"])
            user = owners.get(account)
            order = self._orders.get(order_id)
            if user is None or not self._audience(user):
                if order is not None:
                    order.executed += qty
                continue
            if order is None:
                order = await self._load_order(order_id, event, qty)
            if order is not None:
                order.executed += qty
            status = (
                "FILLED" if order is not None and order.executed >= order.quantity else
                "PARTIALLY_FILLED"
            )  # fmt: skip
            executed_at = now_iso()
            await self._deliver(
                user,
                envelope(
                    "trade",
                    {
                        "trade_id": f"{market_id}-{seq}-{role}",
                        "order_id": str(order_id),
                        "symbol": symbol,
                        "side": side,
                        "price": price,
                        "quantity": float(qty),
                        "commission": float(event.get(f"{role}_fee", "0")),
                        "executed_at": executed_at,
                    },
                ),
            )
            data = self._order_data(order_id, order, symbol, event, status)
            data["side"] = side
            await self._deliver(user, envelope("order_update", data))
            if status == "FILLED":
                self._orders.pop(order_id, None)
            if is_perp:
                self._spawn(self._position_update(user, account, market_id, symbol, seq))

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _position_update(
        self, user: uuid.UUID, account: int, market_id: str, symbol: str, seq: int
    ) -> None:
        """The persisted position once the persister has applied the trade `seq`."""
        deadline = time.monotonic() + POSITION_WAIT_SECONDS
        async with self._pool.acquire() as conn:
            while await live_repo.applied_seq(conn, market_id) < seq:
                if time.monotonic() > deadline:
                    log.warning("position update skipped: trade not persisted", market=market_id)
                    return
                await asyncio.sleep(0.05)
            found = await live_repo.position(conn, account, market_id)
        if found is None:
            return
        size, cost, realized = found
        entry = cost / abs(size) if size else Decimal(0)
        last = cast(bytes | None, await self._redis.hget(top_of_book_key(market_id), "last"))
        unrealized = (Decimal(last.decode()) - entry) * size if last and size else Decimal(0)
        await self._deliver(
            user,
            envelope(
                "position_update",
                {
                    "position_id": f"{market_id}:{account}",
                    "session_id": None,
                    "symbol": symbol,
                    "side": "LONG" if size > 0 else "SHORT" if size < 0 else "FLAT",
                    "entry_price": float(entry),
                    "quantity": float(abs(size)),
                    "unrealized_pnl": float(unrealized),
                    "realized_pnl": float(realized),
                },
            ),
        )
