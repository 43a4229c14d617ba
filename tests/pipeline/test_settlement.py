"""The persister's integer settlement against the Decimal one it replaced: the same engine events
(the seeded benchmark workload: limits, IOCs, cancels, amends, on a spot and a perpetual market)
in consecutive batches must leave the same orders, fills, positions, balances and ledger sums."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from benchmarks.exchange.matcher_relay import encode_commands
from benchmarks.exchange.persister_alone import hold_of
from benchmarks.peers.base import AMEND, CANCEL
from benchmarks.peers.workload import WorkloadSpec, generate
from hypothesis import given
from hypothesis import strategies as st

import ordex
from ordex.db.markets import MarketRow
from ordex.services.markets import Market, MarketRegistry
from ordex.workers.settlement import Settlement, to_units, units_text
from tests.pipeline import settlement_reference as ref

D = Decimal


def _market(market_id: str, kind: str, tick: str) -> Market:
    row = MarketRow(
        market_id, kind, "BTC", "USDC", D(tick), D("0.0001"), D("0.0001"), 6, D("0.05"),
        20 if kind == "PERP" else 1, D("0.05"), D("0.005"), D("0.0002"), D("0.0005"), 8,
        D("0.00375"), "ACTIVE", datetime.now(UTC),
    )  # fmt: skip
    return MarketRegistry.from_rows([row], {}).markets[0]


def _text(value: Decimal) -> str:
    """A NUMERIC as PostgreSQL's `::text` writes it: plain notation."""
    return format(value, "f")


class Database:
    """Order and position rows between batches, as the persister writes and reads them."""

    def __init__(self, market: Market, commands: list[Any]) -> None:
        self.orders: dict[int, dict[str, Any]] = {}
        config = market.config
        for kind, order_id, account, is_buy, ticks, lots in commands:
            if kind in (CANCEL, AMEND):
                continue
            price, qty = D(config.format_price(ticks)), D(config.format_qty(lots))
            asset, amount = hold_of(market, is_buy, price, qty)
            self.orders[order_id] = {
                "id": order_id, "account_id": account, "side": "BUY" if is_buy else "SELL",
                "type": "LIMIT", "quantity": qty, "filled_quantity": D(0), "average_price": None,
                "status": "PENDING", "hold_asset": asset, "hold_amount": amount,
                "hold_released": D(0), "reject_reason": None, "cancel_reason": None,
            }  # fmt: skip
        self.positions: dict[int, tuple[Decimal, Decimal, Decimal]] = {}

    def order_rows(self, ids: set[int]) -> list[tuple[Any, ...]]:
        rows = []
        for i in sorted(ids & self.orders.keys()):
            o = self.orders[i]
            rows.append(
                (o["id"], o["account_id"], o["side"], o["type"], _text(o["quantity"]),
                 _text(o["filled_quantity"]),
                 None if o["average_price"] is None else _text(o["average_price"]), o["status"],
                 o["hold_asset"], _text(o["hold_amount"]), _text(o["hold_released"]),
                 o["reject_reason"], o["cancel_reason"])
            )  # fmt: skip
        return rows

    def reference_orders(self, ids: set[int]) -> dict[int, ref.OrderState]:
        out = {}
        for i in sorted(ids & self.orders.keys()):
            o = self.orders[i]
            out[i] = ref.OrderState(
                id=i, account_id=o["account_id"], side=o["side"], type=o["type"],
                quantity=o["quantity"], filled=o["filled_quantity"],
                notional=(o["average_price"] or D(0)) * o["filled_quantity"], status=o["status"],
                hold_asset=o["hold_asset"], hold_amount=o["hold_amount"],
                hold_released=o["hold_released"], reject_reason=o["reject_reason"],
                cancel_reason=o["cancel_reason"],
            )  # fmt: skip
        return out


def _touched(events: list[dict[str, Any]]) -> tuple[set[int], set[int]]:
    orders: set[int] = set()
    accounts: set[int] = set()
    for e in events:
        if e["type"] == "trade":
            orders.update((e["taker_order_id"], e["maker_order_id"]))
            accounts.update((e["taker_account"], e["maker_account"]))
        elif e["type"] != "book_delta" and e.get("order_id"):
            orders.add(e["order_id"])
    return orders, accounts


def _check_batch(db: Database, market: Market, events: list[dict[str, Any]]) -> tuple[int, int]:
    """Applies one batch both ways, compares, writes the integer one's rows; returns the fills
    and the orders that filled again after filling in an earlier batch."""
    order_ids, accounts = _touched(events)
    # An order the database does not know (skipped by both).
    order_ids.add(999_999_999)
    positions = {a: db.positions[a] for a in sorted(accounts) if a in db.positions}
    new = Settlement.load(
        market,
        db.order_rows(order_ids),
        [(a, _text(p[0]), _text(p[1]), _text(p[2])) for a, p in positions.items()],
    )
    old = ref.Settlement(
        market,
        db.reference_orders(order_ids),
        {a: ref.PositionState(*p) for a, p in positions.items()},
    )
    new.apply_all(events)
    for e in events:
        old.apply(e)
    assert (new.last_seq, new.skipped) == (old.last_seq, old.skipped)

    # Orders: the same ones changed, to the same values.
    assert {i for i, o in new.orders.items() if o.changed} == {
        i for i, o in old.orders.items() if o.changed
    }
    for i, o in new.orders.items():
        if not o.changed:
            continue
        quantity, filled, average, released = new.order_texts(o)
        r = old.orders[i]
        assert (o.status, o.reject_reason, o.cancel_reason) == (
            r.status, r.reject_reason, r.cancel_reason,
        )  # fmt: skip
        assert (D(quantity), D(filled), D(released)) == (r.quantity, r.filled, r.hold_released)
        assert (None if average is None else D(average)) == r.average_price
        db.orders[i].update(
            status=o.status, reject_reason=o.reject_reason, cancel_reason=o.cancel_reason,
            quantity=D(quantity), filled_quantity=D(filled), hold_released=D(released),
            average_price=None if average is None else D(average),
        )  # fmt: skip

    # Fills, amounts exact.
    assert [(f[0], f[1], f[2], f[3], f[4], D(f[5]), D(f[6]), D(f[7]), D(f[8])) for f in new.fills] == [
        (f.seq, f.order_id, f.account_id, f.side, f.liquidity, f.price, f.quantity, f.fee,
         f.realized_pnl)
        for f in old.fills
    ]  # fmt: skip

    # Positions.
    assert {a for a, p in new.positions.items() if p.changed} == {
        a for a, p in old.positions.items() if p.changed
    }
    for a, p in new.positions.items():
        if p.changed:
            size, cost, realized = (D(t) for t in new.position_texts(p))
            held = old.positions[a]
            assert (size, cost, realized) == (held.size, held.cost, held.realized_pnl)
            db.positions[a] = (size, cost, realized)

    # Balances and the ledger: the batch's sums per (account, asset) and (account, asset, kind).
    balances = {
        k: (D(new.amount_text(k[1], d[0])), D(new.amount_text(k[1], d[1])))
        for k, d in new.balances.items()
        if d[0] or d[1]
    }
    assert balances == {k: (d[0], d[1]) for k, d in old.balances.items() if d[0] or d[1]}
    old_ledger: defaultdict[tuple[int, str, str], Decimal] = defaultdict(Decimal)
    for entry in old.ledger:
        old_ledger[(entry.account_id, entry.asset, entry.kind)] += entry.amount
    new_ledger = {k: D(new.amount_text(k[1], v)) for k, v in new.ledger.items() if v}
    assert new_ledger == {k: v for k, v in old_ledger.items() if v}
    again = sum(1 for o in new.orders.values() if o.loaded[1] and o.notional)
    return len(new.fills), again


@pytest.mark.parametrize(("market_id", "kind", "tick"), [("BTC-USDC", "SPOT", "0.01"),
                                                        ("BTC-PERP", "PERP", "0.1")])  # fmt: skip
def test_integer_settlement_agrees_with_the_decimal_one(
    market_id: str, kind: str, tick: str
) -> None:
    market = _market(market_id, kind, tick)
    commands = [
        c._replace(account=c.account + 1)  # account 1 is the house
        for c in generate(WorkloadSpec(commands=6_000, accounts=12, seed=7))
    ]
    db = Database(market, commands)
    engine = ordex.Engine(market.config)
    payloads = encode_commands(market.config, commands)
    fills = again = 0
    # Uneven batches, so that orders fill across batches (average prices carried over).
    start, size = 0, 97
    while start < len(payloads):
        events = [orjson.loads(e) for e in engine.process_json(payloads[start : start + size])]
        if events:
            batch_fills, batch_again = _check_batch(db, market, events)
            fills, again = fills + batch_fills, again + batch_again
        start, size = start + size, size * 2 % 1_500 + 50
    assert fills > 1_000 and again > 10
    if market.is_perp:
        assert sum(p[0] for p in db.positions.values()) == 0


def test_rows_finer_than_the_market_units_are_kept_exactly() -> None:
    market = _market("BTC-USDC", "SPOT", "0.01")
    row = (5, 2, "BUY", "LIMIT", "1", "0", None, "OPEN", "USDC", "100.123456789", "0", None, None)
    batch = Settlement.load(market, [row])
    batch.apply({"seq": 1, "type": "cancelled", "order_id": 5, "reason": "USER"})
    order = batch.orders[5]
    assert batch.order_texts(order)[3] == "100.123456789"
    assert D(batch.amount_text("USDC", batch.balances[(2, "USDC")][1])) == D("-100.123456789")


@pytest.mark.parametrize("status", ["CANCELLED", "FILLED", "OPEN"])
def test_a_refused_cancel_leaves_the_order_and_its_hold(status: str) -> None:
    """A second cancel (or one racing a fill) is refused by the engine with ORDER_NOT_FOUND: the
    order keeps its status and its hold is not released again."""
    market = _market("BTC-USDC", "SPOT", "0.01")
    released = "0" if status == "OPEN" else "100"
    row = (5, 2, "BUY", "LIMIT", "1", "1" if status == "FILLED" else "0", None, status, "USDC",
           "100", released, None, None)  # fmt: skip
    batch = Settlement.load(market, [row])
    batch.apply({"seq": 1, "type": "rejected", "order_id": 5, "account": 2,
                 "reason": "ORDER_NOT_FOUND"})  # fmt: skip
    order = batch.orders[5]
    assert order.status == status and order.reject_reason is None
    assert (2, "USDC") not in batch.balances or batch.balances[(2, "USDC")][1] == 0


def test_a_rejected_new_order_releases_its_hold() -> None:
    market = _market("BTC-USDC", "SPOT", "0.01")
    row = (5, 2, "BUY", "LIMIT", "1", "0", None, "PENDING", "USDC", "100", "0", None, None)
    batch = Settlement.load(market, [row])
    batch.apply({"seq": 1, "type": "rejected", "order_id": 5, "account": 2,
                 "reason": "POST_ONLY_WOULD_TAKE"})  # fmt: skip
    order = batch.orders[5]
    assert (order.status, order.reject_reason) == ("REJECTED", "POST_ONLY_WOULD_TAKE")
    assert D(batch.amount_text("USDC", batch.balances[(2, "USDC")][1])) == D("-100")


def test_an_amend_to_no_open_quantity_leaves_the_filled_quantity() -> None:
    market = _market("BTC-USDC", "SPOT", "0.01")
    row = (5, 2, "BUY", "LIMIT", "1.5", "0.5", "100", "PARTIALLY_FILLED", "USDC", "150.075",
           "50.025", None, None)  # fmt: skip
    batch = Settlement.load(market, [row])
    batch.apply({"seq": 1, "type": "amended", "order_id": 5, "price": "100", "qty": "0"})
    old = ref.Settlement(market, {5: ref.OrderState(5, 2, "BUY", "LIMIT", D("1.5"), D("0.5"),
                                                    D("50"), "PARTIALLY_FILLED", "USDC",
                                                    D("150.075"), D("50.025"))}, {})  # fmt: skip
    old.apply({"seq": 1, "type": "amended", "order_id": 5, "price": "100", "qty": "0"})
    assert D(batch.order_texts(batch.orders[5])[0]) == old.orders[5].quantity == D("0.5")


@given(st.integers(-(10**30), 10**30), st.integers(0, 18))
def test_units_text_is_exact_and_reads_back(units: int, scale: int) -> None:
    text = units_text(units, scale)
    assert D(text) == D(f"{units}E-{scale}")  # from text: exact, where scaleb would round
    assert "e" not in text.lower() and not (text.endswith("0") and "." in text)
    assert to_units(text, scale) == units
    assert to_units(text + "000" if "." in text else text + ".000", scale) == units


def test_to_units_refuses_digits_it_would_drop() -> None:
    assert to_units("-0.5", 2) == -50
    with pytest.raises(ValueError):
        to_units("0.125", 2)
