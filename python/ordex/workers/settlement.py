"""Settlement: what a batch of engine events does to orders, fills, positions, balances and the
ledger. Pure computation over state loaded by the persister; no I/O here.

Amounts are exact integers while a batch is applied: quantities in lots, prices in ticks,
perpetual positions in lots and quote atoms (through the engine's `ordex.apply_fill`, so the
database and the engine agree to the atom), and balance and ledger amounts in units of
`10^-scale` of their asset, a scale fine enough for every notional, fee and hold of the market.
They become decimal text only once per row written, and PostgreSQL stores them as NUMERIC.

The ledger gets one entry per (account, asset, kind) and batch: the sum of that batch's trade,
fee and realized PnL amounts. What each fill moved is on its `fills` row (price, quantity, fee,
realized PnL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, cast

import ordex
from ordex.db.funding import FundingSettled
from ordex.db.settlement import SettledRows
from ordex.services.markets import Market, decimal_places
from ordex.workers.settlement_funding import apply_funding
from ordex.workers.settlement_risk import RISK_EVENTS, RiskBatch, apply_risk_event

HOUSE_ACCOUNT = 1
LIVE = frozenset({"PENDING", "OPEN", "PARTIALLY_FILLED", "UNTRIGGERED"})
CONDITIONAL = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
AVERAGE_PRICE_UNIT = Decimal("1e-12")
# The columns `Settlement.load` takes, in this order (`db.settlement` selects them so).


def places(text: str) -> int:
    """Digits after the point of a plain decimal text (`0.50` -> 2)."""
    return len(text.partition(".")[2])


def to_units(text: str, scale: int) -> int:
    """A plain decimal text (as PostgreSQL and the engine write them) in units of `10^-scale`;
    ValueError if it has non-zero digits beyond them."""
    if text == "0":
        return 0
    whole, _, frac = text.partition(".")
    if len(frac) > scale:
        if frac[scale:].strip("0"):
            raise ValueError(f"{text} has more than {scale} decimal places")
        frac = frac[:scale]
    return int(whole + frac.ljust(scale, "0"))


def units_text(units: int, scale: int) -> str:
    """Units of `10^-scale` as plain decimal text without trailing zeros (exact)."""
    if scale == 0:
        return str(units)
    digits = str(abs(units)).rjust(scale + 1, "0")
    text = f"{digits[:-scale]}.{digits[-scale:]}".rstrip("0").rstrip(".")
    return "-" + text if units < 0 else text


def _exact_int(value: Decimal) -> int:
    if value != value.to_integral_value():
        raise ValueError(f"{value} is not a whole number of units")
    return int(value)


@dataclass(frozen=True, slots=True)
class Units:
    """The integer scales of one batch. Quote amounts are in `10^-quote_scale`, base amounts in
    `10^-base_scale`; `atom`, `lot` and `notional` are one quote atom, one lot and one
    tick times one lot in those units."""

    quote_scale: int
    base_scale: int
    atom: int
    lot: int
    notional: int

    @classmethod
    def of(cls, market: Market, quote_places: int = 0, base_places: int = 0) -> Units:
        """Scales for the market, at least `quote_places`/`base_places` decimals (what the rows
        loaded for the batch carry: a hold never needs rounding to fit)."""
        row = market.row
        lot_places = decimal_places(row.lot_size)
        quote_scale = max(
            row.quote_decimals, decimal_places(row.tick_size) + lot_places, quote_places
        )
        base_scale = max(lot_places, base_places)
        return cls(
            quote_scale=quote_scale,
            base_scale=base_scale,
            atom=10 ** (quote_scale - row.quote_decimals),
            lot=_exact_int(row.lot_size.scaleb(base_scale)),
            notional=_exact_int((row.tick_size * row.lot_size).scaleb(quote_scale)),
        )


@dataclass(slots=True)
class OrderState:
    id: int
    account_id: int
    side: str
    type: str
    quantity: int  # lots
    filled: int  # lots
    status: str
    hold_asset: str
    hold_amount: int  # units of the hold asset
    hold_released: int
    average_price: str | None = None  # as loaded: the fills of earlier batches
    # Quantity, filled quantity and hold released as loaded, integers and text: most orders
    # of a batch only change status, and their amounts are written back as they came.
    loaded: tuple[int, int, int] = (0, 0, 0)
    loaded_text: tuple[str, str, str] = ("0", "0", "0")
    notional: int = 0  # ticks x lots of this batch's fills
    reject_reason: str | None = None
    cancel_reason: str | None = None
    changed: bool = False
    leverage: int | None = None  # perpetuals: the isolated margin of what the order opens


@dataclass(slots=True)
class PositionState:
    size: int  # lots, negative when short
    cost: int  # quote atoms
    realized_before: Decimal  # as loaded
    realized: int = 0  # quote atoms realized in this batch
    changed: bool = False
    isolated: bool = False  # margin mode ISOLATED (docs/exchange.md, "Isolated margin")
    margin: int = 0  # isolated margin, quote atoms


@dataclass(slots=True)
class Settlement:
    """Everything one batch changes, ready to be written in one transaction."""

    market: Market
    units: Units
    orders: dict[int, OrderState]
    positions: dict[int, PositionState]
    # (seq, order_id, account_id, side, liquidity, price, quantity, fee, realized_pnl): the
    # amounts as decimal text, price, quantity and fee exactly as the event gives them.
    fills: list[tuple[int, int, int, str, str, str, str, str, str]] = field(default_factory=list)
    ledger: dict[tuple[int, str, str], int] = field(default_factory=dict)
    # (account, asset) -> [total, held] deltas in the asset's units.
    balances: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    last_seq: int = 0
    skipped: int = 0
    funding: list[FundingSettled] = field(default_factory=list)  # settlement_funding.py
    risk: RiskBatch = field(default_factory=RiskBatch)  # settlement_risk.py
    _ticks: dict[str, int] = field(default_factory=dict)
    _lots: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        market: Market,
        orders: Iterable[Sequence[Any]],
        positions: Iterable[Sequence[Any]] = (),
    ) -> Settlement:
        """A batch over the rows as `db.settlement` loads them: `ORDER_COLUMNS` and
        `POSITION_COLUMNS` in that order, amounts as text."""
        order_rows, position_rows = list(orders), list(positions)
        try:
            return cls._load(market, Units.of(market), order_rows, position_rows)
        except ValueError:
            pass
        # A row with more decimals than the market's units (not one the intake writes): the
        # batch takes finer units rather than rounding it.
        quote = market.row.quote_asset
        quote_places = base_places = 0
        for r in order_rows:
            p = max(places(r[9]), places(r[10]))
            if r[8] == quote:
                quote_places = max(quote_places, p)
            else:
                base_places = max(base_places, p)
            base_places = max(base_places, places(r[4]), places(r[5]))
        for r in position_rows:
            base_places = max(base_places, places(r[1]))
        return cls._load(market, Units.of(market, quote_places, base_places), order_rows,
                         position_rows)  # fmt: skip

    @classmethod
    def _load(
        cls,
        market: Market,
        units: Units,
        order_rows: list[Sequence[Any]],
        position_rows: list[Sequence[Any]],
    ) -> Settlement:
        quote = market.row.quote_asset
        qs, bs, lot = units.quote_scale, units.base_scale, units.lot

        def lots(text: str) -> int:
            count, rest = divmod(to_units(text, bs), lot)
            if rest:
                raise ValueError(f"{text} is not a whole number of lots")
            return count

        loaded = {}
        for row in order_rows:
            # Rows without the leverage column (before isolated margin) are read too.
            leverage = row[13] if len(row) > 13 else None
            (
                order_id,
                account_id,
                side,
                order_type,
                quantity,
                filled_quantity,
                average_price,
                status,
                hold_asset,
                hold_amount,
                hold_released,
                reject_reason,
                cancel_reason,
            ) = row[:13]
            scale = qs if hold_asset == quote else bs
            amounts = (lots(quantity), lots(filled_quantity), to_units(hold_released, scale))
            loaded[order_id] = OrderState(
                order_id,
                account_id,
                side,
                order_type,
                amounts[0],
                amounts[1],
                status,
                hold_asset,
                to_units(hold_amount, scale),
                amounts[2],
                average_price,
                amounts,
                (quantity, filled_quantity, hold_released),
                0,
                reject_reason,
                cancel_reason,
                leverage=leverage,
            )
        qd = market.row.quote_decimals
        held = {}
        for account_id, size, cost, realized, *mode in position_rows:
            isolated = bool(mode) and mode[0] == "ISOLATED"
            held[account_id] = PositionState(
                lots(size),
                to_units(cost, qd),
                Decimal(realized),
                isolated=isolated,
                margin=to_units(mode[1], qd) if isolated else 0,
            )
        return cls(market, units, loaded, held)

    # ----- helpers -----------------------------------------------------------------------------

    def _move(self, account_id: int, asset: str, kind: str, amount: int) -> None:
        if not amount:
            return
        key = (account_id, asset)
        balance = self.balances.get(key)
        if balance is None:
            self.balances[key] = [amount, 0]
        else:
            balance[0] += amount
        entry = (account_id, asset, kind)
        self.ledger[entry] = self.ledger.get(entry, 0) + amount

    def _release(self, order: OrderState, target: int) -> None:
        """Releases the order's hold up to `target` (cumulative)."""
        release = target - order.hold_released
        if release > 0:
            key = (order.account_id, order.hold_asset)
            balance = self.balances.get(key)
            if balance is None:
                self.balances[key] = [0, -release]
            else:
                balance[1] -= release
            order.hold_released = target
            order.changed = True

    def _atom_of(self, asset: str) -> int:
        return self.units.atom if asset == self.market.row.quote_asset else self.units.lot

    def _scale_of(self, asset: str) -> int:
        u = self.units
        return u.quote_scale if asset == self.market.row.quote_asset else u.base_scale

    # ----- events --------------------------------------------------------------------------------

    def apply_all(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        self.last_seq = event["seq"]
        if kind == "book_delta":
            return
        if kind == "trade":
            self._trade(event)
            return
        if kind == "funding":
            apply_funding(self, event)
            return
        if kind in RISK_EVENTS:
            apply_risk_event(self, event)
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
            # Only an order the engine never accepted is rejected; a refused cancel or amend of a
            # live or finished order (ORDER_NOT_FOUND after a fill or an earlier cancel) leaves
            # the order as it is, and its hold released once.
            if order.status == "PENDING":
                order.status = "REJECTED"
                order.reject_reason = event.get("reason")
                self._release(order, order.hold_amount)
        elif kind == "cancelled":
            order.status = "CANCELLED"
            order.cancel_reason = event.get("reason")
            self._release(order, order.hold_amount)
        elif kind == "expired":
            order.status = "EXPIRED"
            self._release(order, order.hold_amount)
        elif kind == "amended":
            # The new open quantity (a reduce-only clip, or an amend): the total follows it.
            order.quantity = order.filled + self._lots_of(event["qty"])

    def _ticks_of(self, price: str) -> int:
        ticks = self._ticks.get(price)
        if ticks is None:
            ticks = self._ticks[price] = self.market.config.price_to_ticks(price)
        return ticks

    def _lots_of(self, qty: str) -> int:
        lots = self._lots.get(qty)
        if lots is None:
            # Not the engine's qty_to_lots: an open quantity may be zero, which it refuses.
            lots, rest = divmod(to_units(qty, self.units.base_scale), self.units.lot)
            if rest:
                raise ValueError(f"{qty} is not a whole number of lots")
            self._lots[qty] = lots
        return lots

    def _trade(self, event: dict[str, Any]) -> None:
        price, qty = event["price"], event["qty"]
        ticks, lots = self._ticks_of(price), self._lots_of(qty)
        taker_side = event["taker_side"]
        maker_side = "SELL" if taker_side == "BUY" else "BUY"
        sides = (
            (int(event["taker_order_id"]), taker_side, "TAKER", event["taker_fee"]),
            (int(event["maker_order_id"]), maker_side, "MAKER", event["maker_fee"]),
        )
        seq = event["seq"]
        quote_scale = self.units.quote_scale
        for order_id, side, liquidity, fee in sides:
            order = self.orders.get(order_id)
            if order is None:
                self.skipped += 1
                continue
            realized = self._settle(
                order.account_id, side, ticks, lots, to_units(fee, quote_scale), order.leverage
            )
            self.fills.append(
                (seq, order_id, order.account_id, side, liquidity, price, qty, fee, realized)
            )
            order.filled += lots
            order.notional += ticks * lots
            order.changed = True
            if order.filled >= order.quantity:
                order.status = "FILLED"
                self._release(order, order.hold_amount)
            else:
                order.status = "PARTIALLY_FILLED"
                # The hold in proportion to the fill, rounded down to the asset's atom.
                atom = self._atom_of(order.hold_asset)
                share = order.hold_amount * order.filled // (order.quantity * atom) * atom
                self._release(order, share)

    def _settle(
        self,
        account_id: int,
        side: str,
        ticks: int,
        lots: int,
        fee: int,
        leverage: int | None = None,
    ) -> str:
        """Moves the fill's amounts for one side; returns its realized PnL as decimal text."""
        m, u = self.market, self.units
        quote = m.row.quote_asset
        self._move(account_id, quote, "FEE", -fee)
        self._move(HOUSE_ACCOUNT, quote, "FEE", fee)
        if not m.is_perp:
            sign = 1 if side == "BUY" else -1
            self._move(account_id, quote, "TRADE", -sign * ticks * lots * u.notional)
            self._move(account_id, m.row.base_asset, "TRADE", sign * lots * u.lot)
            return "0"
        realized = self.position_fill(
            account_id, side, ticks, lots, "REALIZED_PNL", fee // u.atom, leverage
        )
        return units_text(realized, m.row.quote_decimals)

    def position_fill(
        self,
        account_id: int,
        side: str,
        ticks: int,
        lots: int,
        kind: str,
        fee_atoms: int,
        leverage: int | None,
    ) -> int:
        """A perpetual position's side of a fill or of a deleveraging: the position moves, its
        realized PnL (quote atoms, returned) is booked as `kind` against the house, and an
        isolated position's margin follows."""
        m, u = self.market, self.units
        quote = m.row.quote_asset
        position = self.positions.get(account_id)
        if position is None:
            position = self.positions[account_id] = PositionState(0, 0, Decimal(0))
        before = position.size
        size, cost, realized, closed = ordex.apply_fill(
            m.config,
            position.size,
            position.cost,
            cast(Literal["BUY", "SELL"], side),
            ticks,
            lots,
        )
        position.size, position.cost = size, cost
        position.realized += realized
        position.changed = True
        self._move(account_id, quote, kind, realized * u.atom)
        self._move(HOUSE_ACCOUNT, quote, kind, -realized * u.atom)
        if position.isolated:
            self.isolated_fill(
                account_id, position, before, closed, realized, fee_atoms, leverage, ticks, lots
            )
        return realized

    def isolated_fill(
        self,
        account_id: int,
        position: PositionState,
        before: int,
        closed: int,
        realized: int,
        fee: int,
        leverage: int | None,
        ticks: int,
        lots: int,
    ) -> None:
        """The isolated margin after a fill (quote atoms; the balance moves are the fill's as
        for cross, the margin is an earmark of the total). The closed part takes its share of
        the margin (all of it when the position closes) and its realized PnL less the fee: what
        is left goes back to the cross collateral, a loss beyond it comes out of the margin
        that stays, and a loss beyond the whole margin is the position's deficit, covered by
        the insurance fund (`settle_risk`). What the fill opens earmarks its initial margin at
        the fill price and the order's leverage, out of the cross collateral."""
        margin = position.margin
        if closed:
            whole = abs(before)
            share = margin if closed >= whole else margin * closed // whole
            outcome = share + realized - fee
            margin -= share
            if outcome >= 0:
                released = self.risk.isolated_released
                released[account_id] = released.get(account_id, 0) + outcome
            else:
                margin += outcome
                if margin < 0:
                    deficits = self.risk.isolated_deficits
                    deficits[account_id] = deficits.get(account_id, 0) - margin
                    margin = 0
        opened = lots - closed
        if opened > 0:
            config = self.market.config
            lever = min(max(leverage or 1, 1), config.max_leverage)
            margin += ordex.initial_margin(config, opened, ticks, lever)
        if position.size == 0:
            margin = 0  # nothing left to back (a remainder of rounding goes back)
        position.margin = margin
        position.changed = True

    # ----- rows to write ---------------------------------------------------------------------

    def rows(self) -> SettledRows:
        """What the batch changed, for `db.settlement.write`."""
        changed = [o for o in self.orders.values() if o.changed]
        positions = sorted((a, p) for a, p in self.positions.items() if p.changed)
        deltas = [(key, d) for key, d in sorted(self.balances.items()) if d[0] or d[1]]
        return SettledRows(
            market_id=self.market.id,
            quote_asset=self.market.row.quote_asset,
            last_seq=self.last_seq,
            order_ids=[o.id for o in changed],
            order_statuses=[o.status for o in changed],
            order_texts=[self.order_texts(o) for o in changed],
            reject_reasons=[o.reject_reason for o in changed],
            cancel_reasons=[o.cancel_reason for o in changed],
            position_accounts=[a for a, _ in positions],
            position_texts=[
                (*self.position_texts(p), units_text(p.margin, self.market.row.quote_decimals))
                for _, p in positions
            ],
            balance_keys=[key for key, _ in deltas],
            balance_totals=[self.amount_text(key[1], d[0]) for key, d in deltas],
            balance_helds=[self.amount_text(key[1], d[1]) for key, d in deltas],
            fills=self.fills,
            ledger=[
                (account, asset, kind, self.amount_text(asset, amount))
                for (account, asset, kind), amount in sorted(self.ledger.items())
                if amount
            ],
            funding=self.funding,
        )

    def amount_text(self, asset: str, units: int) -> str:
        return units_text(units, self._scale_of(asset))

    def qty_text(self, lots: int) -> str:
        return units_text(lots * self.units.lot, self.units.base_scale)

    def order_texts(self, order: OrderState) -> tuple[str, str, str | None, str]:
        """Quantity, filled quantity, average price and hold released of an order as text."""
        quantity, filled, released = order.loaded
        text = order.loaded_text
        return (
            text[0] if order.quantity == quantity else self.qty_text(order.quantity),
            text[1] if order.filled == filled else self.qty_text(order.filled),
            self.average_price(order),
            text[2]
            if order.hold_released == released
            else self.amount_text(order.hold_asset, order.hold_released),
        )

    def average_price(self, order: OrderState) -> str | None:
        """The volume-weighted price of all the order's fills, to 12 decimals."""
        if not order.notional:
            return order.average_price
        u = self.units
        notional = Decimal(units_text(order.notional * u.notional, u.quote_scale))
        if order.average_price is not None and order.loaded[1]:
            notional += Decimal(order.average_price) * Decimal(order.loaded_text[1])
        average = (notional / Decimal(self.qty_text(order.filled))).quantize(AVERAGE_PRICE_UNIT)
        return format(average, "f")

    def position_texts(self, position: PositionState) -> tuple[str, str, str]:
        """Size, cost and realized PnL of a position as decimal text."""
        qd = self.market.row.quote_decimals
        size = self.qty_text(abs(position.size))
        if position.size < 0:
            size = "-" + size
        realized = position.realized_before + Decimal(units_text(position.realized, qd))
        return size, units_text(position.cost, qd), format(realized, "f")
