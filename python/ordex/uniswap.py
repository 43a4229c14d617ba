"""Exact Uniswap v3 pool arithmetic, in Rust, over plain Python ints.

Sqrt prices are Q64.96 fixed point (`sqrt(token1 per token0) * 2**96`, below 2**160), liquidity
is below 2**128, token amounts and the Q128 fee growth counters below 2**256. Every function
rounds as the pool contracts do (what the pool is owed rounds up, what it pays rounds down) and
raises `UniswapMathError` on input outside its domain instead of returning a wrong number.

    from ordex import uniswap as u
    lower, upper = u.centre_range(tick, u.tick_spacing_for_fee(3000), tick_buckets=4)
    liquidity = u.get_liquidity_for_amounts(
        sqrt_price, u.get_sqrt_ratio_at_tick(lower), u.get_sqrt_ratio_at_tick(upper), a0, a1
    )

`lp_backtest(config, swaps, pool_state)` replays swaps through an in-memory pool (ticks crossed as
`UniswapV3Pool.swap` crosses them) while a droid's ladder acts on it with the live droid's rules
(`ordex.services.droid_ladder`), charging gas per transaction. All amounts are raw integer token
units; values "in token1" are `amount0 x price + amount1`.

- `swaps`: a buffer of int64 `(amount_specified, zero_for_one)` pairs (e.g. a NumPy `(n, 2)`
  int64 array), a sequence of such tuples (amount > 0 exact input, < 0 exact output), or a
  sequence of sqrtPriceX96 ints: a price path (candle closes), each reached by one swap.
- `pool_state`: `sqrt_price_x96`, `fee` (pips), optional `tick_spacing` and `positions`, the other
  LPs' `(tick_lower, tick_upper, liquidity)`.
- `config`: `tick_buckets`, `bucket_offset`, `max_bots`, `funding` (token1 units), `amount0` and
  `amount1` (the wallet at start: the hold the impermanent loss compares against),
  `funding_curve`, `trigger_type` (`PRICE`/`EMA`), `ema_length`, the ratios `falling_trigger`,
  `rising_trigger`, `derivative_threshold`, `ladder_margin` (Decimal or str, exact to 1e-9),
  `min_sqrt_price_x96`/`max_sqrt_price_x96` (the band), `gas_units` (`mint`, `decrease`,
  `collect`, `burn`, `approve`), `gas_price_wei`, `max_gas_price_wei`, `gas_budget_wei`,
  `cycle_every` and `snapshot_every` (in swaps), and for display `token1_usd`, `eth_usd`.
- The result: `snapshots` (AUM, hold value and `impermanent_loss_token1` = hold - AUM, positions,
  wallet, fees earned, gas), `final`, `rebalances` (index, reason, direction, centre), `counts`,
  the pool's final state and the fees all swaps paid.

The rounding rules and the published test vectors come from the Uniswap v3 core and periphery
libraries (GPL-2.0-or-later).
"""

from __future__ import annotations

from math import isqrt

from ordex._engine import (
    UniswapMathError,
    centre_range,
    compute_swap_step,
    fee_growth_inside,
    funding_amounts,
    funding_weights,
    get_amount0_delta,
    get_amount0_delta_signed,
    get_amount0_for_liquidity,
    get_amount1_delta,
    get_amount1_delta_signed,
    get_amount1_for_liquidity,
    get_amounts_for_liquidity,
    get_liquidity_for_amount0,
    get_liquidity_for_amount1,
    get_liquidity_for_amounts,
    get_next_sqrt_price_from_amount0_rounding_up,
    get_next_sqrt_price_from_amount1_rounding_down,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
    lp_backtest,
    mul_div,
    mul_div_rounding_up,
    rung_range,
    simulate_pool_swaps,
    tick_spacing_for_fee,
    tokens_owed,
)

__all__ = [
    "FEE_DENOMINATOR",
    "FUNDING_CURVES",
    "MAX_SQRT_RATIO",
    "MAX_TICK",
    "MIN_SQRT_RATIO",
    "MIN_TICK",
    "Q96",
    "Q128",
    "UniswapMathError",
    "centre_range",
    "compute_swap_step",
    "encode_sqrt_price",
    "fee_growth_inside",
    "funding_amounts",
    "funding_weights",
    "get_amount0_delta",
    "get_amount0_delta_signed",
    "get_amount0_for_liquidity",
    "get_amount1_delta",
    "get_amount1_delta_signed",
    "get_amount1_for_liquidity",
    "get_amounts_for_liquidity",
    "get_liquidity_for_amount0",
    "get_liquidity_for_amount1",
    "get_liquidity_for_amounts",
    "get_next_sqrt_price_from_amount0_rounding_up",
    "get_next_sqrt_price_from_amount1_rounding_down",
    "get_next_sqrt_price_from_input",
    "get_next_sqrt_price_from_output",
    "get_sqrt_ratio_at_tick",
    "get_tick_at_sqrt_ratio",
    "lp_backtest",
    "mul_div",
    "mul_div_rounding_up",
    "rung_range",
    "simulate_pool_swaps",
    "tick_spacing_for_fee",
    "tokens_owed",
]

MIN_TICK = -887_272
MAX_TICK = 887_272
#: `get_sqrt_ratio_at_tick(MIN_TICK)`: the lowest sqrt price a pool accepts.
MIN_SQRT_RATIO = 4_295_128_739
#: `get_sqrt_ratio_at_tick(MAX_TICK)`: the first sqrt price a pool refuses.
MAX_SQRT_RATIO = 1_461_446_703_485_210_103_287_273_052_203_988_822_378_723_970_342
Q96 = 2**96
Q128 = 2**128
#: Fees are in pips (hundredths of a basis point): 3000 is 0.3%.
FEE_DENOMINATOR = 1_000_000
FUNDING_CURVES = ("LINEAR", "DECAY", "GAUSSIAN")


def encode_sqrt_price(amount1: int, amount0: int) -> int:
    """`floor(sqrt(amount1 / amount0) * 2**96)`: the sqrt price of a raw token1-per-token0 ratio."""
    if amount0 <= 0 or amount1 < 0:
        raise UniswapMathError("encode_sqrt_price needs amount0 > 0 and amount1 >= 0")
    return isqrt((amount1 << 192) // amount0)
