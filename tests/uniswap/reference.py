"""Uniswap v3 pool arithmetic in plain Python integers: the oracle for the Rust binding's tests
and its peer in `benchmarks/uniswap`.

Written from the pools' published rounding rules: owed amounts round up, paid amounts down; a
256-bit product that would overflow takes the pool's alternative formula; results that do not
fit their Solidity type raise.
"""

from __future__ import annotations

Q96 = 1 << 96
Q128 = 1 << 128
MAX_U128 = (1 << 128) - 1
MAX_U160 = (1 << 160) - 1
MAX_U256 = (1 << 256) - 1
MIN_TICK = -887_272
MAX_TICK = 887_272
MIN_SQRT_RATIO = 4_295_128_739
MAX_SQRT_RATIO = 1_461_446_703_485_210_103_287_273_052_203_988_822_378_723_970_342
FEE_DENOMINATOR = 1_000_000

# 2**128 / sqrt(1.0001)**(2**i) in Q128, for bit i of |tick|.
_BIT_FACTORS = (
    0xFFFCB933BD6FAD37AA2D162D1A594001,
    0xFFF97272373D413259A46990580E213A,
    0xFFF2E50F5F656932EF12357CF3C7FDCC,
    0xFFE5CACA7E10E4E61C3624EAA0941CD0,
    0xFFCB9843D60F6159C9DB58835C926644,
    0xFF973B41FA98C081472E6896DFB254C0,
    0xFF2EA16466C96A3843EC78B326B52861,
    0xFE5DEE046A99A2A811C461F1969C3053,
    0xFCBE86C7900A88AEDCFFC83B479AA3A4,
    0xF987A7253AC413176F2B074CF7815E54,
    0xF3392B0822B70005940C7A398E4B70F3,
    0xE7159475A2C29B7443B29C7FA6E889D9,
    0xD097F3BDFD2022B8845AD8F792AA5825,
    0xA9F746462D870FDF8A65DC1F90E061E5,
    0x70D869A156D2A1B890BB3DF62BAF32F7,
    0x31BE135F97D08FD981231505542FCFA6,
    0x9AA508B5B7A84E1C677DE54F3E99BC9,
    0x5D6AF8DEDB81196699C329225EE604,
    0x2216E584F5FA1EA926041BEDFE98,
    0x48A170391F7DC42444E8FA2,
)


class MathError(ValueError):
    """The pool would revert."""


def _u256(x: int) -> int:
    if not 0 <= x <= MAX_U256:
        raise MathError("overflow")
    return x


def mul_div(a: int, b: int, d: int) -> int:
    if d == 0:
        raise MathError("division by zero")
    return _u256(a * b // d)


def mul_div_up(a: int, b: int, d: int) -> int:
    if d == 0:
        raise MathError("division by zero")
    return _u256(-(-a * b // d))


def div_up(a: int, b: int) -> int:
    return -(-a // b)


def sqrt_ratio_at_tick(tick: int) -> int:
    if not MIN_TICK <= tick <= MAX_TICK:
        raise MathError("tick")
    t = abs(tick)
    ratio = _BIT_FACTORS[0] if t & 1 else 1 << 128
    for i in range(1, 20):
        if t & (1 << i):
            ratio = (ratio * _BIT_FACTORS[i]) >> 128
    if tick > 0:
        ratio = MAX_U256 // ratio
    return (ratio >> 32) + (1 if ratio & 0xFFFFFFFF else 0)


def tick_at_sqrt_ratio(sqrt_price: int) -> int:
    """Bisection on `sqrt_ratio_at_tick`: the greatest tick at or below the price."""
    if not MIN_SQRT_RATIO <= sqrt_price < MAX_SQRT_RATIO:
        raise MathError("price")
    lo, hi = MIN_TICK, MAX_TICK
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sqrt_ratio_at_tick(mid) <= sqrt_price:
            lo = mid
        else:
            hi = mid
    return lo


def amount0_delta(a: int, b: int, liquidity: int, round_up: bool) -> int:
    a, b = min(a, b), max(a, b)
    numerator = (liquidity << 96) * (b - a)
    if round_up:
        return div_up(div_up(numerator, b), a)
    return numerator // b // a


def amount1_delta(a: int, b: int, liquidity: int, round_up: bool) -> int:
    a, b = min(a, b), max(a, b)
    if round_up:
        return div_up(liquidity * (b - a), Q96)
    return liquidity * (b - a) // Q96


def next_price_amount0(sqrt_price: int, liquidity: int, amount: int, add: bool) -> int:
    if amount == 0:
        return sqrt_price
    n1 = liquidity << 96
    product = amount * sqrt_price
    if add:
        if product <= MAX_U256 and n1 + product <= MAX_U256:
            return div_up(n1 * sqrt_price, n1 + product)
        return div_up(n1, _u256(n1 // sqrt_price + amount))
    if product > MAX_U256 or n1 <= product:
        raise MathError("insufficient liquidity")
    result = div_up(n1 * sqrt_price, n1 - product)
    if result > MAX_U160:
        raise MathError("overflow")
    return result


def next_price_amount1(sqrt_price: int, liquidity: int, amount: int, add: bool) -> int:
    if add:
        result = sqrt_price + (amount << 96) // liquidity
        if result > MAX_U160:
            raise MathError("overflow")
        return result
    quotient = div_up(amount << 96, liquidity)
    if sqrt_price <= quotient:
        raise MathError("insufficient liquidity")
    return sqrt_price - quotient


def next_price_from_input(sqrt_price: int, liquidity: int, amount: int, zero_for_one: bool) -> int:
    if zero_for_one:
        return next_price_amount0(sqrt_price, liquidity, amount, True)
    return next_price_amount1(sqrt_price, liquidity, amount, True)


def next_price_from_output(sqrt_price: int, liquidity: int, amount: int, zero_for_one: bool) -> int:
    if zero_for_one:
        return next_price_amount1(sqrt_price, liquidity, amount, False)
    return next_price_amount0(sqrt_price, liquidity, amount, False)


def swap_step(
    current: int, target: int, liquidity: int, remaining: int, fee: int
) -> tuple[int, int, int, int]:
    zero_for_one = current >= target
    exact_in = remaining >= 0
    one = FEE_DENOMINATOR
    amount_in = amount_out = 0
    if exact_in:
        less_fee = remaining * (one - fee) // one
        if zero_for_one:
            amount_in = amount0_delta(target, current, liquidity, True)
        else:
            amount_in = amount1_delta(current, target, liquidity, True)
        if less_fee >= amount_in:
            nxt = target
        else:
            nxt = next_price_from_input(current, liquidity, less_fee, zero_for_one)
    else:
        if zero_for_one:
            amount_out = amount1_delta(target, current, liquidity, False)
        else:
            amount_out = amount0_delta(current, target, liquidity, False)
        if -remaining >= amount_out:
            nxt = target
        else:
            nxt = next_price_from_output(current, liquidity, -remaining, zero_for_one)
    at_target = nxt == target
    if zero_for_one:
        if not (at_target and exact_in):
            amount_in = amount0_delta(nxt, current, liquidity, True)
        if not (at_target and not exact_in):
            amount_out = amount1_delta(nxt, current, liquidity, False)
    else:
        if not (at_target and exact_in):
            amount_in = amount1_delta(current, nxt, liquidity, True)
        if not (at_target and not exact_in):
            amount_out = amount0_delta(current, nxt, liquidity, False)
    if not exact_in and amount_out > -remaining:
        amount_out = -remaining
    if exact_in and nxt != target:
        fee_amount = remaining - amount_in
    else:
        fee_amount = div_up(amount_in * fee, one - fee)
    return nxt, amount_in, amount_out, fee_amount


def _u128(x: int) -> int:
    if x > MAX_U128:
        raise MathError("overflow")
    return x


def liquidity_for_amount0(a: int, b: int, amount0: int) -> int:
    a, b = min(a, b), max(a, b)
    return _u128(amount0 * (a * b // Q96) // (b - a))


def liquidity_for_amount1(a: int, b: int, amount1: int) -> int:
    a, b = min(a, b), max(a, b)
    return _u128(amount1 * Q96 // (b - a))


def liquidity_for_amounts(price: int, a: int, b: int, amount0: int, amount1: int) -> int:
    a, b = min(a, b), max(a, b)
    if price <= a:
        return liquidity_for_amount0(a, b, amount0)
    if price < b:
        return min(
            liquidity_for_amount0(price, b, amount0), liquidity_for_amount1(a, price, amount1)
        )
    return liquidity_for_amount1(a, b, amount1)


def amounts_for_liquidity(price: int, a: int, b: int, liquidity: int) -> tuple[int, int]:
    a, b = min(a, b), max(a, b)
    if price <= a:
        return amount0_delta(a, b, liquidity, False), 0
    if price < b:
        return amount0_delta(price, b, liquidity, False), amount1_delta(a, price, liquidity, False)
    return 0, amount1_delta(a, b, liquidity, False)


def fee_growth_inside(
    lower: int, upper: int, current: int, global_: int, lower_out: int, upper_out: int
) -> int:
    below = lower_out if current >= lower else global_ - lower_out
    above = upper_out if current < upper else global_ - upper_out
    return (global_ - below - above) % (1 << 256)


def tokens_owed(inside: int, last: int, liquidity: int) -> int:
    return ((inside - last) % (1 << 256)) * liquidity // Q128
