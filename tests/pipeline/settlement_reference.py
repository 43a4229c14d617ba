"""The Decimal settlement the persister ran before its integer one, kept as the reference the
integer settlement is checked against (`test_settlement.py`): every amount a `Decimal`, one ledger
entry per fill and kind."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal, cast

import ordex
from ordex.services.markets import Market

HOUSE_ACCOUNT = 1
LIVE = frozenset({"PENDING", "OPEN", "PARTIALLY_FILLED", "UNTRIGGERED"})
CONDITIONAL = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
ZERO = Decimal(0)


@dataclass(slots=True)
class OrderState:
    id: int
    account_id: int
    side: str
    type: str
    quantity: Decimal
    filled: Decimal
    notional: Decimal
    status: str
    hold_asset: str
    hold_amount: Decimal
    hold_released: Decimal
    reject_reason: str | None = None
    cancel_reason: str | None = None
    changed: bool = False

    @property
    def average_price(self) -> Decimal | None:
        if self.filled == 0:
            return None
        return (self.notional / self.filled).quantize(Decimal("1e-12"))


@dataclass(slots=True)
class PositionState:
    size: Decimal
    cost: Decimal
    realized_pnl: Decimal
    changed: bool = False


@dataclass(slots=True)
class Fill:
    seq: int
    order_id: int
    account_id: int
    side: str
    liquidity: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    realized_pnl: Decimal


@dataclass(slots=True)
class LedgerEntry:
    account_id: int
    asset: str
    kind: str
    amount: Decimal


@dataclass(slots=True)
class Settlement:
    """Everything one batch changes, ready to be written in one transaction."""

    market: Market
    orders: dict[int, OrderState]
    positions: dict[int, PositionState]
    fills: list[Fill] = field(default_factory=list)
    ledger: list[LedgerEntry] = field(default_factory=list)
    balances: defaultdict[tuple[int, str], list[Decimal]] = field(
        default_factory=lambda: defaultdict(lambda: [ZERO, ZERO])
    )
    last_seq: int = 0
    skipped: int = 0

    # ----- helpers -----------------------------------------------------------------------------

    def _move(self, account_id: int, asset: str, kind: str, amount: Decimal) -> None:
        if amount == 0:
            return
        self.balances[(account_id, asset)][0] += amount
        self.ledger.append(LedgerEntry(account_id, asset, kind, amount))

    def _release(self, order: OrderState, target: Decimal) -> None:
        """Releases the order's hold up to `target` (cumulative)."""
        release = target - order.hold_released
        if release > 0:
            self.balances[(order.account_id, order.hold_asset)][1] -= release
            order.hold_released = target
            order.changed = True

    def _release_all(self, order: OrderState) -> None:
        self._release(order, order.hold_amount)

    def _atom_of(self, asset: str) -> Decimal:
        row = self.market.row
        return Decimal(1).scaleb(-row.quote_decimals) if asset == row.quote_asset else row.lot_size

    # ----- events --------------------------------------------------------------------------------

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        self.last_seq = event["seq"]
        if kind == "book_delta":
            return
        if kind == "trade":
            self._trade(event)
            return
        order = self.orders.get(int(event.get("order_id", 0)))
        if order is None:
            self.skipped += 1
            return
        order.changed = True
        if kind == "accepted":
            if order.status == "PENDING":
                order.status = "UNTRIGGERED" if order.type in CONDITIONAL else "OPEN"
        elif kind == "triggered":
            order.status = "OPEN"
        elif kind == "rejected":
            if order.status == "PENDING":
                order.status = "REJECTED"
                order.reject_reason = event.get("reason")
                self._release_all(order)
        elif kind == "cancelled":
            order.status = "CANCELLED"
            order.cancel_reason = event.get("reason")
            self._release_all(order)
        elif kind == "expired":
            order.status = "EXPIRED"
            self._release_all(order)
        elif kind == "amended":
            # The new open quantity (a reduce-only clip, or an amend): the total follows it.
            order.quantity = order.filled + Decimal(event["qty"])

    def _trade(self, event: dict[str, Any]) -> None:
        price, qty = Decimal(event["price"]), Decimal(event["qty"])
        price_ticks = self.market.config.price_to_ticks(event["price"])
        taker_side = event["taker_side"]
        maker_side = "SELL" if taker_side == "BUY" else "BUY"
        sides = (
            (int(event["taker_order_id"]), taker_side, "TAKER", Decimal(event["taker_fee"])),
            (int(event["maker_order_id"]), maker_side, "MAKER", Decimal(event["maker_fee"])),
        )
        for order_id, side, liquidity, fee in sides:
            order = self.orders.get(order_id)
            if order is None:
                self.skipped += 1
                continue
            realized = self._settle(order.account_id, side, price, qty, fee, price_ticks)
            self.fills.append(
                Fill(
                    event["seq"],
                    order_id,
                    order.account_id,
                    side,
                    liquidity,
                    price,
                    qty,
                    fee,
                    self.market.row.quote_asset,
                    realized,
                )
            )
            order.filled += qty
            order.notional += price * qty
            order.status = "FILLED" if order.filled >= order.quantity else "PARTIALLY_FILLED"
            order.changed = True
            if order.status == "FILLED":
                self._release_all(order)
            else:
                share = order.hold_amount * order.filled / order.quantity
                self._release(
                    order, share.quantize(self._atom_of(order.hold_asset), rounding=ROUND_DOWN)
                )

    def _settle(
        self,
        account_id: int,
        side: str,
        price: Decimal,
        qty: Decimal,
        fee: Decimal,
        price_ticks: int,
    ) -> Decimal:
        m = self.market
        quote, base = m.row.quote_asset, m.row.base_asset
        self._move(account_id, quote, "FEE", -fee)
        self._move(HOUSE_ACCOUNT, quote, "FEE", fee)
        if not m.is_perp:
            notional = price * qty
            sign = Decimal(1) if side == "BUY" else Decimal(-1)
            self._move(account_id, quote, "TRADE", -sign * notional)
            self._move(account_id, base, "TRADE", sign * qty)
            return ZERO
        position = self.positions.setdefault(account_id, PositionState(ZERO, ZERO, ZERO))
        size_lots = m.qty_to_lots(abs(position.size)) * (1 if position.size >= 0 else -1)
        size, cost, realized_atoms, _closed = ordex.apply_fill(
            m.config,
            size_lots,
            m.quote_to_atoms(position.cost),
            cast(Literal["BUY", "SELL"], side),
            price_ticks,
            m.qty_to_lots(qty),
        )
        realized = m.atoms_to_quote(realized_atoms)
        position.size = m.lots_to_qty(abs(size)) * (1 if size >= 0 else -1)
        position.cost = m.atoms_to_quote(cost)
        position.realized_pnl += realized
        position.changed = True
        self._move(account_id, quote, "REALIZED_PNL", realized)
        self._move(HOUSE_ACCOUNT, quote, "REALIZED_PNL", -realized)
        return realized
