"""`Engine.process_json`: the stream workers' path, JSON command payloads in, JSON events out.

A worked round trip checks the wire format (decimal strings in market units, fees as quote
decimals, `cmd_id` echoed, gap-free `seq`). Fuzz tests then feed arbitrary bytes and mutated valid
payloads: every payload must give at least one event, every malformed one a `rejected` event with
a reason and a detail, never an exception, and the book must stay intact.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ordex

REJECT_REASONS = {
    "INVALID_QUANTITY",
    "BELOW_MIN_QUANTITY",
    "INVALID_PRICE",
    "PRICE_NOT_ALIGNED",
    "QUANTITY_NOT_ALIGNED",
    "MISSING_PRICE",
    "UNEXPECTED_PRICE",
    "MISSING_TRIGGER_PRICE",
    "UNEXPECTED_TRIGGER_PRICE",
    "WOULD_TRIGGER_IMMEDIATELY",
    "INVALID_TIME_IN_FORCE",
    "MISSING_EXPIRE_TIME",
    "EXPIRE_TIME_IN_PAST",
    "POST_ONLY_WOULD_TAKE",
    "POST_ONLY_NOT_ALLOWED",
    "REDUCE_ONLY_NOT_ALLOWED",
    "REDUCE_ONLY_WOULD_INCREASE",
    "DUPLICATE_ORDER_ID",
    "DUPLICATE_CLIENT_ORDER_ID",
    "INVALID_CLIENT_ORDER_ID",
    "ORDER_NOT_FOUND",
    "AMEND_NOT_ALLOWED",
    "NO_REFERENCE_PRICE",
    "MALFORMED_COMMAND",
    "UNKNOWN_MARKET",
}
# Rejections that only the decoder gives (the engine itself never sees such a command).
DECODE_REASONS = {
    "MALFORMED_COMMAND",
    "PRICE_NOT_ALIGNED",
    "QUANTITY_NOT_ALIGNED",
    "INVALID_CLIENT_ORDER_ID",
}


def btc_perp() -> ordex.Engine:
    cfg = ordex.MarketConfig("BTC-PERP", "PERP", "BTC", "USDC", tick_size="0.1", lot_size="0.001")
    return ordex.Engine(cfg)


def encode(command: dict[str, Any]) -> bytes:
    return json.dumps(command).encode()


def run(engine: ordex.Engine, payloads: list[bytes]) -> list[dict[str, Any]]:
    events = [json.loads(raw) for raw in engine.process_json(payloads)]
    engine.check_invariants()
    return events


def test_round_trip_place_trade_cancel() -> None:
    e = btc_perp()
    events = run(
        e,
        [
            encode(
                {
                    "type": "place",
                    "cmd_id": 1,
                    "order_id": 1,
                    "account": 7,
                    "side": "SELL",
                    "price": "65000.5",
                    "qty": "0.25",
                    "client_order_id": "maker-1",
                }
            ),
            encode(
                {
                    "type": "place",
                    "cmd_id": 2,
                    "order_id": 2,
                    "account": 8,
                    "side": "BUY",
                    "order_type": "MARKET",
                    "qty": "0.1",
                }
            ),
            encode({"type": "cancel", "cmd_id": 3, "order_id": 1, "account": 7}),
        ],
    )
    assert [(ev["type"], ev.get("cmd_id")) for ev in events] == [
        ("accepted", 1),
        ("book_delta", 1),
        ("accepted", 2),
        ("trade", 2),
        ("book_delta", 2),
        ("cancelled", 3),
        ("book_delta", 3),
    ]
    assert [ev["seq"] for ev in events] == list(range(1, 8))
    assert all(ev["market"] == "BTC-PERP" for ev in events)
    assert events[0] == {
        "seq": 1,
        "type": "accepted",
        "market": "BTC-PERP",
        "cmd_id": 1,
        "order_id": 1,
        "account": 7,
        "side": "SELL",
        "order_type": "LIMIT",
        "qty": "0.25",
        "price": "65000.5",
    }
    assert events[2]["price"] is None  # a market order without a protection price
    # Notional 6500.05 USDC: taker 0.05% = 3.2500250, maker 0.02% = 1.30001.
    assert events[3] == {
        "seq": 4,
        "type": "trade",
        "market": "BTC-PERP",
        "cmd_id": 2,
        "taker_order_id": 2,
        "taker_account": 8,
        "maker_order_id": 1,
        "maker_account": 7,
        "taker_side": "BUY",
        "price": "65000.5",
        "qty": "0.1",
        "taker_fee": "3.250025",
        "maker_fee": "1.30001",
    }
    assert events[4] == {
        "seq": 5,
        "type": "book_delta",
        "market": "BTC-PERP",
        "cmd_id": 2,
        "side": "SELL",
        "price": "65000.5",
        "qty": "0.15",
        "orders": 1,
    }
    assert events[5]["remaining"] == "0.15"
    assert events[5]["reason"] == "USER"
    assert events[6]["qty"] == "0"
    assert e.last_seq == 7
    assert e.resting_orders == 0


def test_json_path_equals_the_typed_api() -> None:
    typed, encoded = btc_perp(), btc_perp()
    cfg = typed.config
    typed.place(1, 7, "SELL", cfg.price_to_ticks("65000.5"), cfg.qty_to_lots("0.25"))
    typed.amend(1, 7, qty=cfg.qty_to_lots("0.2"))
    typed.set_mark_price(cfg.price_to_ticks("65000"))
    typed.place(
        2, 8, "BUY", cfg.price_to_ticks("65001"), cfg.qty_to_lots("0.3"), time_in_force="IOC"
    )
    run(
        encoded,
        [
            b'{"type":"place","order_id":1,"account":7,"side":"SELL","price":"65000.5","qty":"0.25"}',
            b'{"type":"amend","order_id":1,"account":7,"qty":"0.2"}',
            b'{"type":"set_mark_price","price":"65000"}',
            b'{"type":"place","order_id":2,"account":8,"side":"BUY","price":"65001","qty":"0.3",'
            b'"time_in_force":"IOC"}',
        ],
    )
    assert encoded.state_hash() == typed.state_hash()


@pytest.mark.parametrize(
    ("payload", "reason", "order_id"),
    [
        pytest.param(b"not json", "MALFORMED_COMMAND", 0, id="not-json"),
        pytest.param(b"", "MALFORMED_COMMAND", 0, id="empty"),
        pytest.param(
            b"[1,2,3]",
            "MALFORMED_COMMAND",
            0,
            id="array",
        ),
        pytest.param(b'{"type":"teleport"}', "MALFORMED_COMMAND", 0, id="unknown-type"),
        pytest.param(
            b'{"type":"PLACE","order_id":4,"account":3}', "MALFORMED_COMMAND", 4, id="type-case"
        ),
        pytest.param(
            b'{"type":"place","order_id":5,"account":3,"side":"BUY","price":"65000.55","qty":"1"}',
            "PRICE_NOT_ALIGNED",
            5,
            id="price-off-tick",
        ),
        pytest.param(
            b'{"type":"place","order_id":6,"account":3,"side":"BUY","price":"1","qty":"0.0001"}',
            "QUANTITY_NOT_ALIGNED",
            6,
            id="qty-off-lot",
        ),
        pytest.param(
            b'{"type":"place","order_id":7,"account":3,"side":"UP","price":"1","qty":"1"}',
            "MALFORMED_COMMAND",
            7,
            id="bad-side",
        ),
        pytest.param(
            b'{"type":"place","order_id":8,"account":3,"side":"BUY","price":"-1","qty":"1"}',
            "INVALID_PRICE",
            8,
            id="negative-price",
        ),
        pytest.param(
            b'{"type":"place","order_id":9,"account":3,"side":"BUY","price":"1e5","qty":"1"}',
            "INVALID_PRICE",
            9,
            id="exponent-notation",
        ),
        pytest.param(
            b'{"type":"place","order_id":10,"account":3,"side":"BUY","price":65000.5,"qty":"1"}',
            "MALFORMED_COMMAND",
            10,
            id="price-as-number",
        ),
        pytest.param(
            b'{"type":"place","order_id":11,"account":3,"side":"BUY","price":"1","qty":"0"}',
            "INVALID_QUANTITY",
            11,
            id="zero-qty",
        ),
        pytest.param(
            b'{"type":"place","order_id":12,"account":3,"side":"BUY","price":"99999999999999999999999",'
            b'"qty":"1"}',
            "INVALID_PRICE",
            12,
            id="huge-price",
        ),
        pytest.param(
            b'{"type":"place","order_id":13,"account":3,"side":"BUY","price":"1","qty":"1",'
            b'"client_order_id":"\xc3\xa9t\xc3\xa9"}',
            "INVALID_CLIENT_ORDER_ID",
            13,
            id="unicode-client-id",
        ),
        pytest.param(
            b'{"type":"place","order_id":18446744073709551616,"account":3}',
            "MALFORMED_COMMAND",
            0,
            id="order-id-above-u64",
        ),
        pytest.param(
            b'{"type":"cancel","order_id":-1,"account":3}', "MALFORMED_COMMAND", 0, id="negative-id"
        ),
        pytest.param(
            b'{"type":"advance_time","now":"5"}', "MALFORMED_COMMAND", 0, id="now-as-string"
        ),
        pytest.param(b'{"type":"set_mark_price","price":"0"}', "INVALID_PRICE", 0, id="zero-mark"),
        pytest.param(b"\xff\xfe\x00", "MALFORMED_COMMAND", 0, id="invalid-utf8"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "MALFORMED_COMMAND", 0, id="deep-nesting"),
        pytest.param(
            b'{"type":"place","order_id":14,"account":3,"side":"BUY","price":"1","qty":"1"}{}',
            "MALFORMED_COMMAND",
            0,  # the envelope is read from the whole payload, which is not one JSON value
            id="trailing-data",
        ),
    ],
)
def test_malformed_payloads_become_rejections(payload: bytes, reason: str, order_id: int) -> None:
    e = btc_perp()
    events = run(e, [b'{"cmd_id": 1, "type": "cancel_all", "account": 1}', payload])
    assert len(events) == 1  # cancel-all of an account without orders says nothing
    (event,) = events
    assert event["type"] == "rejected"
    assert event["reason"] == reason
    assert event["order_id"] == order_id
    assert event["seq"] == 1
    assert isinstance(event["detail"], str) and event["detail"]
    assert e.resting_orders == 0


def test_rejection_echoes_cmd_id_and_envelope() -> None:
    e = btc_perp()
    payload = b'{"type":"place","cmd_id":42,"order_id":9,"account":4,"side":"BUY","price":"0.05","qty":"1"}'
    (event,) = run(e, [payload])
    assert (event["cmd_id"], event["order_id"], event["account"]) == (42, 9, 4)
    assert event["reason"] == "PRICE_NOT_ALIGNED"


# ----- fuzzing ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["65000.5", "0.001", "-1", "1e5", "0", "", " 1", "NaN", "١٢٣", "0." + "0" * 40 + "1"]
    ),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

VALID_COMMANDS: list[dict[str, Any]] = [
    {
        "type": "place",
        "order_id": 1,
        "account": 1,
        "side": "SELL",
        "price": "65000.5",
        "qty": "0.25",
    },
    {"type": "place", "order_id": 2, "account": 2, "side": "BUY", "price": "65001", "qty": "0.1"},
    {
        "type": "place",
        "order_id": 3,
        "account": 2,
        "side": "BUY",
        "order_type": "MARKET",
        "qty": "0.01",
    },
    {
        "type": "place",
        "order_id": 4,
        "account": 3,
        "side": "SELL",
        "order_type": "STOP_LOSS_LIMIT",
        "price": "64000",
        "trigger_price": "64500",
        "time_in_force": "GTD",
        "expire_at": 100,
        "client_order_id": "stop-4",
    },
    {
        "type": "place",
        "order_id": 5,
        "account": 1,
        "side": "BUY",
        "price": "64999",
        "qty": "1",
        "post_only": True,
    },
    {"type": "amend", "order_id": 1, "account": 1, "price": "65002", "qty": "0.3"},
    {"type": "cancel", "order_id": 2, "account": 2},
    {"type": "cancel_all", "account": 1},
    {"type": "advance_time", "now": 50},
    {"type": "set_mark_price", "price": "64900.1"},
]
TEXT_MUTATIONS = [
    "65000.5",
    "-1",
    "1e5",
    "",
    "1.",
    ".5",
    "99999999999999999999999999",
    "é",
    "0.0001",
]


@st.composite
def mutated_payloads(draw: st.DrawFn) -> bytes:
    command = dict(draw(st.sampled_from(VALID_COMMANDS)))
    if draw(st.booleans()):
        command["cmd_id"] = draw(st.integers(0, 2**64 - 1))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from([*command, "cmd_id", "order_id", "extra", "type"]))
        action = draw(st.sampled_from(["drop", "json", "huge", "text", "none"]))
        if action == "drop":
            command.pop(key, None)
        elif action == "json":
            command[key] = draw(json_values)
        elif action == "huge":
            command[key] = draw(st.sampled_from([2**64, 2**64 - 1, 2**63, -(2**63), -1, 10**30]))
        elif action == "text":
            command[key] = draw(st.sampled_from(TEXT_MUTATIONS))
        else:
            command[key] = None
    raw = json.dumps(command, ensure_ascii=draw(st.booleans())).encode()
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(raw)))
        raw = raw[:cut]  # truncated in transit
    return raw


payloads = st.one_of(
    mutated_payloads(),
    mutated_payloads(),
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(VALID_COMMANDS).map(encode),
)


def is_u64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64


def echoed_cmd_id(raw: bytes) -> int | None:
    """The `cmd_id` every event of this payload must carry: set when the payload is an object
    whose envelope fields (`cmd_id`, `order_id`, `account`) are all absent, null or u64."""
    try:
        command = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(command, dict) or not is_u64(command.get("cmd_id")):
        return None
    for key in ("order_id", "account"):
        if command.get(key) is not None and not is_u64(command[key]):
            return None
    cmd_id: int = command["cmd_id"]
    return cmd_id


SILENT_WHEN_IDLE = {"advance_time", "set_mark_price", "cancel_all"}


def is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=st.lists(payloads, max_size=40))
def test_any_payload_gives_events_never_an_exception(stream: list[bytes]) -> None:
    one_by_one, batched = btc_perp(), btc_perp()
    all_events: list[bytes] = []
    for raw in stream:
        before = one_by_one.last_seq
        out = one_by_one.process_json([raw])
        one_by_one.check_invariants()
        all_events.extend(out)
        events = [json.loads(b) for b in out]
        if not events:
            # Only a well-formed command that found nothing to do is silent (the Rust scenario
            # `gtd_expires_when_time_passes_it` expects no events from such an AdvanceTime).
            assert json.loads(raw)["type"] in SILENT_WHEN_IDLE, raw
        assert [ev["seq"] for ev in events] == list(range(before + 1, before + 1 + len(events)))
        for ev in events:
            assert ev["market"] == "BTC-PERP"
            if ev["type"] == "rejected":
                assert ev["reason"] in REJECT_REASONS
            if ev.get("detail") is not None:
                # Only a decoding failure carries a detail, and it is always a lone rejection.
                assert (len(events), ev["type"]) == (1, "rejected")
                assert ev["reason"] in DECODE_REASONS | {"INVALID_PRICE", "INVALID_QUANTITY"}
        cmd_id = echoed_cmd_id(raw)
        if cmd_id is not None:
            assert all(ev.get("cmd_id") == cmd_id for ev in events), raw
        if not is_json_object(raw):
            assert len(events) == 1
            assert (events[0]["type"], events[0]["reason"]) == ("rejected", "MALFORMED_COMMAND")
            assert events[0]["detail"]
    # The batch path gives byte-identical output and the same state.
    assert batched.process_json(stream) == all_events
    assert batched.state_hash() == one_by_one.state_hash()
    # And the engine still works.
    ok = json.loads(
        one_by_one.process_json(
            [b'{"type":"place","order_id":999,"account":99,"side":"BUY","price":"1","qty":"0.001"}']
        )[0]
    )
    assert ok["type"] in ("accepted", "rejected")
    assert ordex.Engine.restore(one_by_one.snapshot()).state_hash() == one_by_one.state_hash()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'{"type":"place","order_id":1,"cmd_id":42}', (42, None)),
        (b'{"type":"cancel","cmd_id":true}', (None, None)),
        (b'{"type":"advance_time","now":1}', (None, None)),
        (b'{"type":"cancel","cmd_id":18446744073709551615}', (2**64 - 1, None)),
        (b'{"no_type": 1}', (None, "not a command object with a type")),
        (b"[1, 2]", (None, "not a command object with a type")),
    ],
)
def test_peek_commands_reads_the_envelope(
    payload: bytes, expected: tuple[int | None, str | None]
) -> None:
    assert ordex.peek_commands([payload]) == [expected]


def test_peek_commands_names_what_is_no_json() -> None:
    [(cmd_id, reason)] = ordex.peek_commands([b"{not json"])
    assert cmd_id is None and reason is not None and reason.startswith("not JSON: ")
    assert ordex.peek_commands([]) == []
