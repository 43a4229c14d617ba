"""A deliberately simple pure-Python order book with the engine's matching semantics.

It is the oracle of the differential test: every rule is spelled out once, in the plainest form
(a dict of price -> FIFO list per side, a full re-scan wherever that is easiest), so a reader can
check it against the documented behaviour line by line. It covers LIMIT and MARKET orders,
GTC/IOC/FOK/GTD, post-only, self-trade prevention, client order ids, cancel, cancel-all, amend,
time, mark-price validation, fees and `book_delta` events. Conditional and reduce-only orders are
out of its scope; the scenario tests cover them.

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


@dataclass
class RestingOrder:
    order_id: int
    account: int
    side: str
    price: int
    qty: int  # open (remaining) lots
    filled: int
    arrival: int
    tif: str
    expire_at: int | None
    post_only: bool
    stp: str
    client_order_id: str | None


@dataclass
class ReferenceBook:
    """One market's book. Rates are integers in 1e-8 units, like the engine's."""

    atoms_per_tick_lot: int
    maker_fee: int
    taker_fee: int
    price_band: int
    min_qty: int = 1
    bids: dict[int, list[RestingOrder]] = field(default_factory=dict)
    asks: dict[int, list[RestingOrder]] = field(default_factory=dict)
    seq: int = 0
    arrival: int = 0
    now: int = 0
    last_price: int | None = None
    mark_price: int | None = None
    # Levels touched by the current command, in first-touch order.
    _touched: list[tuple[str, int]] = field(default_factory=list)
    _out: list[EventDict] = field(default_factory=list)

    # ----- helpers -------------------------------------------------------------------------------

    def side_levels(self, side: str) -> dict[int, list[RestingOrder]]:
        return self.bids if side == "BUY" else self.asks

    def best_price(self, side: str) -> int | None:
        levels = self.side_levels(side)
        if not levels:
            return None
        return max(levels) if side == "BUY" else min(levels)

    def all_orders(self) -> list[RestingOrder]:
        """Bids best to worst, then asks best to worst, FIFO within a level."""
        result: list[RestingOrder] = []
        for price in sorted(self.bids, reverse=True):
            result.extend(self.bids[price])
        for price in sorted(self.asks):
            result.extend(self.asks[price])
        return result

    def find(self, order_id: int) -> RestingOrder | None:
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

    def level_orders(self, side: str, price: int) -> list[RestingOrder]:
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

    def _remove(self, order: RestingOrder) -> None:
        levels = self.side_levels(order.side)
        levels[order.price].remove(order)
        if not levels[order.price]:
            del levels[order.price]
        self._touch(order.side, order.price)

    def _cancel_resting(self, order: RestingOrder, reason: str) -> None:
        self._remove(order)
        self._emit(
            "cancelled",
            order_id=order.order_id,
            account=order.account,
            remaining=order.qty,
            reason=reason,
        )

    def _finish_command(self) -> list[EventDict]:
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
        expire_at: int | None = None,
        post_only: bool = False,
        stp: str = "NONE",
        client_order_id: str | None = None,
    ) -> list[EventDict]:
        assert order_type in ("LIMIT", "MARKET"), "conditional orders are out of scope"
        is_market = order_type == "MARKET"
        tif = time_in_force or ("IOC" if is_market else "GTC")
        reason = self._validate(
            order_id,
            account,
            side,
            price,
            qty,
            is_market,
            tif,
            expire_at,
            post_only,
            client_order_id,
        )
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
        incoming = RestingOrder(
            order_id=order_id,
            account=account,
            side=side,
            price=price or 0,
            qty=qty,
            filled=0,
            arrival=self.arrival,
            tif=tif,
            expire_at=expire_at,
            post_only=post_only,
            stp=stp,
            client_order_id=client_order_id,
        )
        self._execute(incoming, is_market=is_market, own_price=price)
        return self._finish_command()

    def _validate(
        self,
        order_id: int,
        account: int,
        side: str,
        price: int | None,
        qty: int,
        is_market: bool,
        tif: str,
        expire_at: int | None,
        post_only: bool,
        client_order_id: str | None,
    ) -> str | None:
        """The first rejection reason that applies, in the engine's documented order."""
        if qty <= 0 or qty > MAX_LOTS:
            return "INVALID_QUANTITY"
        if qty < self.min_qty:
            return "BELOW_MIN_QUANTITY"
        if price is not None and (price <= 0 or price > MAX_TICKS):
            return "INVALID_PRICE"
        if price is None and not is_market:
            return "MISSING_PRICE"
        if is_market and tif in ("GTC", "GTD"):
            return "INVALID_TIME_IN_FORCE"
        if tif == "GTD":
            if expire_at is None:
                return "MISSING_EXPIRE_TIME"
            if expire_at <= self.now:
                return "EXPIRE_TIME_IN_PAST"
        elif expire_at is not None:
            return "INVALID_TIME_IN_FORCE"
        if post_only and (is_market or tif not in ("GTC", "GTD")):
            return "POST_ONLY_NOT_ALLOWED"
        if self.find(order_id) is not None:
            return "DUPLICATE_ORDER_ID"
        if client_order_id is not None and any(
            o.account == account and o.client_order_id == client_order_id for o in self.all_orders()
        ):
            return "DUPLICATE_CLIENT_ORDER_ID"
        if post_only and price is not None and self._would_take(side, price):
            return "POST_ONLY_WOULD_TAKE"
        return None

    def _execute(self, order: RestingOrder, *, is_market: bool, own_price: int | None) -> None:
        """Matches an order that was just accepted (or amended) and rests or ends what is left."""
        if is_market:
            limit = self._market_limit(order.side, own_price)
            if limit is None:
                self._emit_cancel(order, "NO_LIQUIDITY")
                return
        else:
            limit = order.price
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
            order.price = limit
            self.side_levels(order.side).setdefault(limit, []).append(order)
            self._touch(order.side, limit)

    def _emit_cancel(self, order: RestingOrder, reason: str) -> None:
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

    def _fills_completely(self, order: RestingOrder, limit: int) -> bool:
        """FOK: run the whole match on a throwaway copy and see whether nothing is left."""
        trial = copy.deepcopy(self)
        trial_order = copy.deepcopy(order)
        trial._match(trial_order, limit)
        return trial_order.qty == 0

    def _match(self, taker: RestingOrder, limit: int) -> bool:
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

    def _trade(self, taker: RestingOrder, maker: RestingOrder, price: int) -> None:
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
        if maker.qty == 0:
            self._remove(maker)

    def cancel(self, order_id: int, account: int) -> list[EventDict]:
        order = self.find(order_id)
        if order is None or order.account != account:
            self._reject(order_id, account, "ORDER_NOT_FOUND")
        else:
            self._cancel_resting(order, "USER")
        return self._finish_command()

    def cancel_all(self, account: int) -> list[EventDict]:
        for order in self.all_orders():
            if order.account == account:
                self._cancel_resting(order, "CANCEL_ALL")
        return self._finish_command()

    def amend(
        self, order_id: int, account: int, price: int | None, qty: int | None
    ) -> list[EventDict]:
        order = self.find(order_id)
        if order is None or order.account != account:
            self._reject(order_id, account, "ORDER_NOT_FOUND")
            return self._finish_command()
        new_price = order.price if price is None else price
        new_qty = order.qty if qty is None else qty
        if new_price <= 0 or new_price > MAX_TICKS:
            self._reject(order_id, account, "INVALID_PRICE")
        elif new_qty <= 0 or new_qty > MAX_LOTS:
            self._reject(order_id, account, "INVALID_QUANTITY")
        elif new_price == order.price and new_qty <= order.qty:
            # Shrinking in place keeps the queue position.
            order.qty = new_qty
            self._touch(order.side, order.price)
            self._emit_amended(order, new_price, new_qty, priority_kept=True)
        elif order.post_only and self._would_take(order.side, new_price):
            self._reject(order_id, account, "POST_ONLY_WOULD_TAKE")
        else:
            # A new price or a larger quantity is a fresh arrival: to the back, and it may trade.
            self._remove(order)
            self.arrival += 1
            self._emit_amended(order, new_price, new_qty, priority_kept=False)
            order.price, order.qty, order.arrival = new_price, new_qty, self.arrival
            self._execute(order, is_market=False, own_price=new_price)
        return self._finish_command()

    def _emit_amended(self, order: RestingOrder, price: int, qty: int, priority_kept: bool) -> None:
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
            due = [o for o in self.all_orders() if o.expire_at is not None and o.expire_at <= now]
            for order in sorted(due, key=lambda o: (o.expire_at or 0, o.arrival)):
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
        return self._finish_command()
