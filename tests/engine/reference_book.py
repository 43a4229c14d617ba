"""A deliberately simple pure-Python order book with the engine's matching semantics.

It is the oracle of the differential test: every rule is spelled out once, in the plainest form
(a dict of price -> FIFO list per side, a full re-scan wherever that is easiest), so a reader can
check it against the documented behaviour line by line. It covers LIMIT and MARKET orders,
GTC/IOC/FOK/GTD, post-only, self-trade prevention, client order ids, cancel, cancel-all, amend,
time, fees, conditional orders (stop-loss and take-profit, by last or mark price, cascading) and
reduce-only orders against perpetual positions, with `book_delta` events.

Events are plain dicts shaped like `ordex.Event.to_dict()`, so streams compare with `==`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

EventDict = dict[str, int | str | bool | None]

RATE_SCALE = 100_000_000
MAX_TICKS = 1_000_000_000_000_000
MAX_LOTS = 1_000_000_000_000_000


def fee(notional: int, rate: int) -> int:
    """Fee in quote atoms at `rate` (1e-8 units): charged fees round up, rebates toward zero."""
    amount = abs(notional) * abs(rate)
    if rate >= 0:
        return -(-amount // RATE_SCALE)
    return -(amount // RATE_SCALE)


def buy_protection_price(best_ask: int, band: int) -> int:
    """Highest price a market buy may pay: the band above the best ask, rounded down."""
    return min(best_ask * (RATE_SCALE + band) // RATE_SCALE, MAX_TICKS)


def sell_protection_price(best_bid: int, band: int) -> int:
    """Lowest price a market sell may take: the band below the best bid, rounded up."""
    return max(-(-best_bid * (RATE_SCALE - band) // RATE_SCALE), 1)


CONDITIONAL_TYPES = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
LIMIT_PRICED_TYPES = ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")


def triggers_on_rise(order_type: str, side: str) -> bool:
    """A buy stop-loss and a sell take-profit fire when the price rises to the trigger; a sell
    stop-loss and a buy take-profit when it falls to it."""
    if order_type.startswith("STOP_LOSS"):
        return side == "BUY"
    return side == "SELL"


def sign(side: str) -> int:
    return 1 if side == "BUY" else -1


@dataclass
class Order:
    """A live order: resting in the book, waiting for its trigger, or on its way in."""

    order_id: int
    account: int
    side: str
    order_type: str
    tif: str
    price: int | None  # limit price once resting; a market order's own protection price or None
    qty: int  # open (remaining) lots
    arrival: int
    filled: int = 0
    expire_at: int | None = None
    post_only: bool = False
    reduce_only: bool = False
    stp: str = "NONE"
    client_order_id: str | None = None
    trigger_price: int | None = None
    trigger_by: str = "LAST_PRICE"

    @property
    def limit(self) -> int:
        assert self.price is not None
        return self.price


@dataclass
class ReferenceBook:
    """One market's book. Rates are integers in 1e-8 units, like the engine's."""

    atoms_per_tick_lot: int
    maker_fee: int
    taker_fee: int
    price_band: int
    min_qty: int = 1
    perpetual: bool = True
    bids: dict[int, list[Order]] = field(default_factory=dict)
    asks: dict[int, list[Order]] = field(default_factory=dict)
    # Conditional orders waiting for their trigger, by id.
    stops: dict[int, Order] = field(default_factory=dict)
    # Net position per account in lots (perpetuals).
    positions: dict[int, int] = field(default_factory=dict)
    seq: int = 0
    arrival: int = 0
    now: int = 0
    last_price: int | None = None
    mark_price: int | None = None
    # Levels touched by the current command, in first-touch order.
    _touched: list[tuple[str, int]] = field(default_factory=list)
    # Lowest and highest trade price since triggers last looked, and a mark price not yet seen.
    _trade_range: tuple[int, int] | None = None
    _pending_mark: int | None = None
    _out: list[EventDict] = field(default_factory=list)

    # ----- helpers -------------------------------------------------------------------------------

    def side_levels(self, side: str) -> dict[int, list[Order]]:
        return self.bids if side == "BUY" else self.asks

    def best_price(self, side: str) -> int | None:
        levels = self.side_levels(side)
        if not levels:
            return None
        return max(levels) if side == "BUY" else min(levels)

    def all_orders(self) -> list[Order]:
        """Bids best to worst, then asks best to worst, FIFO within a level."""
        result: list[Order] = []
        for price in sorted(self.bids, reverse=True):
            result.extend(self.bids[price])
        for price in sorted(self.asks):
            result.extend(self.asks[price])
        return result

    def find(self, order_id: int) -> Order | None:
        for order in self.all_orders():
            if order.order_id == order_id:
                return order
        return None

    def depth(self, levels: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        def summary(side: str) -> list[tuple[int, int, int]]:
            book = self.side_levels(side)
            prices = sorted(book, reverse=side == "BUY")[:levels]
            return [(p, sum(o.qty for o in book[p]), len(book[p])) for p in prices]

        return summary("BUY"), summary("SELL")

    def level_orders(self, side: str, price: int) -> list[Order]:
        return list(self.side_levels(side).get(price, []))

    def _emit(self, kind: str, **fields: int | str | bool | None) -> None:
        self.seq += 1
        event: EventDict = {"kind": kind, "seq": self.seq}
        event.update(fields)
        self._out.append(event)

    def _reject(self, order_id: int, account: int, reason: str) -> None:
        self._emit("rejected", order_id=order_id, account=account, reason=reason)

    def _touch(self, side: str, price: int) -> None:
        if (side, price) not in self._touched:
            self._touched.append((side, price))

    def _remove(self, order: Order) -> None:
        levels = self.side_levels(order.side)
        levels[order.limit].remove(order)
        if not levels[order.limit]:
            del levels[order.limit]
        self._touch(order.side, order.limit)

    def reducible(self, account: int, side: str) -> int:
        """Lots an order on `side` may reduce: the size of an opposite position, else 0."""
        position = self.positions.get(account, 0)
        return abs(position) if position * sign(side) < 0 else 0

    def _cancel_resting(self, order: Order, reason: str) -> None:
        self._remove(order)
        self._emit(
            "cancelled",
            order_id=order.order_id,
            account=order.account,
            remaining=order.qty,
            reason=reason,
        )

    def _finish_command(self) -> list[EventDict]:
        """After every command: release triggered orders, keep reduce-only orders within their
        positions, then one `book_delta` per touched level."""
        self._run_triggers()
        self._enforce_reduce_only()
        for side, price in self._touched:
            orders = self.side_levels(side).get(price, [])
            self._emit(
                "book_delta",
                side=side,
                price=price,
                qty=sum(o.qty for o in orders),
                orders=len(orders),
            )
        out, self._out, self._touched = self._out, [], []
        return out

    @staticmethod
    def _crosses(side: str, limit: int, level_price: int) -> bool:
        return level_price <= limit if side == "BUY" else level_price >= limit

    def _would_take(self, side: str, price: int) -> bool:
        best = self.best_price("SELL" if side == "BUY" else "BUY")
        return best is not None and self._crosses(side, price, best)

    # ----- commands ------------------------------------------------------------------------------

    def place(
        self,
        order_id: int,
        account: int,
        side: str,
        price: int | None,
        qty: int,
        *,
        order_type: str = "LIMIT",
        time_in_force: str | None = None,
        trigger_price: int | None = None,
        trigger_by: str = "LAST_PRICE",
        expire_at: int | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        stp: str = "NONE",
        client_order_id: str | None = None,
    ) -> list[EventDict]:
        default_tif = "GTC" if order_type in LIMIT_PRICED_TYPES else "IOC"
        order = Order(
            order_id=order_id,
            account=account,
            side=side,
            order_type=order_type,
            tif=time_in_force or default_tif,
            price=price,
            qty=qty,
            arrival=0,
            expire_at=expire_at,
            post_only=post_only,
            reduce_only=reduce_only,
            stp=stp,
            client_order_id=client_order_id,
            trigger_price=trigger_price,
            trigger_by=trigger_by,
        )
        reason = self._validate(order)
        if reason is not None:
            self._reject(order_id, account, reason)
            return self._finish_command()
        self._emit(
            "accepted",
            order_id=order_id,
            account=account,
            side=side,
            order_type=order_type,
            price=price,
            qty=qty,
        )
        self.arrival += 1
        order.arrival = self.arrival
        if order_type in CONDITIONAL_TYPES:
            self.stops[order_id] = order
        else:
            self._execute(order)
        return self._finish_command()

    def _validate(self, o: Order) -> str | None:
        """The first rejection reason that applies, in the engine's order of checks."""
        conditional = o.order_type in CONDITIONAL_TYPES
        market_like = o.order_type not in LIMIT_PRICED_TYPES
        if o.qty <= 0 or o.qty > MAX_LOTS:
            return "INVALID_QUANTITY"
        if o.qty < self.min_qty:
            return "BELOW_MIN_QUANTITY"
        if o.price is not None and (o.price <= 0 or o.price > MAX_TICKS):
            return "INVALID_PRICE"
        if o.price is None and not market_like:
            return "MISSING_PRICE"
        if conditional:
            if o.trigger_price is None:
                return "MISSING_TRIGGER_PRICE"
            if o.trigger_price <= 0 or o.trigger_price > MAX_TICKS:
                return "INVALID_PRICE"
        elif o.trigger_price is not None:
            return "UNEXPECTED_TRIGGER_PRICE"
        if market_like and o.tif in ("GTC", "GTD"):
            return "INVALID_TIME_IN_FORCE"
        if o.tif == "GTD":
            if o.expire_at is None:
                return "MISSING_EXPIRE_TIME"
            if o.expire_at <= self.now:
                return "EXPIRE_TIME_IN_PAST"
        elif o.expire_at is not None:
            return "INVALID_TIME_IN_FORCE"
        if o.post_only and (market_like or conditional or o.tif not in ("GTC", "GTD")):
            return "POST_ONLY_NOT_ALLOWED"
        if o.reduce_only:
            if not self.perpetual:
                return "REDUCE_ONLY_NOT_ALLOWED"
            # A conditional one is checked against the position when it triggers.
            if not conditional and self.reducible(o.account, o.side) == 0:
                return "REDUCE_ONLY_WOULD_INCREASE"
        if self.find(o.order_id) is not None or o.order_id in self.stops:
            return "DUPLICATE_ORDER_ID"
        live = self.all_orders() + list(self.stops.values())
        if o.client_order_id is not None and any(
            x.account == o.account and x.client_order_id == o.client_order_id for x in live
        ):
            return "DUPLICATE_CLIENT_ORDER_ID"
        if o.post_only and o.price is not None and self._would_take(o.side, o.price):
            return "POST_ONLY_WOULD_TAKE"
        if conditional:
            reference = self.last_price if o.trigger_by == "LAST_PRICE" else self.mark_price
            if reference is not None and self._reached(o, reference, reference):
                return "WOULD_TRIGGER_IMMEDIATELY"
        return None

    def _execute(self, order: Order) -> None:
        """Matches an order entering the book (placed, amended or triggered) and rests or ends
        what is left."""
        if order.reduce_only:
            allowed = self.reducible(order.account, order.side)
            if allowed == 0:
                self._emit_cancel(order, "REDUCE_ONLY")
                return
            if order.qty > allowed:
                # Clipped to the position it may reduce.
                order.qty = allowed
                self._emit_amended(order, order.price or 0, allowed, priority_kept=True)
        is_market = order.order_type == "MARKET"
        if is_market:
            market_limit = self._market_limit(order.side, order.price)
            if market_limit is None:
                self._emit_cancel(order, "NO_LIQUIDITY")
                return
            limit = market_limit
        else:
            limit = order.limit
        if order.tif == "FOK" and not self._fills_completely(order, limit):
            self._emit_cancel(order, "FOK_NOT_FILLABLE")
            return
        stopped_by_stp = self._match(order, limit)
        if order.qty == 0:
            return
        rests = not is_market and order.tif in ("GTC", "GTD")
        if stopped_by_stp:
            self._emit_cancel(order, "SELF_TRADE_TAKER")
        elif not rests:
            self._emit_cancel(order, "IOC_REMAINDER")
        else:
            self.side_levels(order.side).setdefault(limit, []).append(order)
            self._touch(order.side, limit)

    def _emit_cancel(self, order: Order, reason: str) -> None:
        self._emit(
            "cancelled",
            order_id=order.order_id,
            account=order.account,
            remaining=order.qty,
            reason=reason,
        )

    def _market_limit(self, side: str, own_price: int | None) -> int | None:
        if side == "BUY":
            best_ask = self.best_price("SELL")
            if best_ask is None:
                return None
            band_limit = buy_protection_price(best_ask, self.price_band)
            return band_limit if own_price is None else min(own_price, band_limit)
        best_bid = self.best_price("BUY")
        if best_bid is None:
            return None
        band_limit = sell_protection_price(best_bid, self.price_band)
        return band_limit if own_price is None else max(own_price, band_limit)

    def _fills_completely(self, order: Order, limit: int) -> bool:
        """FOK: run the whole match on a throwaway copy and see whether nothing is left."""
        trial = copy.deepcopy(self)
        trial_order = copy.deepcopy(order)
        trial._match(trial_order, limit)
        return trial_order.qty == 0

    def _match(self, taker: Order, limit: int) -> bool:
        """Trades `taker` (its `qty` goes down) against the opposite side up to `limit`, best
        price first, FIFO within a level. Returns whether self-trade prevention stopped it."""
        opposite = "SELL" if taker.side == "BUY" else "BUY"
        while taker.qty > 0:
            level_price = self.best_price(opposite)
            if level_price is None or not self._crosses(taker.side, limit, level_price):
                return False
            self._touch(opposite, level_price)
            for maker in list(self.side_levels(opposite)[level_price]):
                if taker.qty == 0:
                    break
                if maker.account == taker.account and taker.stp != "NONE":
                    if taker.stp in ("EXPIRE_MAKER", "EXPIRE_BOTH"):
                        self._cancel_resting(maker, "SELF_TRADE_MAKER")
                    if taker.stp in ("EXPIRE_TAKER", "EXPIRE_BOTH"):
                        return True
                    continue
                self._trade(taker, maker, level_price)
        return False

    def _trade(self, taker: Order, maker: Order, price: int) -> None:
        qty = min(taker.qty, maker.qty)
        notional = price * qty * self.atoms_per_tick_lot
        self._emit(
            "trade",
            side=taker.side,
            price=price,
            qty=qty,
            taker_order_id=taker.order_id,
            taker_account=taker.account,
            maker_order_id=maker.order_id,
            maker_account=maker.account,
            taker_fee=fee(notional, self.taker_fee),
            maker_fee=fee(notional, self.maker_fee),
        )
        taker.qty -= qty
        taker.filled += qty
        maker.qty -= qty
        maker.filled += qty
        self.last_price = price
        low, high = self._trade_range or (price, price)
        self._trade_range = (min(low, price), max(high, price))
        if self.perpetual:
            for account, delta in (
                (taker.account, sign(taker.side) * qty),
                (maker.account, -sign(taker.side) * qty),
            ):
                self.positions[account] = self.positions.get(account, 0) + delta
                if self.positions[account] == 0:
                    del self.positions[account]
        if maker.qty == 0:
            self._remove(maker)

    def cancel(self, order_id: int, account: int) -> list[EventDict]:
        order = self.find(order_id) or self.stops.get(order_id)
        if order is None or order.account != account:
            self._reject(order_id, account, "ORDER_NOT_FOUND")
        elif order_id in self.stops:
            del self.stops[order_id]
            self._emit_cancel(order, "USER")
        else:
            self._cancel_resting(order, "USER")
        return self._finish_command()

    def cancel_all(self, account: int) -> list[EventDict]:
        for order in self.all_orders():
            if order.account == account:
                self._cancel_resting(order, "CANCEL_ALL")
        for stop in sorted(self.stops.values(), key=lambda o: o.arrival):
            if stop.account == account:
                del self.stops[stop.order_id]
                self._emit_cancel(stop, "CANCEL_ALL")
        return self._finish_command()

    def amend(
        self, order_id: int, account: int, price: int | None, qty: int | None
    ) -> list[EventDict]:
        order = self.find(order_id)
        if order is None or order.account != account:
            stop = self.stops.get(order_id)
            waiting = stop is not None and stop.account == account
            self._reject(order_id, account, "AMEND_NOT_ALLOWED" if waiting else "ORDER_NOT_FOUND")
            return self._finish_command()
        new_price = order.limit if price is None else price
        new_qty = order.qty if qty is None else qty
        if new_price <= 0 or new_price > MAX_TICKS:
            self._reject(order_id, account, "INVALID_PRICE")
        elif new_qty <= 0 or new_qty > MAX_LOTS:
            self._reject(order_id, account, "INVALID_QUANTITY")
        elif new_price == order.price and new_qty <= order.qty:
            # Shrinking in place keeps the queue position.
            order.qty = new_qty
            self._touch(order.side, order.limit)
            self._emit_amended(order, new_price, new_qty, priority_kept=True)
        elif order.post_only and self._would_take(order.side, new_price):
            self._reject(order_id, account, "POST_ONLY_WOULD_TAKE")
        else:
            # A new price or a larger quantity is a fresh arrival: to the back, and it may trade.
            self._remove(order)
            self.arrival += 1
            self._emit_amended(order, new_price, new_qty, priority_kept=False)
            order.price, order.qty, order.arrival = new_price, new_qty, self.arrival
            order.order_type = "LIMIT"
            self._execute(order)
        return self._finish_command()

    def _emit_amended(self, order: Order, price: int, qty: int, priority_kept: bool) -> None:
        self._emit(
            "amended",
            order_id=order.order_id,
            account=order.account,
            price=price,
            qty=qty,
            priority_kept=priority_kept,
        )

    def advance_time(self, now: int) -> list[EventDict]:
        if now > self.now:
            self.now = now
            live = self.all_orders() + list(self.stops.values())
            due = [o for o in live if o.expire_at is not None and o.expire_at <= now]
            for order in sorted(due, key=lambda o: (o.expire_at or 0, o.arrival)):
                if order.order_id in self.stops:
                    del self.stops[order.order_id]
                else:
                    self._remove(order)
                self._emit(
                    "expired", order_id=order.order_id, account=order.account, remaining=order.qty
                )
        return self._finish_command()

    def set_mark_price(self, price: int) -> list[EventDict]:
        if price <= 0 or price > MAX_TICKS:
            self._reject(0, 0, "INVALID_PRICE")
        else:
            self.mark_price = price
            self._pending_mark = price
        return self._finish_command()

    # ----- after every command -------------------------------------------------------------------

    @staticmethod
    def _reached(stop: Order, low: int, high: int) -> bool:
        """Whether prices spanning `low..high` reach the stop's trigger."""
        assert stop.trigger_price is not None
        if triggers_on_rise(stop.order_type, stop.side):
            return high >= stop.trigger_price
        return low <= stop.trigger_price

    def _run_triggers(self) -> None:
        """Releases every conditional order whose trigger the command's trades (last price) or a
        new mark price reached, oldest first; their own trades may release more."""
        while True:
            trades, self._trade_range = self._trade_range, None
            mark, self._pending_mark = self._pending_mark, None
            fired: list[Order] = []
            mark_span = None if mark is None else (mark, mark)
            for stop in self.stops.values():
                span = trades if stop.trigger_by == "LAST_PRICE" else mark_span
                if span is not None and self._reached(stop, *span):
                    fired.append(stop)
            if not fired:
                return
            fired.sort(key=lambda o: o.arrival)
            for stop in fired:
                del self.stops[stop.order_id]
            for stop in fired:
                assert stop.trigger_price is not None
                self._emit(
                    "triggered",
                    order_id=stop.order_id,
                    account=stop.account,
                    trigger_price=stop.trigger_price,
                )
                self.arrival += 1  # enters the book behind every resting order
                stop.arrival = self.arrival
                stop.order_type = "LIMIT" if stop.order_type in LIMIT_PRICED_TYPES else "MARKET"
                self._execute(stop)

    def _enforce_reduce_only(self) -> None:
        """Resting reduce-only orders never exceed the position: those on the increasing side (or
        against no position) are cancelled, and the position size is spent oldest order first,
        the newest shrinking or going when it runs out."""
        resting = [o for o in self.all_orders() if o.reduce_only]
        for account in sorted({o.account for o in resting}):
            budget: int | None = None
            for order in sorted(
                (o for o in resting if o.account == account), key=lambda o: o.arrival
            ):
                allowed = self.reducible(account, order.side)
                if allowed == 0:
                    self._cancel_resting(order, "REDUCE_ONLY")
                    continue
                if budget is None:
                    budget = allowed
                keep = min(order.qty, budget)
                budget -= keep
                if keep == 0:
                    self._cancel_resting(order, "REDUCE_ONLY")
                elif keep < order.qty:
                    order.qty = keep
                    self._touch(order.side, order.limit)
                    self._emit_amended(order, order.limit, keep, priority_kept=True)
