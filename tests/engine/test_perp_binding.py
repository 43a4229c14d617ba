"""The perpetual commands through the binding: `liquidate`, `deleverage` and `funding` as typed
methods and as JSON commands give the same events and the same state."""

from __future__ import annotations

import random

import orjson

import ordex
from tests.engine.binding_helpers import buy, perp, sell


def opened() -> ordex.Engine:
    """Account 1 long 5 and account 2 short 5 at 100; account 2 also rests a bid and a stop."""
    e = perp()
    buy(e, 1, 1, 100, 5)
    sell(e, 2, 2, 100, 5)
    buy(e, 3, 2, 90, 1)
    buy(e, 4, 3, 95, 2)
    return e


def test_liquidation_cancels_the_accounts_orders_then_closes_against_the_book() -> None:
    e = opened()
    sell(e, 5, 4, 104, 3)
    kinds = [(ev.kind, ev.order_id, ev.reason) for ev in e.liquidate(6, 2, "BUY", 9, 110)]
    assert kinds[0] == ("cancelled", 3, "LIQUIDATION")
    assert kinds[1] == ("liquidation", 6, None)
    assert [k for k, _, _ in kinds].count("trade") == 1
    assert ("cancelled", 6, "IOC_REMAINDER") in kinds
    # 3 of the 5 lots closed against the ask at 104, the rest (qty clamped to 5) cancelled.
    assert e.position(2) == -2
    assert e.order(3) is None
    e.check_invariants()


def test_liquidation_without_a_position_is_rejected_and_changes_nothing() -> None:
    e = opened()
    events = list(e.liquidate(7, 3, "SELL", 1, 90))
    assert [(ev.kind, ev.reason) for ev in events] == [("rejected", "NO_POSITION")]
    # Account 3's bid is still there: a refused liquidation cancels nothing.
    assert e.order(4) is not None
    assert (e.position(1), e.position(2), e.position(3)) == (5, -5, 0)


def test_deleverage_moves_both_positions_off_the_book() -> None:
    e = opened()
    (adl,) = e.deleverage(1, 2, "SELL", 9, 100)
    assert (adl.kind, adl.qty, adl.counterparty) == ("adl", 5, 2)
    assert (e.position(1), e.position(2)) == (0, 0)
    (rejected,) = e.deleverage(1, 2, "SELL", 1, 100)
    assert (rejected.kind, rejected.reason) == ("command_rejected", "NO_POSITION")


def test_funding_pays_once_per_interval_and_sums_to_zero() -> None:
    rng = random.Random(7)
    e = perp()
    oid = 0
    for account in range(1, 12):
        oid += 1
        qty = rng.randint(1, 9)
        buy(e, oid, account, 100 + account, qty)
        oid += 1
        sell(e, oid, account + 100, 100 + account, qty)
    (funding,) = e.funding(3_600_000, 333, 107)
    payments = funding.payments
    assert payments is not None and funding.house is not None
    assert sum(amount for _, amount in payments) + funding.house == 0
    assert funding.house >= 0
    for account, amount in payments:
        size = e.position(account)
        expected = ordex.funding_payment(e.config, size, 107, "0.00000333")
        assert amount == expected
    assert list(e.funding(3_600_000, 333, 107)) == []
    assert list(e.funding(1_000, 333, 107)) == []
    restored = ordex.Engine.restore(e.snapshot())
    assert restored.last_funding_interval == 3_600_000
    assert list(restored.funding(3_600_000, 333, 107)) == []


def test_typed_and_json_paths_agree() -> None:
    typed, wire = opened(), opened()
    typed.liquidate(6, 2, "BUY", 5, 110)
    typed.deleverage(1, 3, "SELL", 1, 100)
    typed.funding(8_000, 10_000, 100)
    commands = [
        {
            "type": "liquidate",
            "order_id": 6,
            "account": 2,
            "side": "BUY",
            "qty": "5",
            "price": "110",
        },
        {
            "type": "deleverage",
            "account": 1,
            "counterparty": 3,
            "side": "SELL",
            "qty": "1",
            "price": "100",
        },
        {"type": "funding", "interval": 8_000, "rate": "0.0001", "mark": "100"},
    ]
    out = wire.process_json([orjson.dumps(c) for c in commands])
    kinds = [orjson.loads(raw)["type"] for raw in out]
    assert "liquidation" in kinds and "funding" in kinds
    assert typed.state_hash() == wire.state_hash()
