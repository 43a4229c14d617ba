"""The droid's decisions without the chain: ladder layout, funding curves, trigger, hysteresis."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from ordex.services.droid_ladder import (
    Direction,
    Held,
    LadderConfig,
    Trigger,
    TriggerState,
    build_direction,
    centre_range,
    curve_weights,
    fired,
    in_band,
    layout,
    plan_rebalance,
    rung_funding,
    trigger_price,
)


def config(**overrides: object) -> LadderConfig:
    values: dict[str, object] = {
        "fee_tier": 3000,
        "tick_buckets": 10,
        "bucket_offset": 4,
        "max_bots": 5,
        "funding_usd": Decimal(50_000),
    }
    values.update(overrides)
    return LadderConfig(**values)  # type: ignore[arg-type]


def test_curve_weights_follow_the_formulas() -> None:
    assert curve_weights("LINEAR", 5) == [5, 4, 3, 2, 1]
    assert [float(w) for w in curve_weights("DECAY", 4)] == pytest.approx([1, 0.4, 0.16, 0.064])
    gaussian = [float(w) for w in curve_weights("GAUSSIAN", 4)]
    assert gaussian == pytest.approx([math.exp(-((i / 1.5) ** 2) / 2) for i in range(4)])
    with pytest.raises(ValueError):
        curve_weights("CUBIC", 3)


@pytest.mark.parametrize("curve", ["LINEAR", "DECAY", "GAUSSIAN"])
def test_funding_never_adds_up_past_funding_usd(curve: str) -> None:
    shares = rung_funding(curve, 7, Decimal("12345.67"))
    assert sum(shares) <= Decimal("12345.67")
    assert sum(shares) > Decimal("12345.66")
    assert shares == sorted(shares, reverse=True)


def test_layout_built_out_alternates_above_and_below() -> None:
    # tick 196256, spacing 60: centre [195900, 196500], steps of 4 x 60 = 240 ticks.
    rungs = layout(196256, config(), Direction.OUT)
    assert [(r.index, r.tick_lower, r.tick_upper) for r in rungs] == [
        (0, 195900, 196500),
        (1, 196140, 196740),
        (2, 195660, 196260),
        (3, 196380, 196980),
        (4, 195420, 196020),
    ]
    assert [r.funding_usd for r in rungs] == [
        Decimal("16666.666666"),
        Decimal("13333.333333"),
        Decimal(10_000),
        Decimal("6666.666666"),
        Decimal("3333.333333"),
    ]


def test_layout_built_up_and_down() -> None:
    up = layout(-125, config(max_bots=3, bucket_offset=10), Direction.UP)
    # floor(-125 / 60) * 60 = -180: built up the centre starts at the tick's spacing.
    assert [(r.tick_lower, r.tick_upper) for r in up] == [(-180, 420), (420, 1020), (1020, 1620)]
    down = layout(-125, config(max_bots=3, bucket_offset=10), Direction.DOWN)
    assert [(r.tick_lower, r.tick_upper) for r in down] == [
        (-720, -120),
        (-1320, -720),
        (-1920, -1320),
    ]
    assert all(r.tick_lower % 60 == 0 and r.tick_upper % 60 == 0 for r in up + down)


def test_zero_offset_stacks_rungs_on_the_centre() -> None:
    rungs = layout(0, config(bucket_offset=0, max_bots=3), Direction.OUT)
    assert {(r.tick_lower, r.tick_upper) for r in rungs} == {centre_range(0, config())}


def test_ema_warms_up_and_tracks_the_price() -> None:
    cfg = config(trigger_type="EMA", ema_length=3)
    state = TriggerState()
    state.update(Decimal(100), 3)
    assert trigger_price(cfg, state, Decimal(100)) is None  # no action before warm-up
    state.update(Decimal(110), 3)
    assert state.ema == Decimal(105)  # a = 2 / (3 + 1)
    state.update(Decimal(110), 3)
    assert trigger_price(cfg, state, Decimal(120)) == Decimal("107.5")
    assert float(state.slope()) == pytest.approx(2.5 / 105)
    assert trigger_price(config(trigger_type="PRICE"), state, Decimal(120)) == Decimal(120)


def test_triggers_direction_and_band() -> None:
    cfg = config(
        falling_trigger=Decimal("0.03"),
        rising_trigger=Decimal("0.05"),
        derivative_threshold=Decimal("0.01"),
        min_price=Decimal(2500),
        max_price=Decimal(4000),
    )
    assert fired(cfg, Decimal(3000), Decimal(2911)) is None
    assert fired(cfg, Decimal(3000), Decimal(2909)) is Trigger.FALLING
    assert fired(cfg, Decimal(3000), Decimal(3149)) is None
    assert fired(cfg, Decimal(3000), Decimal(3151)) is Trigger.RISING
    assert build_direction(cfg, Decimal("0.02")) is Direction.UP
    assert build_direction(cfg, Decimal("-0.02")) is Direction.DOWN
    assert build_direction(cfg, Decimal("0.005")) is Direction.OUT
    assert in_band(cfg, Decimal(2500)) and in_band(cfg, Decimal(4000))
    assert not in_band(cfg, Decimal(2499)) and not in_band(cfg, Decimal(4001))


def test_hysteresis_replaces_a_rung_only_beyond_the_margin() -> None:
    cfg = config(max_bots=2, bucket_offset=10, ladder_margin=Decimal("0.5"))
    target = layout(0, cfg, Direction.OUT)  # centre [-300, 300], rung 1 [300, 900]
    centre = Held(1, -300, 300)
    # A rung 0.3 of a range farther than the new one: within the margin, kept.
    near = Held(2, 480, 1080)
    plan = plan_rebalance([centre, near], target, 0, cfg)
    assert (plan.keep, plan.close, plan.mint) == ([centre, near], [], [])
    # 1.5 ranges farther: replaced by the target rung.
    far = Held(3, 1200, 1800)
    plan = plan_rebalance([centre, far], target, 0, cfg)
    assert plan.keep == [centre] and plan.close == [far]
    assert [(r.tick_lower, r.tick_upper) for r in plan.mint] == [(300, 900)]
    # A free slot is filled without closing anything.
    plan = plan_rebalance([centre], target, 0, cfg)
    assert plan.close == [] and len(plan.mint) == 1
    # Nothing left to do once the ladder is the target.
    done = plan_rebalance([centre, Held(4, 300, 900)], target, 0, cfg)
    assert done.close == [] and done.mint == []
