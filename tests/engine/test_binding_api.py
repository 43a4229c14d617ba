"""The binding's surface around the scenarios: queries, snapshot/restore and state hashes, the
batch path against single calls, command objects, and the exception hierarchy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import ordex
from tests.engine.binding_helpers import (
    Kwargs,
    buy,
    perp,
    queue,
    sell,
    stop,
)

# ----- queries, snapshots, batch ------------------------------------------------------------------


def test_queries() -> None:
    e = perp()
    for i, price in enumerate([100, 100, 99, 98, 97]):
        buy(e, i + 1, 1, price, 1)
    sell(e, 10, 2, 101, 4, client_order_id="c-10")
    assert e.depth(2) == ([(100, 2, 2), (99, 1, 1)], [(101, 4, 1)])
    assert e.depth() == ([(100, 2, 2), (99, 1, 1), (98, 1, 1), (97, 1, 1)], [(101, 4, 1)])
    assert queue(e, "BUY", 100) == [1, 2]
    assert e.level_orders("SELL", 50) == []
    info = e.order(10)
    assert info is not None
    assert (info.side, info.status, info.remaining, info.filled) == ("SELL", "OPEN", 4, 0)
    assert (info.order_type, info.account, info.client_order_id) == ("LIMIT", 2, "c-10")
    assert e.order(999) is None
    assert (e.resting_orders, e.best_bid(), e.best_ask()) == (6, (100, 2, 2), (101, 4, 1))


def build_state(e: ordex.Engine) -> None:
    buy(e, 1, 1, 100, 3)
    sell(e, 2, 2, 105, 3, client_order_id="x")
    stop(e, 3, 1, "TAKE_PROFIT_LIMIT", "BUY", 90, 91, time_in_force="GTD", expire_at=500)
    buy(e, 4, 3, 101, 2, time_in_force="GTD", expire_at=400)
    sell(e, 5, 4, 101, 1)
    e.set_mark_price(102)


def test_snapshot_round_trip_is_exact_and_behaves_the_same() -> None:
    e = perp()
    build_state(e)
    restored = ordex.Engine.restore(e.snapshot())
    assert restored.state_hash() == e.state_hash()
    assert restored.config == e.config
    for oid in (1, 2, 3, 4):
        assert restored.order(oid) == e.order(oid)
    assert (restored.last_seq, restored.last_price, restored.mark_price) == (
        e.last_seq,
        e.last_price,
        e.mark_price,
    )
    assert restored.position(4) == e.position(4) == -1
    # Both go on identically: expiry, a client id that is still taken, a trade.
    for engine in (e, restored):
        engine.advance_time(450)
    later: list[ordex.Order | ordex.AdvanceTime] = [
        ordex.Order(6, 2, "SELL", 106, 1, client_order_id="x"),
        ordex.Order(7, 5, "SELL", 99, 4),
        ordex.AdvanceTime(600),
    ]
    assert [ev.to_dict() for ev in e.process(later)] == [
        ev.to_dict() for ev in restored.process(later)
    ]
    assert restored.state_hash() == e.state_hash()


def test_state_hash_tells_states_apart() -> None:
    a, b = perp(), perp()
    assert a.state_hash() == b.state_hash()
    buy(a, 1, 1, 100, 1)
    assert a.state_hash() != b.state_hash()
    buy(b, 1, 1, 100, 1)
    assert a.state_hash() == b.state_hash()


BATCH: list[Any] = [
    ordex.Order(1, 1, "SELL", 100, 3),
    ordex.Order(2, 2, "SELL", 101, 3, client_order_id="b"),
    ordex.Order(3, 3, "BUY", 101, 4, time_in_force="IOC"),
    ordex.Order(4, 1, "BUY", None, 1, order_type="MARKET"),
    ordex.Order(5, 1, "SELL", None, 1, order_type="STOP_LOSS", trigger_price=95),
    ordex.Amend(2, 2, 102, None),
    ordex.Order(6, 3, "BUY", 99, 2, time_in_force="GTD", expire_at=10),
    ordex.SetMarkPrice(100),
    ordex.AdvanceTime(10),
    ordex.Cancel(2, 2),
    ordex.Cancel(2, 2),
    ordex.CancelAll(1),
    ordex.Order(7, 1, "BUY", 0, 1),
]


def test_batch_process_equals_single_calls() -> None:
    batched, single, submitted = perp(), perp(), perp()
    batch_events = [ev.to_dict() for ev in batched.process(BATCH)]
    single_events = [
        ev.to_dict()
        for events in (
            single.place(1, 1, "SELL", 100, 3),
            single.place(2, 2, "SELL", 101, 3, client_order_id="b"),
            single.place(3, 3, "BUY", 101, 4, time_in_force="IOC"),
            single.place(4, 1, "BUY", None, 1, order_type="MARKET"),
            single.place(5, 1, "SELL", None, 1, order_type="STOP_LOSS", trigger_price=95),
            single.amend(2, 2, price=102),
            single.place(6, 3, "BUY", 99, 2, time_in_force="GTD", expire_at=10),
            single.set_mark_price(100),
            single.advance_time(10),
            single.cancel(2, 2),
            single.cancel(2, 2),
            single.cancel_all(1),
            single.place(7, 1, "BUY", 0, 1),
        )
        for ev in events
    ]
    submitted_events = [ev.to_dict() for cmd in BATCH for ev in submitted.submit(cmd)]
    assert batch_events == single_events == submitted_events
    assert [d["seq"] for d in batch_events] == list(range(1, len(batch_events) + 1))
    assert batched.state_hash() == single.state_hash() == submitted.state_hash()
    assert len(batch_events) > 20  # the batch really exercised the book
    assert batched.process([]).kinds() == []


def test_command_objects_expose_their_fields() -> None:
    order = ordex.Order(1, 2, "BUY", None, 3, order_type="MARKET")
    assert (order.order_id, order.account, order.side, order.price, order.qty) == (
        1,
        2,
        "BUY",
        None,
        3,
    )
    assert (order.order_type, order.time_in_force, order.trigger_price) == ("MARKET", "IOC", None)
    assert ordex.Order(1, 2, "SELL", 5, 1).time_in_force == "GTC"
    amend = ordex.Amend(1, 2, None, 4)
    assert (amend.order_id, amend.account, amend.price, amend.qty) == (1, 2, None, 4)
    assert (ordex.Cancel(1, 2).order_id, ordex.CancelAll(3).account) == (1, 3)
    assert (ordex.AdvanceTime(9).now, ordex.SetMarkPrice(7).price) == (9, 7)


# ----- exceptions ---------------------------------------------------------------------------------


def test_not_aligned_price_raises_not_aligned_error() -> None:
    cfg = ordex.MarketConfig("BTC-PERP", "PERP", "BTC", "USDC", tick_size="0.1", lot_size="0.001")
    assert cfg.price_to_ticks("65000.5") == 650_005
    with pytest.raises(ordex.NotAlignedError) as info:
        cfg.price_to_ticks("65000.55")
    assert isinstance(info.value, ordex.DecimalFormatError)
    assert isinstance(info.value, ordex.OrdexError)
    with pytest.raises(ordex.NotAlignedError):
        cfg.qty_to_lots("0.0001")
    with pytest.raises(ordex.DecimalFormatError) as malformed:
        cfg.price_to_ticks("1e5")
    assert not isinstance(malformed.value, ordex.NotAlignedError)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param(
            {"tick_size": "0.0001", "lot_size": "0.0001", "quote_decimals": 2},
            id="grid-finer-than-atoms",
        ),
        pytest.param({"price_band": "0"}, id="zero-band"),
        pytest.param({"taker_fee": "1.5"}, id="fee-above-one"),
        pytest.param({"maker_fee": "-0.001"}, id="rebate-above-taker-fee"),
        pytest.param({"maintenance_margin": "0.2"}, id="mm-above-im"),
    ],
)
def test_invalid_config_error(overrides: Kwargs) -> None:
    settings: Kwargs = {"tick_size": "0.1", "lot_size": "0.001"}
    settings.update(overrides)
    with pytest.raises(ordex.InvalidConfigError) as info:
        ordex.MarketConfig("BTC-PERP", "PERP", "BTC", "USDC", **settings)
    assert isinstance(info.value, ordex.OrdexError)


def test_snapshot_format_error() -> None:
    for junk in (b"junk", b"", perp().snapshot()[:-3]):
        with pytest.raises(ordex.SnapshotFormatError):
            ordex.Engine.restore(junk)


def test_insufficient_margin_error_carries_required_and_available() -> None:
    cfg = ordex.MarketConfig("BTC-PERP", "PERP", "BTC", "USDC", tick_size="0.1", lot_size="0.001")
    flat = [ordex.Exposure(cfg, 0, 0, cfg.price_to_ticks("65000"), leverage=10)]
    with pytest.raises(ordex.InsufficientMarginError) as info:
        ordex.risk_check(
            cfg.quote_to_atoms("10000"),
            flat,
            0,
            "BUY",
            cfg.qty_to_lots("2"),
            cfg.price_to_ticks("65000"),
        )
    message, required, available = info.value.args
    assert "insufficient margin" in message
    assert (required, available) == (cfg.quote_to_atoms("13065"), cfg.quote_to_atoms("10000"))
    assert isinstance(info.value, ordex.MarginComputationError)
    with pytest.raises(ordex.InvalidLeverageError):
        ordex.initial_margin(cfg, 1, 1, 21)


def test_invalid_command_error() -> None:
    e = perp()
    with pytest.raises(ordex.InvalidCommandError) as info:
        e.process([object()])  # type: ignore[list-item]
    assert isinstance(info.value, ordex.OrdexError)
    with pytest.raises(ordex.InvalidCommandError):
        e.submit("cancel")  # type: ignore[arg-type]
    # Nothing of a refused batch was applied.
    with pytest.raises(ordex.InvalidCommandError):
        e.process([ordex.Order(1, 1, "BUY", 100, 1), None])  # type: ignore[list-item]
    assert e.last_seq == 0


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"side": "buy"}, id="lowercase-side"),
        pytest.param({"side": "UP"}, id="unknown-side"),
        pytest.param({"order_type": "ICEBERG"}, id="order-type"),
        pytest.param({"time_in_force": "DAY"}, id="time-in-force"),
        pytest.param({"stp": "CANCEL_NEWEST"}, id="stp"),
        pytest.param({"trigger_by": "INDEX"}, id="trigger-by"),
    ],
)
def test_bad_enum_strings_are_value_errors(overrides: Kwargs) -> None:
    args: Kwargs = {"side": "BUY"}
    args.update(overrides)
    side = args.pop("side")
    with pytest.raises(ValueError, match="must be one of"):
        perp().place(1, 1, side, 100, 1, **args)
    with pytest.raises(ValueError):
        ordex.Order(1, 1, side, 100, 1, **args)


def test_bad_side_in_queries_and_margin_functions() -> None:
    e = perp()
    with pytest.raises(ValueError):
        e.level_orders("SIDEWAYS", 100)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ordex.spot_hold(e.config, "SIDEWAYS", 1, 1)  # type: ignore[arg-type]


def test_events_container() -> None:
    e = perp()
    sell(e, 1, 1, 100, 2)
    events = buy(e, 2, 2, 100, 1)
    assert len(events) == 3
    assert events[-1] == events[2] != events[0]
    assert [ev.kind for ev in events] == events.kinds() == ["accepted", "trade", "book_delta"]
    with pytest.raises(IndexError):
        events[len(events)]
    with pytest.raises(IndexError):
        events[-len(events) - 1]
    trade = events[1]
    assert trade.order_id is None and trade.reason is None and trade.orders is None
    assert "taker_fee" in repr(trade)


def test_out_of_range_integers_raise_and_change_nothing() -> None:
    e = perp()
    with pytest.raises(OverflowError):
        e.place(-1, 1, "BUY", 100, 1)
    with pytest.raises(OverflowError):
        e.place(1, 1, "BUY", 2**63, 1)
    with pytest.raises(OverflowError):
        e.advance_time(-1)
    assert e.last_seq == 0


# ----- amounts at the engine's limits -------------------------------------------------------------
# Prices and quantities are each at most 10^15, so one trade's notional fits in i128. These tests
# hold the engine to exact amounts beyond a single order: fees, level totals and positions.

MAX_LOTS = 10**15


def test_fees_are_exact_on_an_18_decimal_quote() -> None:
    cfg = ordex.MarketConfig(
        "ETH-X", "SPOT", "ETH", "X", tick_size="0.0001", lot_size="0.000001", quote_decimals=18
    )
    e = ordex.Engine(cfg)
    price, qty = cfg.price_to_ticks("3000"), cfg.qty_to_lots("100")
    e.place(1, 1, "SELL", price, qty)
    trade = e.place(2, 2, "BUY", price, qty)[1]
    assert trade.kind == "trade"
    notional = ordex.notional(cfg, price, qty)
    assert cfg.format_quote(notional) == "300000"
    assert trade.taker_fee == ordex.fee(notional, cfg.taker_fee) == cfg.quote_to_atoms("150")
    assert trade.maker_fee == ordex.fee(notional, cfg.maker_fee)


def unit_market() -> ordex.MarketConfig:
    return ordex.MarketConfig(
        "X", "PERP", "X", "USD", tick_size="1", lot_size="1", quote_decimals=0
    )


def test_level_totals_never_wrap() -> None:
    e = ordex.Engine(unit_market())
    events = e.process([ordex.Order(i, 1, "SELL", 100, MAX_LOTS) for i in range(1, 9300)])
    resting = sum(o.remaining for o in e.level_orders("SELL", 100))
    level = e.best_ask()
    assert level is not None
    assert level[1] == resting > 0
    assert events[len(events) - 1].qty == resting


def test_positions_never_wrap() -> None:
    e = ordex.Engine(unit_market())
    bought = 0
    for i in range(1, 9300):
        e.place(2 * i, 2, "SELL", 100, MAX_LOTS)
        bought += sum(t[3] for t in e.place(2 * i + 1, 1, "BUY", 100, MAX_LOTS).trades())
    assert e.position(1) == bought > 0


def test_a_failing_command_iterable_applies_nothing() -> None:
    e = perp()

    def commands() -> Iterator[ordex.Order]:
        yield ordex.Order(1, 1, "BUY", 100, 1)
        raise KeyError("source broke")

    with pytest.raises(KeyError):
        e.process(commands())
    assert (e.last_seq, e.resting_orders) == (0, 0)


def test_concurrent_batches_on_one_engine_never_corrupt_it() -> None:
    # `process` matches with the GIL released; a second thread reaching the same engine meanwhile
    # is refused (RuntimeError "Already borrowed") rather than let in.
    e = perp()
    returned: list[int] = []
    refused: list[str] = []

    def worker(account: int) -> None:
        for round_no in range(100):
            batch = [
                ordex.Order(
                    account * 10**6 + round_no * 100 + i,
                    account,
                    "BUY" if (i + account) % 2 else "SELL",
                    95 + (i * 7 + account) % 10,
                    1 + i % 3,
                )
                for i in range(40)
            ]
            try:
                returned.append(len(e.process(batch)))
            except RuntimeError as error:
                refused.append(str(error))

    threads = [threading.Thread(target=worker, args=(account,)) for account in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    e.check_invariants()
    assert sum(returned) == e.last_seq
    assert set(refused) <= {"Already borrowed"}
