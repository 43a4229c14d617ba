"""A droid's decisions, without the chain: the ladder's ticks and funding, the trigger, when to
rebalance and in which direction, which rungs to replace (hysteresis) and the price band.

Rung 0 is the centre, the range holding the current tick; rung k > 0 sits `distance` rung steps
(`bucketOffset` tick spacings each) away from it: above when the ladder is built up, below when
built down, alternately above and below when built out. Every range is `tickBuckets` spacings wide.
Rung k is funded `w_k / sum(w) x fundingUSD` with the curve's weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from enum import StrEnum

from ordex.services import droid_math

TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
DEFAULT_EMA_LENGTH = 10


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    OUT = "out"


class Trigger(StrEnum):
    FALLING = "falling"
    RISING = "rising"


@dataclass(frozen=True, slots=True)
class LadderConfig:
    """The droid fields the decisions use (prices in token1 per token0, human units)."""

    fee_tier: int
    tick_buckets: int
    bucket_offset: int
    max_bots: int
    funding_usd: Decimal
    funding_curve: str = "LINEAR"
    trigger_type: str = "PRICE"
    ema_length: int = DEFAULT_EMA_LENGTH
    falling_trigger: Decimal = Decimal("0.03")
    rising_trigger: Decimal = Decimal("0.05")
    derivative_threshold: Decimal = Decimal("0.01")
    ladder_margin: Decimal = Decimal("0")
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    @property
    def tick_spacing(self) -> int:
        return tick_spacing(self.fee_tier)

    @property
    def width(self) -> int:
        return self.tick_buckets * self.tick_spacing


@dataclass(frozen=True, slots=True)
class Rung:
    index: int  # 0 = the centre
    tick_lower: int
    tick_upper: int
    funding_usd: Decimal

    @property
    def mid_tick(self) -> Decimal:
        return Decimal(self.tick_lower + self.tick_upper) / 2


def tick_spacing(fee_tier: int) -> int:
    try:
        return TICK_SPACING[fee_tier]
    except KeyError:
        raise ValueError(f"unknown fee tier {fee_tier}") from None


def curve_weights(curve: str, count: int) -> list[Decimal]:
    """The funding weights of rungs 0..count-1 (LINEAR, DECAY or GAUSSIAN)."""
    with localcontext() as ctx:
        ctx.prec = 34
        if curve == "LINEAR":
            return [Decimal(count - i) for i in range(count)]
        if curve == "DECAY":
            return [Decimal("0.4") ** i for i in range(count)]
        if curve == "GAUSSIAN":
            return [(-((Decimal(i) / Decimal("1.5")) ** 2) / 2).exp() for i in range(count)]
    raise ValueError(f"unknown funding curve {curve}")


def rung_funding(curve: str, count: int, funding_usd: Decimal) -> list[Decimal]:
    """Each rung's share of `funding_usd`, never summing past it."""
    weights = curve_weights(curve, count)
    total = sum(weights, Decimal(0))
    with localcontext() as ctx:
        ctx.prec = 34
        shares = [
            (w * funding_usd / total).quantize(Decimal("0.000001"), rounding="ROUND_DOWN")
            for w in weights
        ]
    return shares


def centre_range(
    tick: int, config: LadderConfig, direction: Direction = Direction.OUT
) -> tuple[int, int]:
    """The centre range, `tickBuckets` spacings wide, holding `tick`.

    Built out, the tick sits in the middle spacing of the range; built up the range starts at the
    tick's spacing (the ladder goes up from there); built down it ends just above it.
    """
    spacing = config.tick_spacing
    base = math.floor(tick / spacing) * spacing
    if direction is Direction.UP:
        lower = base
    elif direction is Direction.DOWN:
        lower = base + spacing - config.width
    else:
        lower = base - (config.tick_buckets // 2) * spacing
    return lower, lower + config.width


def rung_distance(index: int, direction: Direction) -> int:
    """How many rung steps from the centre rung `index` sits, signed (+ above, - below)."""
    if index == 0:
        return 0
    if direction is Direction.UP:
        return index
    if direction is Direction.DOWN:
        return -index
    steps = (index + 1) // 2
    return steps if index % 2 == 1 else -steps


def layout(tick: int, config: LadderConfig, direction: Direction = Direction.OUT) -> list[Rung]:
    """The ladder around `tick`: the centre and `maxBots - 1` rungs with their funding."""
    centre_lower, centre_upper = centre_range(tick, config, direction)
    step = config.bucket_offset * config.tick_spacing
    funding = rung_funding(config.funding_curve, config.max_bots, config.funding_usd)
    rungs = []
    for index in range(config.max_bots):
        distance = rung_distance(index, direction)
        if distance >= 0:
            lower = centre_lower + distance * step
            upper = lower + config.width
        else:
            upper = centre_upper + distance * step
            lower = upper - config.width
        lower, upper = _clamp(lower, upper, config.tick_spacing)
        rungs.append(Rung(index, lower, upper, funding[index]))
    return rungs


def _clamp(lower: int, upper: int, spacing: int) -> tuple[int, int]:
    low = -(droid_math.MAX_TICK // spacing) * spacing
    high = (droid_math.MAX_TICK // spacing) * spacing
    return max(lower, low), min(upper, high)


def tick_price(tick: Decimal | int, decimals0: int, decimals1: int) -> Decimal:
    """1.0001^tick in human units (token1 per token0)."""
    with localcontext() as ctx:
        ctx.prec = 34
        return (Decimal("1.0001") ** Decimal(tick)) * Decimal(10) ** (decimals0 - decimals1)


@dataclass(slots=True)
class TriggerState:
    """The trigger's memory between cycles: the EMA and how many prices it has seen."""

    ema: Decimal | None = None
    previous_ema: Decimal | None = None
    samples: int = 0

    def update(self, price: Decimal, length: int) -> None:
        with localcontext() as ctx:
            ctx.prec = 34
            alpha = Decimal(2) / Decimal(length + 1)
            self.previous_ema = self.ema
            self.ema = price if self.ema is None else alpha * price + (1 - alpha) * self.ema
        self.samples += 1

    def warm(self, length: int) -> bool:
        return self.samples >= length

    def slope(self) -> Decimal:
        """The EMA's relative change over the last sample (0 before two samples)."""
        if self.ema is None or self.previous_ema is None or self.previous_ema == 0:
            return Decimal(0)
        with localcontext() as ctx:
            ctx.prec = 34
            return (self.ema - self.previous_ema) / self.previous_ema


def trigger_price(config: LadderConfig, state: TriggerState, spot: Decimal) -> Decimal | None:
    """The price the triggers compare: the EMA once warmed up (None before), or the spot price."""
    if config.trigger_type == "EMA":
        return state.ema if state.warm(config.ema_length) else None
    return spot


def fired(config: LadderConfig, centre_mid: Decimal, price: Decimal) -> Trigger | None:
    """FALLING below mid x (1 - falling), RISING above mid x (1 + rising), else None."""
    if price < centre_mid * (1 - config.falling_trigger):
        return Trigger.FALLING
    if price > centre_mid * (1 + config.rising_trigger):
        return Trigger.RISING
    return None


def build_direction(config: LadderConfig, slope: Decimal) -> Direction:
    """Up above the derivative threshold, down below its negative, otherwise out."""
    if slope > config.derivative_threshold:
        return Direction.UP
    if slope < -config.derivative_threshold:
        return Direction.DOWN
    return Direction.OUT


def in_band(config: LadderConfig, price: Decimal) -> bool:
    if config.min_price is not None and price < config.min_price:
        return False
    return config.max_price is None or price <= config.max_price


@dataclass(frozen=True, slots=True)
class Held:
    """A position the droid holds: its id and range."""

    position_id: int
    tick_lower: int
    tick_upper: int


@dataclass(frozen=True, slots=True)
class Plan:
    keep: list[Held]
    close: list[Held]
    mint: list[Rung]


def distance_in_ranges(tick_lower: int, tick_upper: int, tick: int, width: int) -> Decimal:
    """How far a range's middle is from the price tick, in range widths."""
    return abs(Decimal(tick_lower + tick_upper) / 2 - tick) / Decimal(width)


def plan_rebalance(held: list[Held], target: list[Rung], tick: int, config: LadderConfig) -> Plan:
    """Which held positions to close and which target rungs to mint.

    A held position with exactly a target's range stays. Otherwise each remaining target, nearest
    the price first, replaces the farthest remaining held position only when it sits closer to
    the price by more than `ladderPercMargin` of a range; a held position nobody replaces stays.
    """
    width = config.width
    remaining = list(held)
    open_targets: list[Rung] = []
    keep: list[Held] = []
    for rung in target:
        same = next(
            (
                h
                for h in remaining
                if (h.tick_lower, h.tick_upper) == (rung.tick_lower, rung.tick_upper)
            ),
            None,
        )
        if same is not None:
            remaining.remove(same)
            keep.append(same)
        else:
            open_targets.append(rung)
    open_targets.sort(key=lambda r: distance_in_ranges(r.tick_lower, r.tick_upper, tick, width))
    remaining.sort(
        key=lambda h: distance_in_ranges(h.tick_lower, h.tick_upper, tick, width), reverse=True
    )
    close: list[Held] = []
    mint: list[Rung] = []
    slots = config.max_bots - len(keep) - len(remaining)
    for rung in open_targets:
        new_distance = distance_in_ranges(rung.tick_lower, rung.tick_upper, tick, width)
        if slots > 0:
            mint.append(rung)
            slots -= 1
            continue
        if not remaining:
            break
        old = remaining[0]
        old_distance = distance_in_ranges(old.tick_lower, old.tick_upper, tick, width)
        if old_distance - new_distance > config.ladder_margin:
            remaining.pop(0)
            close.append(old)
            mint.append(rung)
    keep.extend(remaining)
    return Plan(keep=keep, close=close, mint=mint)
