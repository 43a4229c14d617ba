"""The Uniswap v3 formulas the droid controller needs, in exact integers.

TickMath (tick <-> sqrtPriceX96) and LiquidityAmounts (liquidity <-> token amounts for a range at a
price) come from the Rust pool math (`ordex.uniswap`), computed as the Solidity libraries do, so the
controller's numbers match the pool's. The controller uses these names only.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from ordex import uniswap

MIN_TICK = uniswap.MIN_TICK
MAX_TICK = uniswap.MAX_TICK
Q96 = uniswap.Q96


def sqrt_price_at_tick(tick: int) -> int:
    """TickMath.getSqrtRatioAtTick: sqrt(1.0001^tick) in Q64.96, rounded up."""
    return uniswap.get_sqrt_ratio_at_tick(tick)


def liquidity_for_amounts(
    sqrt_price: int, sqrt_a: int, sqrt_b: int, amount0: int, amount1: int
) -> int:
    """LiquidityAmounts.getLiquidityForAmounts: the most liquidity both amounts can fund."""
    return uniswap.get_liquidity_for_amounts(sqrt_price, sqrt_a, sqrt_b, amount0, amount1)


def amounts_for_liquidity(
    sqrt_price: int, sqrt_a: int, sqrt_b: int, liquidity: int
) -> tuple[int, int]:
    """LiquidityAmounts.getAmountsForLiquidity (rounded down, as the library does)."""
    return uniswap.get_amounts_for_liquidity(sqrt_price, sqrt_a, sqrt_b, liquidity)


def price_from_sqrt(sqrt_price_x96: int, decimals0: int, decimals1: int) -> Decimal:
    """Human price of token0 in token1 (e.g. USDC per WETH) from sqrtPriceX96."""
    with localcontext() as ctx:
        ctx.prec = 40
        raw = Decimal(sqrt_price_x96) * Decimal(sqrt_price_x96) / Decimal(1 << 192)
        return raw * Decimal(10) ** (decimals0 - decimals1)


def sqrt_from_price(price: Decimal, decimals0: int, decimals1: int) -> int:
    """sqrtPriceX96 of a human price of token0 in token1 (the inverse of price_from_sqrt)."""
    with localcontext() as ctx:
        ctx.prec = 60
        raw = price * Decimal(10) ** (decimals1 - decimals0)
        return int((raw.sqrt() * Decimal(Q96)).to_integral_value())
