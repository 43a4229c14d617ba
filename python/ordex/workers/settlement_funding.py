"""Settlement of the engine's `funding` event: each open position's payment and the house's
rounding remainder as ledger entries of kind FUNDING on the quote asset (the perpetual's
collateral), balances moved, a `funding_payments` row per account and the interval's
`funding_settlements` row marked SETTLED with the event's seq; all in the persister's batch
transaction, so exactly once with `market_progress`.

An isolated position's payment moves its isolated margin too (`_isolated_funding`).

The engine's payments plus its `house` amount sum to exactly zero (it rounds what accounts pay
away from zero and what they receive toward zero). The house is booked the negated sum of the
payments, which is that amount: the ledger sums to the deposits whatever the event says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ordex.db.funding import FundingSettled

if TYPE_CHECKING:
    from ordex.workers.settlement import Settlement


def apply_funding(batch: Settlement, event: dict[str, Any]) -> None:
    # Imported here: settlement.py imports this module to dispatch the event.
    from ordex.workers.settlement import HOUSE_ACCOUNT, to_units

    quote = batch.market.row.quote_asset
    scale = batch.units.quote_scale
    payments = [(int(account), str(amount)) for account, amount in event.get("payments") or []]
    moved = [(account, to_units(amount, scale)) for account, amount in payments]
    house_units = -sum(units for _, units in moved)
    for account, units in moved:
        batch._move(account, quote, "FUNDING", units)
        position = batch.positions.get(account)
        if position is not None and position.isolated:
            _isolated_funding(batch, account, units // batch.units.atom)
    batch._move(HOUSE_ACCOUNT, quote, "FUNDING", house_units)
    batch.funding.append(
        FundingSettled(
            interval_end=datetime.fromtimestamp(int(event["interval"]) / 1000, tz=UTC),
            rate=str(event["rate"]),
            mark_price=str(event["mark"]),
            house_amount=batch.amount_text(quote, house_units),
            seq=int(event["seq"]),
            asset=quote,
            payments=[(account, amount) for account, amount in payments if to_units(amount, scale)],
        )
    )


def _isolated_funding(batch: Settlement, account: int, atoms: int) -> None:
    """An isolated position's payment is its own: received, it grows the position's margin;
    paid, it comes out of that margin, and what the margin cannot pay is the position's
    deficit, covered by the insurance fund (`settle_risk`) like a loss beyond it on a fill.
    The balance moved above either way (the margin is an earmark of it), so the cross
    collateral stays as it was."""
    position = batch.positions[account]
    margin = position.margin + atoms
    if margin < 0:
        deficits = batch.risk.isolated_deficits
        deficits[account] = deficits.get(account, 0) - margin
        margin = 0
    position.margin = margin
    position.changed = True
