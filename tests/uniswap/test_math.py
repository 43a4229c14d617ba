"""The Rust pool arithmetic against plain-integer formulas on random cases, Uniswap's published
vectors, and the refusals on bad input."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from ordex import OrdexError
from ordex import uniswap as u
from tests.uniswap import reference as ref

CASES = 2_000


def rng(name: str) -> random.Random:
    return random.Random(f"uniswap-{name}")


def random_price(r: random.Random) -> int:
    """A sqrt price anywhere in the pool's range, biased to realistic and extreme magnitudes."""
    if r.random() < 0.5:
        return r.randrange(ref.MIN_SQRT_RATIO, ref.MAX_SQRT_RATIO)
    return max(ref.MIN_SQRT_RATIO, min(ref.MAX_SQRT_RATIO - 1, r.getrandbits(r.randint(33, 160))))


def random_uint(r: random.Random, bits: int) -> int:
    return r.getrandbits(r.randint(0, bits))


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    """The value, or "error" when the call is refused (either implementation's way)."""
    try:
        return fn(*args)
    except (ref.MathError, u.UniswapMathError):
        return "error"


def test_constants_are_the_extreme_ticks() -> None:
    assert u.get_sqrt_ratio_at_tick(u.MIN_TICK) == u.MIN_SQRT_RATIO
    assert u.get_sqrt_ratio_at_tick(u.MAX_TICK) == u.MAX_SQRT_RATIO
    assert u.get_tick_at_sqrt_ratio(u.MIN_SQRT_RATIO) == u.MIN_TICK
    assert u.get_tick_at_sqrt_ratio(u.MAX_SQRT_RATIO - 1) == u.MAX_TICK - 1


@pytest.mark.parametrize(
    ("tick", "expected"),
    [
        (-887271, 4295343490),
        (-50, 79030349367926598376800521322),
        (5000, 101729702841318637793976746270),
        (738203, 847134979253254120489401328389043031315994541),
    ],
)
def test_published_tick_vectors(tick: int, expected: int) -> None:
    assert u.get_sqrt_ratio_at_tick(tick) == expected
    assert ref.sqrt_ratio_at_tick(tick) == expected


def test_sqrt_ratio_matches_the_reference_and_the_real_number() -> None:
    r = rng("ticks")
    for _ in range(CASES):
        tick = r.randint(u.MIN_TICK, u.MAX_TICK)
        price = u.get_sqrt_ratio_at_tick(tick)
        assert price == ref.sqrt_ratio_at_tick(tick)
        # Within a hundredth of a bip of sqrt(1.0001^tick) * 2^96.
        exact = math.exp(tick * math.log(1.0001) / 2 + 96 * math.log(2))
        assert abs(price - exact) / exact < 1e-6
        if tick < u.MAX_TICK:
            assert u.get_tick_at_sqrt_ratio(price) == tick


def test_tick_at_price_matches_bisection() -> None:
    r = rng("prices")
    for _ in range(300):
        price = random_price(r)
        assert u.get_tick_at_sqrt_ratio(price) == ref.tick_at_sqrt_ratio(price)


def test_mul_div_matches_python_integers() -> None:
    r = rng("mul_div")
    for _ in range(CASES):
        a, b, d = random_uint(r, 256), random_uint(r, 256), random_uint(r, 256)
        assert outcome(u.mul_div, a, b, d) == outcome(ref.mul_div, a, b, d)
        assert outcome(u.mul_div_rounding_up, a, b, d) == outcome(ref.mul_div_up, a, b, d)


def test_amount_deltas_match() -> None:
    r = rng("deltas")
    for _ in range(CASES):
        a, b, liq = random_price(r), random_price(r), random_uint(r, 128)
        for up in (True, False):
            assert u.get_amount0_delta(a, b, liq, up) == ref.amount0_delta(a, b, liq, up)
            assert u.get_amount1_delta(a, b, liq, up) == ref.amount1_delta(a, b, liq, up)
        signed = r.choice([liq, -liq]) >> 1
        want0 = ref.amount0_delta(a, b, abs(signed), signed >= 0)
        want1 = ref.amount1_delta(a, b, abs(signed), signed >= 0)
        assert u.get_amount0_delta_signed(a, b, signed) == (want0 if signed >= 0 else -want0)
        assert u.get_amount1_delta_signed(a, b, signed) == (want1 if signed >= 0 else -want1)


def test_next_prices_match() -> None:
    r = rng("next")
    for _ in range(CASES):
        price, liq = random_price(r), random_uint(r, 128) or 1
        amount, zero_for_one = random_uint(r, 200), r.random() < 0.5
        assert outcome(u.get_next_sqrt_price_from_input, price, liq, amount, zero_for_one) == (
            outcome(ref.next_price_from_input, price, liq, amount, zero_for_one)
        )
        assert outcome(u.get_next_sqrt_price_from_output, price, liq, amount, zero_for_one) == (
            outcome(ref.next_price_from_output, price, liq, amount, zero_for_one)
        )


def test_swap_steps_match() -> None:
    r = rng("swap")
    for _ in range(CASES):
        current, target = random_price(r), random_price(r)
        liq = random_uint(r, 128)
        remaining = random_uint(r, 200) * r.choice([1, -1])
        fee = r.choice([100, 500, 3000, 10000, r.randrange(0, 1_000_000)])
        got = outcome(u.compute_swap_step, current, target, liq, remaining, fee)
        assert got == outcome(ref.swap_step, current, target, liq, remaining, fee)


def test_liquidity_amounts_match() -> None:
    r = rng("liquidity")
    for _ in range(CASES):
        price, a, b = random_price(r), random_price(r), random_price(r)
        amount0, amount1 = random_uint(r, 200), random_uint(r, 200)
        if a == b:
            continue
        got = outcome(u.get_liquidity_for_amounts, price, a, b, amount0, amount1)
        assert got == outcome(ref.liquidity_for_amounts, price, a, b, amount0, amount1)
        liq = random_uint(r, 128)
        assert u.get_amounts_for_liquidity(price, a, b, liq) == ref.amounts_for_liquidity(
            price, a, b, liq
        )
        if got != "error":
            spent = u.get_amounts_for_liquidity(price, a, b, got)
            assert spent[0] <= amount0 and spent[1] <= amount1


def test_fee_growth_and_owed_match() -> None:
    r = rng("fees")
    for _ in range(CASES):
        lower = r.randint(u.MIN_TICK, u.MAX_TICK - 1)
        upper = r.randint(lower + 1, u.MAX_TICK)
        current = r.randint(u.MIN_TICK, u.MAX_TICK)
        g, lo, hi = (random_uint(r, 256) for _ in range(3))
        got = u.fee_growth_inside(lower, upper, current, g, lo, hi)
        assert got == ref.fee_growth_inside(lower, upper, current, g, lo, hi)
        last, liq = random_uint(r, 256), random_uint(r, 128)
        assert u.tokens_owed(got, last, liq) == ref.tokens_owed(got, last, liq)


def test_published_swap_and_liquidity_vectors() -> None:
    p1 = u.encode_sqrt_price(1, 1)
    assert u.compute_swap_step(p1, u.encode_sqrt_price(101, 100), 2 * 10**18, 10**18, 600) == (
        u.encode_sqrt_price(101, 100),
        9975124224178055,
        9925619580021728,
        5988667735148,
    )
    assert u.compute_swap_step(
        2413, 79887613182836312, 1985041575832132834610021537970, 10, 1872
    ) == (
        2413,
        0,
        0,
        10,
    )
    a, b = u.encode_sqrt_price(100, 110), u.encode_sqrt_price(110, 100)
    assert u.get_liquidity_for_amounts(p1, a, b, 100, 200) == 2148
    assert u.get_amounts_for_liquidity(p1, a, b, 2148) == (99, 99)
    assert u.get_amounts_for_liquidity(u.encode_sqrt_price(111, 100), a, b, 2097) == (0, 199)


def test_ladder_helpers() -> None:
    assert [u.tick_spacing_for_fee(f) for f in (100, 500, 3000, 10000)] == [1, 10, 60, 200]
    assert u.centre_range(130, 60, 4) == (0, 240)
    assert u.rung_range(0, 240, 1, True, 60, 4, 2) == (120, 360)
    assert u.rung_range(0, 240, 1, False, 60, 4, 2) == (-120, 120)
    assert u.funding_weights("LINEAR", 3) == [3, 2, 1]
    assert u.funding_amounts("DECAY", 3, 10**6) == [641025, 256410, 102564]
    assert sum(u.funding_amounts("GAUSSIAN", 7, 10**30)) <= 10**30


@pytest.mark.parametrize(
    "call",
    [
        lambda: u.get_sqrt_ratio_at_tick(u.MAX_TICK + 1),
        lambda: u.get_sqrt_ratio_at_tick(-(10**40)),
        lambda: u.get_tick_at_sqrt_ratio(u.MAX_SQRT_RATIO),
        lambda: u.get_tick_at_sqrt_ratio(u.MIN_SQRT_RATIO - 1),
        lambda: u.mul_div(2**128, 2**128, 1),
        lambda: u.mul_div(1, 1, 0),
        lambda: u.mul_div(-1, 1, 1),
        lambda: u.mul_div(2**256, 1, 1),
        lambda: u.get_amount0_delta(2**160, 1, 1, True),
        lambda: u.get_amount0_delta(1, 2, 2**128, True),
        lambda: u.get_next_sqrt_price_from_input(u.Q96, 0, 1, True),
        lambda: u.get_next_sqrt_price_from_output(2**104, 1024, 262144, True),
        lambda: u.compute_swap_step(u.Q96, u.Q96, 1, 1, 1_000_000),
        lambda: u.compute_swap_step(u.Q96, u.Q96, 1, -(2**255) - 1, 3000),
        lambda: u.tick_spacing_for_fee(2500),
        lambda: u.fee_growth_inside(60, 0, 0, 0, 0, 0),
        lambda: u.centre_range(u.MAX_TICK, 200, 10),
        lambda: u.funding_amounts("FLAT", 3, 100),
        lambda: u.funding_weights("LINEAR", 0),
        lambda: u.encode_sqrt_price(1, 0),
    ],
)
def test_bad_input_is_refused_with_uniswap_math_error(call: Callable[[], object]) -> None:
    with pytest.raises(u.UniswapMathError):
        call()
    assert issubclass(u.UniswapMathError, OrdexError)


def test_non_integers_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        u.mul_div(1.5, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        u.get_sqrt_ratio_at_tick("5")  # type: ignore[arg-type]
