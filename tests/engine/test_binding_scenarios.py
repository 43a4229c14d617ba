"""The engine's Rust scenarios (`rust/ordex-engine/tests/scenarios.rs`) through the Python binding:
every order type, time in force, self-trade mode, trigger (last and mark price), amend rule,
reduce-only and GTD expiry, table-driven where the Rust test is.
"""

from __future__ import annotations

import pytest

import ordex
from ordex.engine_types import OrderType, Side, StpMode, TimeInForce
from tests.engine.binding_helpers import (
    MAX_TICKS,
    Kwargs,
    buy,
    cancels,
    checked,
    market,
    perp,
    queue,
    rejection,
    sell,
    spot,
    stop,
    triggered,
)

# ----- placement, priority, fees ----------------------------------------------------------------


def test_resting_limit_is_accepted_and_published() -> None:
    e = perp()
    events = buy(e, 1, 7, 100, 5)
    assert events.kinds() == ["accepted", "book_delta"]
    assert events[0].to_dict() == {
        "kind": "accepted",
        "seq": 1,
        "order_id": 1,
        "account": 7,
        "side": "BUY",
        "order_type": "LIMIT",
        "price": 100,
        "qty": 5,
    }
    assert events[1].to_dict() == {
        "kind": "book_delta",
        "seq": 2,
        "side": "BUY",
        "price": 100,
        "qty": 5,
        "orders": 1,
    }
    assert e.best_bid() == (100, 5, 1)
    assert e.last_seq == 2


def test_price_then_time_priority() -> None:
    e = perp()
    sell(e, 1, 1, 101, 2)
    sell(e, 2, 2, 100, 2)
    sell(e, 3, 3, 100, 2)
    events = buy(e, 4, 4, 101, 5)
    assert events.trades() == [(4, 2, 100, 2), (4, 3, 100, 2), (4, 1, 101, 1)]
    assert queue(e, "SELL", 101) == [1]
    resting = e.order(1)
    assert resting is not None
    assert (resting.remaining, resting.filled) == (1, 1)
    assert e.order(4) is None


def test_partial_fill_rests_the_remainder_at_its_limit() -> None:
    e = perp()
    sell(e, 1, 1, 100, 3)
    events = buy(e, 2, 2, 102, 5)
    assert events.trades() == [(2, 1, 100, 3)]
    assert e.best_bid() == (102, 2, 1)
    assert e.best_ask() is None
    deltas = [(ev.side, ev.price, ev.qty) for ev in events if ev.kind == "book_delta"]
    assert deltas == [("SELL", 100, 0), ("BUY", 102, 2)]


@pytest.mark.parametrize(
    ("maker_fee", "want_taker_fee", "want_maker_fee"),
    [
        # Notional 333 * 1 * 100 = 33300 atoms: taker 0.05% = 16.65 -> 17, maker 0.02% = 6.66 -> 7.
        pytest.param("0.0002", 17, 7, id="charged-fees-round-up"),
        # A rebate of 6.66 atoms rounds toward zero: -6.
        pytest.param("-0.0002", 17, -6, id="rebate-rounds-toward-zero"),
    ],
)
def test_fees_round_in_the_exchange_favour(
    maker_fee: str, want_taker_fee: int, want_maker_fee: int
) -> None:
    e = perp(maker_fee=maker_fee)
    sell(e, 1, 1, 333, 1)
    trade = buy(e, 2, 2, 333, 1)[1]
    assert trade.kind == "trade"
    assert (trade.taker_fee, trade.maker_fee) == (want_taker_fee, want_maker_fee)
    assert (trade.taker_order_id, trade.taker_account, trade.maker_order_id) == (2, 2, 1)
    assert (trade.maker_account, trade.side) == (1, "BUY")


# ----- market orders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asks", "qty", "want", "cancelled"),
    [
        pytest.param([(100, 2), (104, 2), (106, 2)], 10, [(100, 2), (104, 2)], 6, id="within-band"),
        pytest.param([(100, 1), (105, 1)], 5, [(100, 1), (105, 1)], 3, id="exact-band-edge"),
        pytest.param([(100, 5)], 3, [(100, 3)], 0, id="fills-whole"),
    ],
)
def test_market_orders_are_protected_by_the_band(
    asks: list[tuple[int, int]], qty: int, want: list[tuple[int, int]], cancelled: int
) -> None:
    e = perp()
    for i, (price, size) in enumerate(asks):
        sell(e, i + 1, 1, price, size)
    events = market(e, 99, 2, "BUY", qty)
    assert [(t[2], t[3]) for t in events.trades()] == want
    assert cancels(events) == ([(99, cancelled, "IOC_REMAINDER")] if cancelled else [])


def test_market_order_on_an_empty_side_is_cancelled() -> None:
    e = perp()
    buy(e, 1, 1, 100, 1)
    events = market(e, 2, 2, "BUY", 5)
    assert events.kinds() == ["accepted", "cancelled"]
    assert events[0].price is None
    assert events[0].to_dict()["price"] is None
    assert cancels(events) == [(2, 5, "NO_LIQUIDITY")]


def test_market_order_own_protection_price_tightens_the_band() -> None:
    e = perp()
    sell(e, 1, 1, 100, 1)
    sell(e, 2, 1, 102, 1)
    events = market(e, 3, 2, "BUY", 2, price=101)
    assert events.trades() == [(3, 1, 100, 1)]


# ----- time in force ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tif", "qty", "want_trades", "want_cancels", "rests"),
    [
        pytest.param("IOC", 5, [(9, 1, 100, 3)], [(9, 2, "IOC_REMAINDER")], False, id="ioc"),
        pytest.param("FOK", 5, [], [(9, 5, "FOK_NOT_FILLABLE")], False, id="fok-not-fillable"),
        pytest.param("FOK", 3, [(9, 1, 100, 3)], [], False, id="fok-fillable"),
        pytest.param("GTC", 5, [(9, 1, 100, 3)], [], True, id="gtc-rests"),
    ],
)
def test_time_in_force(
    tif: TimeInForce,
    qty: int,
    want_trades: list[tuple[int, int, int, int]],
    want_cancels: list[tuple[int, int, str]],
    rests: bool,
) -> None:
    e = perp()
    sell(e, 1, 1, 100, 3)
    sell(e, 2, 1, 110, 3)
    events = buy(e, 9, 2, 100, qty, time_in_force=tif)
    assert events.trades() == want_trades
    assert cancels(events) == want_cancels
    assert (e.order(9) is not None) == rests


def test_gtd_expires_when_time_passes_it() -> None:
    e = perp()
    buy(e, 1, 1, 100, 2, time_in_force="GTD", expire_at=1_000)
    info = e.order(1)
    assert info is not None
    assert (info.time_in_force, info.expire_at) == ("GTD", 1_000)
    assert len(e.advance_time(999)) == 0
    events = e.advance_time(1_000)
    assert events.kinds() == ["expired", "book_delta"]
    assert (events[0].order_id, events[0].remaining) == (1, 2)
    assert e.order(1) is None
    e.advance_time(10)  # time never goes back
    assert e.now == 1_000


def test_gtd_conditional_order_expires_untriggered() -> None:
    e = perp()
    stop(e, 1, 1, "STOP_LOSS_LIMIT", "SELL", 90, 89, time_in_force="GTD", expire_at=5)
    assert e.untriggered_orders == 1
    assert e.advance_time(5).kinds() == ["expired"]
    assert e.untriggered_orders == 0


# ----- validation ---------------------------------------------------------------------------------

INVALID_ORDERS: list[tuple[str, Kwargs, str]] = [
    ("qty-zero", {"qty": 0}, "INVALID_QUANTITY"),
    ("price-zero", {"price": 0}, "INVALID_PRICE"),
    ("price-too-large", {"price": MAX_TICKS + 1}, "INVALID_PRICE"),
    ("limit-without-price", {"price": None}, "MISSING_PRICE"),
    (
        "market-gtc",
        {"price": None, "order_type": "MARKET", "time_in_force": "GTC"},
        "INVALID_TIME_IN_FORCE",
    ),
    ("gtd-without-expiry", {"time_in_force": "GTD"}, "MISSING_EXPIRE_TIME"),
    ("expiry-without-gtd", {"expire_at": 5}, "INVALID_TIME_IN_FORCE"),
    ("post-only-ioc", {"post_only": True, "time_in_force": "IOC"}, "POST_ONLY_NOT_ALLOWED"),
    (
        "post-only-market",
        {"price": None, "order_type": "MARKET", "post_only": True},
        "POST_ONLY_NOT_ALLOWED",
    ),
    ("stop-without-trigger", {"order_type": "STOP_LOSS_LIMIT"}, "MISSING_TRIGGER_PRICE"),
    ("limit-with-trigger", {"trigger_price": 5}, "UNEXPECTED_TRIGGER_PRICE"),
    ("reduce-only-flat", {"reduce_only": True}, "REDUCE_ONLY_WOULD_INCREASE"),
]


@pytest.mark.parametrize(
    ("overrides", "reason"), [pytest.param(o, r, id=name) for name, o, r in INVALID_ORDERS]
)
def test_invalid_orders_are_rejected_and_change_nothing(overrides: Kwargs, reason: str) -> None:
    e = perp()
    before = e.state_hash()
    args: Kwargs = {"price": 100, "qty": 1}
    args.update(overrides)
    events = checked(e, e.place(1, 1, "BUY", args.pop("price"), args.pop("qty"), **args))
    assert events.kinds() == ["rejected"]
    assert events[0].to_dict() == {
        "kind": "rejected",
        "seq": 1,
        "order_id": 1,
        "account": 1,
        "reason": reason,
    }
    assert e.resting_orders == 0
    assert e.untriggered_orders == 0
    # Only the sequence number moved.
    assert e.state_hash() != before
    assert e.last_seq == 1


def test_expiry_in_the_past_is_rejected() -> None:
    e = perp()
    e.advance_time(50)
    events = buy(e, 1, 1, 100, 1, time_in_force="GTD", expire_at=50)
    assert rejection(events) == "EXPIRE_TIME_IN_PAST"


def test_minimum_quantity_and_spot_reduce_only() -> None:
    e = perp(min_qty="5")
    assert e.config.min_qty == 5
    assert rejection(buy(e, 1, 1, 100, 4)) == "BELOW_MIN_QUANTITY"
    assert rejection(sell(spot(), 1, 1, 100, 1, reduce_only=True)) == "REDUCE_ONLY_NOT_ALLOWED"


def test_post_only_never_takes() -> None:
    e = perp()
    sell(e, 1, 1, 100, 1)
    assert rejection(buy(e, 2, 2, 100, 1, post_only=True)) == "POST_ONLY_WOULD_TAKE"
    assert buy(e, 3, 2, 99, 1, post_only=True).kinds() == ["accepted", "book_delta"]
    info = e.order(3)
    assert info is not None and info.post_only
    # Amending a post-only order across the spread is refused and leaves it in place.
    assert rejection(e.amend(3, 2, price=100)) == "POST_ONLY_WOULD_TAKE"
    info = e.order(3)
    assert info is not None and info.price == 99


def test_duplicate_ids() -> None:
    e = perp()
    buy(e, 1, 7, 90, 1, client_order_id="client-123")
    dup = buy(e, 2, 7, 91, 1, client_order_id="client-123")
    assert rejection(dup) == "DUPLICATE_CLIENT_ORDER_ID"
    # Another account may use the same client id.
    assert buy(e, 3, 8, 91, 1, client_order_id="client-123").kinds()[0] == "accepted"
    assert rejection(buy(e, 1, 9, 92, 1)) == "DUPLICATE_ORDER_ID"
    info = e.order(1)
    assert info is not None and info.client_order_id == "client-123"
    # Once the order is final, the client id is free again.
    e.cancel(1, 7)
    assert buy(e, 4, 7, 90, 1, client_order_id="client-123").kinds()[0] == "accepted"


@pytest.mark.parametrize("client_order_id", ["", "x" * 37, "has space", "é"])
def test_invalid_client_order_id_is_a_value_error(client_order_id: str) -> None:
    with pytest.raises(ValueError, match="client_order_id"):
        perp().place(1, 1, "BUY", 100, 1, client_order_id=client_order_id)


# ----- self-trade prevention ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stp", "want_trades", "want_cancels"),
    [
        pytest.param("NONE", [(9, 1, 100, 2), (9, 2, 100, 2)], [], id="none"),
        pytest.param("EXPIRE_TAKER", [], [(9, 4, "SELF_TRADE_TAKER")], id="expire-taker"),
        pytest.param(
            "EXPIRE_MAKER",
            [(9, 2, 100, 2)],
            [(1, 2, "SELF_TRADE_MAKER"), (9, 2, "IOC_REMAINDER")],
            id="expire-maker",
        ),
        pytest.param(
            "EXPIRE_BOTH",
            [],
            [(1, 2, "SELF_TRADE_MAKER"), (9, 4, "SELF_TRADE_TAKER")],
            id="expire-both",
        ),
    ],
)
def test_self_trade_prevention(
    stp: StpMode,
    want_trades: list[tuple[int, int, int, int]],
    want_cancels: list[tuple[int, int, str]],
) -> None:
    e = perp()
    sell(e, 1, 5, 100, 2)  # own order first in the queue
    sell(e, 2, 6, 100, 2)
    events = buy(e, 9, 5, 100, 4, time_in_force="IOC", stp=stp)
    assert events.trades() == want_trades
    assert cancels(events) == want_cancels


@pytest.mark.parametrize(
    ("stp", "fills"),
    [
        pytest.param("EXPIRE_MAKER", False, id="expire-maker-counts-only-others"),
        pytest.param("EXPIRE_TAKER", False, id="expire-taker-stops-at-own"),
        pytest.param("NONE", True, id="none-counts-own"),
    ],
)
def test_fok_counts_only_liquidity_self_trade_prevention_leaves(stp: StpMode, fills: bool) -> None:
    e = perp()
    sell(e, 1, 5, 100, 2)
    sell(e, 2, 6, 100, 2)
    events = buy(e, 9, 5, 100, 3, time_in_force="FOK", stp=stp)
    if fills:
        assert len(events.trades()) == 2
    else:
        assert events.trades() == []
        assert cancels(events)[-1] == (9, 3, "FOK_NOT_FILLABLE")
        assert e.depth() == ([], [(100, 4, 2)])  # a refused FOK removes nothing


# ----- cancel and amend ---------------------------------------------------------------------------


def test_cancel_rules() -> None:
    e = perp()
    buy(e, 1, 7, 100, 1)
    assert rejection(e.cancel(1, 8)) == "ORDER_NOT_FOUND"
    assert cancels(e.cancel(1, 7)) == [(1, 1, "USER")]
    assert rejection(e.cancel(1, 7)) == "ORDER_NOT_FOUND"


def test_cancel_all_takes_book_orders_then_conditionals() -> None:
    e = perp()
    buy(e, 1, 7, 100, 1)
    sell(e, 2, 7, 110, 1)
    buy(e, 3, 8, 99, 1)
    stop(e, 4, 7, "STOP_LOSS", "SELL", 90)
    events = e.cancel_all(7)
    assert [c[0] for c in cancels(events)] == [1, 2, 4]
    assert {c[2] for c in cancels(events)} == {"CANCEL_ALL"}
    assert (e.resting_orders, e.untriggered_orders) == (1, 0)


def test_amend_down_keeps_priority() -> None:
    e = perp()
    buy(e, 1, 1, 100, 5)
    buy(e, 2, 2, 100, 5)
    events = checked(e, e.amend(1, 1, qty=3))
    assert (events[0].kind, events[0].qty, events[0].priority_kept) == ("amended", 3, True)
    assert queue(e, "BUY", 100) == [1, 2]
    assert e.best_bid() == (100, 8, 2)


@pytest.mark.parametrize(
    ("price", "qty", "level"),
    [
        pytest.param(None, 6, 100, id="qty-up"),
        pytest.param(101, None, 101, id="new-price"),
        pytest.param(101, 2, 101, id="new-price-smaller"),
    ],
)
def test_amend_that_loses_priority(price: int | None, qty: int | None, level: int) -> None:
    e = perp()
    buy(e, 1, 1, 100, 5)
    buy(e, 2, 2, 100, 5)
    buy(e, 3, 3, 101, 5)
    events = checked(e, e.amend(1, 1, price=price, qty=qty))
    assert (events[0].kind, events[0].priority_kept) == ("amended", False)
    assert queue(e, "BUY", level)[-1] == 1


def test_amend_across_the_spread_trades() -> None:
    e = perp()
    sell(e, 1, 1, 105, 2)
    buy(e, 2, 2, 100, 5)
    events = checked(e, e.amend(2, 2, price=105))
    assert events.trades() == [(2, 1, 105, 2)]
    info = e.order(2)
    assert info is not None
    assert (info.price, info.remaining, info.filled) == (105, 3, 2)
    assert rejection(e.amend(2, 9, price=1)) == "ORDER_NOT_FOUND"


def test_amend_of_a_conditional_order_is_not_allowed() -> None:
    e = perp()
    stop(e, 1, 1, "STOP_LOSS", "SELL", 90)
    assert rejection(e.amend(1, 1, qty=2)) == "AMEND_NOT_ALLOWED"


# ----- conditional orders -------------------------------------------------------------------------


def with_last_price_100() -> ordex.Engine:
    e = perp()
    sell(e, 1, 1, 100, 1)
    buy(e, 2, 2, 100, 1)
    assert e.last_price == 100
    return e


@pytest.mark.parametrize(
    ("order_type", "side", "trigger", "trade_at", "fires"),
    [
        pytest.param("STOP_LOSS", "SELL", 95, 94, True, id="sell-stop-loss-on-fall"),
        pytest.param("STOP_LOSS", "SELL", 95, 96, False, id="sell-stop-loss-not-on-rise"),
        pytest.param("STOP_LOSS", "BUY", 105, 105, True, id="buy-stop-loss-on-rise"),
        pytest.param("TAKE_PROFIT", "SELL", 105, 106, True, id="sell-take-profit-on-rise"),
        pytest.param("TAKE_PROFIT", "BUY", 95, 95, True, id="buy-take-profit-on-fall"),
        pytest.param("TAKE_PROFIT", "BUY", 95, 99, False, id="buy-take-profit-not-on-rise"),
    ],
)
def test_conditional_orders_trigger_on_the_last_trade(
    order_type: OrderType, side: Side, trigger: int, trade_at: int, fires: bool
) -> None:
    e = with_last_price_100()
    assert stop(e, 10, 9, order_type, side, trigger).kinds() == ["accepted"]
    info = e.order(10)
    assert info is not None
    assert (info.status, info.trigger_price, info.time_in_force) == ("UNTRIGGERED", trigger, "IOC")
    sell(e, 3, 3, trade_at, 1)
    events = buy(e, 4, 4, trade_at, 1)
    assert events.trades()[0][2] == trade_at
    assert (10 in triggered(events)) == fires
    assert (e.order(10) is None) == fires


def test_would_trigger_immediately_is_rejected() -> None:
    e = with_last_price_100()
    assert rejection(stop(e, 3, 3, "STOP_LOSS", "SELL", 101)) == "WOULD_TRIGGER_IMMEDIATELY"


def test_triggered_orders_release_in_arrival_order_and_cascade() -> None:
    e = with_last_price_100()
    stop(e, 10, 9, "STOP_LOSS_LIMIT", "SELL", 95, 90)
    stop(e, 11, 9, "STOP_LOSS_LIMIT", "SELL", 97, 90)
    stop(e, 12, 9, "STOP_LOSS", "SELL", 92)
    for oid, price in [(20, 96), (21, 93), (22, 91), (23, 90)]:
        buy(e, oid, 5, price, 1)
    # 96 fires 11 (97), whose trade at 93 fires 10 (95), whose trade at 91 fires 12 (92).
    events = sell(e, 30, 6, 96, 1)
    assert triggered(events) == [11, 10, 12]
    assert [ev.trigger_price for ev in events if ev.kind == "triggered"] == [97, 95, 92]
    assert events.trades() == [(30, 20, 96, 1), (11, 21, 93, 1), (10, 22, 91, 1), (12, 23, 90, 1)]
    assert e.untriggered_orders == 0


def test_simultaneous_triggers_fire_in_arrival_order() -> None:
    e = with_last_price_100()
    stop(e, 10, 9, "STOP_LOSS_LIMIT", "SELL", 95, 80)
    stop(e, 11, 9, "TAKE_PROFIT_LIMIT", "BUY", 96, 120)
    stop(e, 12, 9, "STOP_LOSS_LIMIT", "SELL", 97, 80)
    buy(e, 3, 3, 94, 1)
    assert triggered(sell(e, 4, 4, 94, 1)) == [10, 11, 12]


def test_mark_price_triggers_only_mark_orders() -> None:
    e = perp()
    buy(e, 1, 1, 90, 5)
    stop(e, 10, 9, "STOP_LOSS", "SELL", 95, trigger_by="MARK_PRICE")
    stop(e, 11, 9, "STOP_LOSS", "SELL", 85)
    events = checked(e, e.set_mark_price(94))
    assert triggered(events) == [10]
    assert events.trades() == [(10, 1, 90, 1)]
    assert e.order(11) is not None
    assert e.mark_price == 94


def test_mark_price_would_trigger_immediately_and_invalid_mark() -> None:
    e = perp()
    e.set_mark_price(100)
    events = stop(e, 1, 1, "TAKE_PROFIT", "SELL", 99, trigger_by="MARK_PRICE")
    assert rejection(events) == "WOULD_TRIGGER_IMMEDIATELY"
    assert e.set_mark_price(0)[0].to_dict() == {
        "kind": "rejected",
        "seq": e.last_seq,
        "order_id": 0,
        "account": 0,
        "reason": "INVALID_PRICE",
    }
    assert e.mark_price == 100


# ----- reduce-only --------------------------------------------------------------------------------


def test_reduce_only_is_clipped_shrunk_and_cancelled_with_the_position() -> None:
    e = perp()
    sell(e, 1, 2, 100, 5)
    buy(e, 2, 1, 100, 5)
    assert (e.position(1), e.position(2)) == (5, -5)
    # A reduce-only sell of 8 is clipped to the position (5) and rests.
    events = sell(e, 3, 1, 110, 8, reduce_only=True)
    assert any(ev.kind == "amended" and ev.order_id == 3 and ev.qty == 5 for ev in events)
    info = e.order(3)
    assert info is not None and info.remaining == 5 and info.reduce_only
    # A second one finds nothing left of the position to reduce: cancelled.
    assert cancels(sell(e, 4, 1, 111, 2, reduce_only=True)) == [(4, 2, "REDUCE_ONLY")]
    # The position shrinks by 2 elsewhere: order 3 shrinks to 3.
    buy(e, 5, 3, 99, 2)
    events = sell(e, 6, 1, 99, 2)
    assert any(ev.kind == "amended" and ev.order_id == 3 and ev.qty == 3 for ev in events)
    # The position closes elsewhere: the reduce-only order is cancelled.
    buy(e, 7, 3, 98, 3)
    assert (3, 3, "REDUCE_ONLY") in cancels(sell(e, 8, 1, 98, 3))
    assert e.position(1) == 0


def test_reduce_only_taker_never_flips_the_position() -> None:
    e = perp()
    sell(e, 1, 2, 100, 3)
    buy(e, 2, 1, 100, 3)
    buy(e, 3, 4, 100, 10)
    events = sell(e, 4, 1, 100, 10, time_in_force="IOC", reduce_only=True)
    assert events.trades() == [(4, 3, 100, 3)]
    assert e.position(1) == 0
