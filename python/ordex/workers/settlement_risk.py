"""Settlement of liquidations and auto-deleveraging, in the persister's batch transaction.

While a batch is applied (`apply_risk_event`, dispatched by `Settlement.apply`):
- `liquidation`: the liquidation order is accepted, its quantity the one the engine clamped to
  the position; its fills that follow are ordinary trades (taker fee to the house);
- `adl`: both positions move by the quantity at the bankruptcy price, off the book, no fee; the
  realized PnL of each side is booked against the house (ledger kind ADL), like a fill's;
- `command_rejected` (a deleverage that found nothing to do) changes nothing.

Once the batch is written (`settle_risk`, same transaction, so exactly once with the market's
progress): each liquidation fill charges the liquidation fee (`notional * liquidation_fee_rate`,
at most what the account has left) to the insurance fund; then every account whose quote
balance the batch left below zero is brought back to zero by the fund, as far as the fund holds
(ledger kinds LIQUIDATION_FEE and INSURANCE on both sides). An isolated position (docs/exchange.md,
"Isolated margin") stakes only its margin: its liquidation fee is at most what its margin left
after the close, and the fund covers the loss its margin could not (what the settlement found
beyond it) rather than a balance below zero. Only batches with liquidations,
deleveraging or realized losses look at the balances: the others cost nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from ordex.db import risk as risk_db
from ordex.db.risk import INSURANCE_ACCOUNT, AdlApplied
from ordex.db.types import Connection

if TYPE_CHECKING:
    from ordex.workers.settlement import Settlement

RISK_EVENTS = frozenset({"liquidation", "adl", "command_rejected"})
# Kinds of ledger moves after which an account's quote balance may be below zero.
LOSSES = frozenset({"REALIZED_PNL", "ADL", "FUNDING"})


@dataclass(slots=True)
class RiskBatch:
    """What a batch's risk events leave for `settle_risk`."""

    liquidation_orders: dict[int, int] = field(default_factory=dict)  # order id -> event seq
    adl: list[AdlApplied] = field(default_factory=list)
    # Isolated positions, quote atoms per account: margin released to the cross collateral by
    # closing fills, and losses beyond the whole isolated margin (`Settlement.isolated_fill`).
    isolated_released: dict[int, int] = field(default_factory=dict)
    isolated_deficits: dict[int, int] = field(default_factory=dict)


def apply_risk_event(batch: Settlement, event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "liquidation":
        order_id = int(event["order_id"])
        batch.risk.liquidation_orders[order_id] = int(event["seq"])
        order = batch.orders.get(order_id)
        if order is None:
            batch.skipped += 1
            return
        order.changed = True
        if order.status == "PENDING":
            order.status = "OPEN"
        order.quantity = batch._lots_of(event["qty"])
    elif kind == "adl":
        _deleverage(batch, event)


def _deleverage(batch: Settlement, event: dict[str, Any]) -> None:
    # Imported here: settlement.py imports this module to dispatch the events.
    from ordex.workers.settlement import units_text

    market = batch.market
    ticks, lots = batch._ticks_of(event["price"]), batch._lots_of(event["qty"])
    side = str(event["side"])
    other = "BUY" if side == "SELL" else "SELL"
    realized_texts = []
    for account_id, account_side in ((int(event["account"]), side),
                                     (int(event["counterparty"]), other)):  # fmt: skip
        realized = batch.position_fill(account_id, account_side, ticks, lots, "ADL", 0, None)
        realized_texts.append(units_text(realized, market.row.quote_decimals))
    batch.risk.adl.append(
        AdlApplied(
            seq=int(event["seq"]),
            account_id=int(event["account"]),
            counterparty_id=int(event["counterparty"]),
            side=side,
            quantity=str(event["qty"]),
            price=str(event["price"]),
            realized_pnl=realized_texts[0],
            counterparty_realized=realized_texts[1],
        )
    )


def _losers(batch: Settlement) -> set[int]:
    quote = batch.market.row.quote_asset
    return {
        account
        for (account, asset, kind), amount in batch.ledger.items()
        if asset == quote and kind in LOSSES and amount < 0 and account > INSURANCE_ACCOUNT
    }


async def settle_risk(conn: Connection, batch: Settlement) -> None:
    """Liquidation fees and insurance cover of a written batch (see the module's docstring)."""
    risk = batch.risk
    if not batch.market.is_perp:
        return
    losers = _losers(batch)
    if not (risk.liquidation_orders or risk.adl or losers or risk.isolated_deficits):
        return
    market_id = batch.market.id
    quote = batch.market.row.quote_asset
    if risk.liquidation_orders:
        await risk_db.record_liquidations(conn, sorted(risk.liquidation_orders.items()))
    if risk.adl:
        await risk_db.record_adl(conn, market_id, risk.adl)
    # Liquidation fees per account, from this batch's liquidation fills.
    notionals: dict[int, Decimal] = {}
    for _seq, order_id, account_id, _side, _liq, price, qty, _fee, _pnl in batch.fills:
        if order_id in risk.liquidation_orders:
            notionals[account_id] = notionals.get(account_id, Decimal(0)) + (
                Decimal(price) * Decimal(qty)
            )
    accounts = sorted(set(notionals) | losers | set(risk.isolated_deficits))
    isolated = {a for a, p in batch.positions.items() if p.isolated}
    # Their balance rows were written (and locked) by this batch; the fund's is locked only
    # when it is needed.
    totals = await risk_db.totals(conn, accounts, quote)
    atom = Decimal(1).scaleb(-batch.market.row.quote_decimals)
    released = {a: Decimal(v) * atom for a, v in risk.isolated_released.items()}
    deficits = {a: Decimal(v) * atom for a, v in risk.isolated_deficits.items() if v > 0}
    if not notionals and not deficits and all(t >= 0 for t in totals.values()):
        return
    totals.update(await risk_db.lock_totals(conn, [INSURANCE_ACCOUNT], quote))
    moves: list[tuple[int, str, Decimal]] = []
    if notionals:
        rate = await risk_db.liquidation_fee_rate(conn, market_id)
        for account_id, notional in sorted(notionals.items()):
            fee = (notional * rate).quantize(atom, rounding=ROUND_CEILING)
            fee = min(fee, max(totals[account_id], Decimal(0)))
            if account_id in isolated:
                # Only what the isolated margin left: never the cross collateral.
                fee = min(fee, released.get(account_id, Decimal(0)))
            if fee > 0:
                totals[account_id] -= fee
                totals[INSURANCE_ACCOUNT] += fee
                moves += [(account_id, "LIQUIDATION_FEE", -fee),
                          (INSURANCE_ACCOUNT, "LIQUIDATION_FEE", fee)]  # fmt: skip
    for account_id in accounts:
        deficit = max(-totals[account_id], deficits.get(account_id, Decimal(0)))
        fund = totals[INSURANCE_ACCOUNT]
        if account_id == INSURANCE_ACCOUNT or deficit <= 0 or fund <= 0:
            continue
        cover = min(deficit, fund)
        totals[account_id] += cover
        totals[INSURANCE_ACCOUNT] -= cover
        moves += [(account_id, "INSURANCE", cover), (INSURANCE_ACCOUNT, "INSURANCE", -cover)]
    await risk_db.move(conn, market_id, quote, moves)
