"""The Rust pool arithmetic against the dev chain's own Uniswap v3 contracts: the Quoter's
answers, the pool's state after real swaps, what the position manager charges on mint and pays
on decrease, and the fees it collects."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.types import Wei

from ordex import uniswap as u
from ordex.devchain import DevChain
from ordex.devchain.deploy import PoolInfo, contract_at

POOLS = ("weth_usdc_3000", "usdc_dai_500", "wbtc_weth_3000")
QUOTES = 70
SWAPS = 24
MINT_QUOTES = 45
POSITIONS = 4
DEADLINE = 2**32
MAX_U128 = 2**128 - 1
GAS = 3_000_000


@dataclass
class Env:
    w3: Web3
    chain: DevChain
    trader: str
    npm: Contract
    router: Contract
    quoter: Contract

    def pool(self, key: str) -> Contract:
        return contract_at(self.w3, "uniswap_v3/UniswapV3Pool", self.chain.pools[key].address)

    def token(self, address: str) -> Contract:
        return contract_at(self.w3, "ERC20MockDecimals", address)

    def send(self, fn: Any) -> None:
        receipt = self.w3.eth.wait_for_transaction_receipt(
            fn.transact({"from": self.trader, "gas": GAS})
        )
        assert receipt["status"] == 1


@pytest.fixture
def env(devchain: DevChain) -> Iterator[Env]:
    """A funded, approved trader on the shared chain; every change is reverted afterwards."""
    w3 = devchain.web3()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    c = devchain.contracts
    e = Env(
        w3=w3,
        chain=devchain,
        trader=devchain.accounts[1],
        npm=contract_at(
            w3, "uniswap_v3/NonfungiblePositionManager", c["nonfungible_position_manager"]
        ),
        router=contract_at(w3, "uniswap_v3/SwapRouter", c["swap_router"]),
        quoter=contract_at(w3, "uniswap_v3/Quoter", c["quoter"]),
    )
    try:
        weth = contract_at(w3, "sushi/WETH9Mock", c["weth"])
        e.w3.eth.wait_for_transaction_receipt(
            weth.functions.deposit().transact({"from": e.trader, "value": Wei(50_000 * 10**18)})
        )
        for key in ("weth", "usdc", "dai", "wbtc"):
            for spender in (c["swap_router"], c["nonfungible_position_manager"]):
                e.send(e.token(c[key]).functions.approve(spender, 2**256 - 1))
        yield e
    finally:
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@dataclass
class SwapResult:
    sqrt_price: int
    tick: int
    liquidity: int
    amount_in: int
    amount_out: int
    steps: int


def next_initialized_tick(
    pool: Contract, tick: int, spacing: int, lte: bool, words: dict[int, int]
) -> tuple[int, bool]:
    """The next initialised tick within one bitmap word, read from the pool's tick bitmap."""

    def bitmap(word: int) -> int:
        if word not in words:
            words[word] = pool.functions.tickBitmap(word).call()
        return words[word]

    compressed = tick // spacing
    if lte:
        word, bit = compressed >> 8, compressed % 256
        masked = bitmap(word) & ((1 << (bit + 1)) - 1)
        if masked:
            return (compressed - (bit - (masked.bit_length() - 1))) * spacing, True
        return (compressed - bit) * spacing, False
    compressed += 1
    word, bit = compressed >> 8, compressed % 256
    masked = bitmap(word) & ~((1 << bit) - 1)
    if masked:
        lowest = (masked & -masked).bit_length() - 1
        return (compressed + lowest - bit) * spacing, True
    return (compressed + 255 - bit) * spacing, False


def simulate_swap(
    pool: Contract, info: PoolInfo, zero_for_one: bool, amount_specified: int, limit: int
) -> SwapResult:
    """The pool's swap loop, every step computed by the Rust `compute_swap_step`."""
    sqrt_price, tick = pool.functions.slot0().call()[:2]
    liquidity = pool.functions.liquidity().call()
    fee, spacing = info.fee, info.tick_spacing
    exact_in = amount_specified > 0
    remaining, calculated, steps = amount_specified, 0, 0
    words: dict[int, int] = {}
    while remaining != 0 and sqrt_price != limit:
        steps += 1
        nxt, initialized = next_initialized_tick(pool, tick, spacing, zero_for_one, words)
        nxt = max(u.MIN_TICK, min(u.MAX_TICK, nxt))
        sqrt_next = u.get_sqrt_ratio_at_tick(nxt)
        beyond = sqrt_next < limit if zero_for_one else sqrt_next > limit
        start = sqrt_price
        sqrt_price, amount_in, amount_out, fee_amount = u.compute_swap_step(
            sqrt_price, limit if beyond else sqrt_next, liquidity, remaining, fee
        )
        if exact_in:
            remaining -= amount_in + fee_amount
            calculated -= amount_out
        else:
            remaining += amount_out
            calculated += amount_in + fee_amount
        if sqrt_price == sqrt_next:
            if initialized:
                net = pool.functions.ticks(nxt).call()[1]
                liquidity += -net if zero_for_one else net
            tick = nxt - 1 if zero_for_one else nxt
        elif sqrt_price != start:
            tick = u.get_tick_at_sqrt_ratio(sqrt_price)
    if exact_in:
        amount_in, amount_out = amount_specified - remaining, -calculated
    else:
        amount_in, amount_out = calculated, -amount_specified + remaining
    return SwapResult(sqrt_price, tick, liquidity, amount_in, amount_out, steps)


def random_swap(env: Env, r: random.Random) -> tuple[Contract, PoolInfo, str, str, bool, int, int]:
    """(pool, info, token_in, token_out, zero_for_one, amount_specified, sqrt_price_limit)."""
    info = env.chain.pools[r.choice(POOLS)]
    pool = env.pool(info.key)
    zero_for_one = r.random() < 0.5
    token_in, token_out = (info.token0, info.token1) if zero_for_one else (info.token1, info.token0)
    exact_in = r.random() < 0.6
    reserve = (
        env.token(token_in if exact_in else token_out).functions.balanceOf(pool.address).call()
    )
    amount = max(1, int(reserve * 10 ** r.uniform(-7, -1.3)))
    limit = 0
    if r.random() < 0.3:
        tick = pool.functions.slot0().call()[1]
        step = r.randint(1, 3000)
        limit = u.get_sqrt_ratio_at_tick(tick - step if zero_for_one else tick + step)
    return pool, info, token_in, token_out, zero_for_one, amount if exact_in else -amount, limit


def effective_limit(zero_for_one: bool, limit: int) -> int:
    if limit:
        return limit
    return u.MIN_SQRT_RATIO + 1 if zero_for_one else u.MAX_SQRT_RATIO - 1


def test_quoter_answers_match_the_swap_step_math(env: Env) -> None:
    r = random.Random(17)
    most_steps = 0
    for _ in range(QUOTES):
        pool, info, token_in, token_out, zero_for_one, amount, limit = random_swap(env, r)
        fee = info.fee
        sim = simulate_swap(pool, info, zero_for_one, amount, effective_limit(zero_for_one, limit))
        most_steps = max(most_steps, sim.steps)
        if amount > 0:
            quoted = env.quoter.functions.quoteExactInputSingle(
                token_in, token_out, fee, amount, limit
            ).call()
            assert quoted == sim.amount_out
        else:
            quoted = env.quoter.functions.quoteExactOutputSingle(
                token_in, token_out, fee, -amount, limit
            ).call()
            assert quoted == sim.amount_in
    assert most_steps > 1  # some quotes crossed a bitmap word: several steps


def test_real_swaps_leave_the_pool_where_the_math_says(env: Env) -> None:
    r = random.Random(23)
    positions = mint_positions(env, r)
    for _ in range(SWAPS):
        pool, info, token_in, token_out, zero_for_one, amount, limit = random_swap(env, r)
        fee = info.fee
        sim = simulate_swap(pool, info, zero_for_one, amount, effective_limit(zero_for_one, limit))
        out_token = env.token(token_out)
        before = out_token.functions.balanceOf(env.trader).call()
        if amount > 0:
            params = (token_in, token_out, fee, env.trader, DEADLINE, amount, 0, limit)
            env.send(env.router.functions.exactInputSingle(params))
        else:
            max_in = sim.amount_in
            params = (token_in, token_out, fee, env.trader, DEADLINE, -amount, max_in, limit)
            env.send(env.router.functions.exactOutputSingle(params))
        sqrt_price, tick = pool.functions.slot0().call()[:2]
        assert (sqrt_price, tick) == (sim.sqrt_price, sim.tick)
        assert pool.functions.liquidity().call() == sim.liquidity
        assert out_token.functions.balanceOf(env.trader).call() - before == sim.amount_out
    check_positions(env, positions)


def random_range(r: random.Random, tick: int, spacing: int) -> tuple[int, int]:
    centre = tick // spacing * spacing + r.randint(-40, 40) * spacing
    lower, upper = u.centre_range(centre, spacing, r.randint(1, 30))
    return lower, upper


def test_mint_charges_what_the_liquidity_math_says(env: Env) -> None:
    r = random.Random(29)
    for _ in range(MINT_QUOTES):
        info = env.chain.pools[r.choice(POOLS)]
        pool = env.pool(info.key)
        sqrt_price, tick = pool.functions.slot0().call()[:2]
        lower, upper = random_range(r, tick, info.tick_spacing)
        balance0 = env.token(info.token0).functions.balanceOf(env.trader).call()
        balance1 = env.token(info.token1).functions.balanceOf(env.trader).call()
        want0 = int(balance0 * 10 ** r.uniform(-6, -1))
        want1 = int(balance1 * 10 ** r.uniform(-6, -1))
        sqrt_a, sqrt_b = u.get_sqrt_ratio_at_tick(lower), u.get_sqrt_ratio_at_tick(upper)
        liquidity = u.get_liquidity_for_amounts(sqrt_price, sqrt_a, sqrt_b, want0, want1)
        if liquidity == 0:
            continue
        params = (info.token0, info.token1, info.fee, lower, upper, want0, want1, 0, 0)
        _, minted, amount0, amount1 = env.npm.functions.mint((*params, env.trader, DEADLINE)).call(
            {"from": env.trader}
        )
        assert minted == liquidity
        # The pool charges with rounding up; getAmountsForLiquidity rounds down.
        price = min(max(sqrt_price, sqrt_a), sqrt_b)
        assert amount0 == u.get_amount0_delta_signed(price, sqrt_b, liquidity)
        assert amount1 == u.get_amount1_delta_signed(sqrt_a, price, liquidity)
        floor0, floor1 = u.get_amounts_for_liquidity(sqrt_price, sqrt_a, sqrt_b, liquidity)
        assert 0 <= amount0 - floor0 <= 1 and 0 <= amount1 - floor1 <= 1
        assert amount0 <= want0 and amount1 <= want1


@dataclass
class Position:
    token_id: int
    pool_key: str
    lower: int
    upper: int


def mint_positions(env: Env, r: random.Random) -> list[Position]:
    """Real positions near the price, so that the swaps that follow cross and pay into them."""
    out: list[Position] = []
    for i in range(POSITIONS):
        info = env.chain.pools[POOLS[i % len(POOLS)]]
        pool = env.pool(info.key)
        tick = pool.functions.slot0().call()[1]
        lower, upper = u.centre_range(tick, info.tick_spacing, r.randint(2, 30))
        balance0 = env.token(info.token0).functions.balanceOf(env.trader).call()
        balance1 = env.token(info.token1).functions.balanceOf(env.trader).call()
        params = (info.token0, info.token1, info.fee, lower, upper, balance0 // 50, balance1 // 50)
        supply = env.npm.functions.totalSupply().call()
        env.send(env.npm.functions.mint((*params, 0, 0, env.trader, DEADLINE)))
        token_id = env.npm.functions.tokenByIndex(supply).call()
        out.append(Position(token_id, info.key, lower, upper))
    return out


def check_positions(env: Env, positions: list[Position]) -> None:
    """Decrease pays out getAmountsForLiquidity; collect pays the fees grown inside the range."""
    earning = 0
    for p in positions:
        pool = env.pool(p.pool_key)
        state = env.npm.functions.positions(p.token_id).call()
        liquidity, last0, last1, owed0, owed1 = state[7:12]
        sqrt_price, tick = pool.functions.slot0().call()[:2]
        sqrt_a, sqrt_b = u.get_sqrt_ratio_at_tick(p.lower), u.get_sqrt_ratio_at_tick(p.upper)
        paid = env.npm.functions.decreaseLiquidity((p.token_id, liquidity, 0, 0, DEADLINE)).call(
            {"from": env.trader}
        )
        assert tuple(paid) == u.get_amounts_for_liquidity(sqrt_price, sqrt_a, sqrt_b, liquidity)
        lower_ticks = pool.functions.ticks(p.lower).call()
        upper_ticks = pool.functions.ticks(p.upper).call()
        inside0 = u.fee_growth_inside(
            p.lower,
            p.upper,
            tick,
            pool.functions.feeGrowthGlobal0X128().call(),
            lower_ticks[2],
            upper_ticks[2],
        )
        inside1 = u.fee_growth_inside(
            p.lower,
            p.upper,
            tick,
            pool.functions.feeGrowthGlobal1X128().call(),
            lower_ticks[3],
            upper_ticks[3],
        )
        collected = env.npm.functions.collect((p.token_id, env.trader, MAX_U128, MAX_U128)).call(
            {"from": env.trader}
        )
        assert tuple(collected) == (
            owed0 + u.tokens_owed(inside0, last0, liquidity),
            owed1 + u.tokens_owed(inside1, last1, liquidity),
        )
        earning += any(collected)
    assert earning >= 2  # the swaps crossed the positions and paid fees into them
