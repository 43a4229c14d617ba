"""The LP backtest: the droid's ladder over a price path (the live droid's rules), its accounts
(AUM, hold, fees, gas), its inputs; and the pool simulator against plain Python integers and
against the dev chain's own pool over real swaps that cross LP positions."""

from __future__ import annotations

import itertools
import random
import threading
import time
from array import array
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.types import Wei

from ordex import uniswap as u
from ordex.devchain import DevChain
from ordex.devchain.deploy import contract_at
from ordex.services import droid_ladder as live
from tests.uniswap.pool_reference import PyPool

DEADLINE = 2**32
GAS = 3_000_000
MAX_U128 = 2**128 - 1

POOL = {
    "sqrt_price_x96": u.get_sqrt_ratio_at_tick(0),
    "fee": 500,
    "positions": [(-20_000, 20_000, 10**22)],
}
CONFIG: dict[str, Any] = {
    "tick_buckets": 10,
    "bucket_offset": 10,
    "max_bots": 3,
    "funding": 10**18,
    "amount0": 10**18,
    "amount1": 10**18,
    "falling_trigger": Decimal("0.03"),
    "rising_trigger": Decimal("0.05"),
    "derivative_threshold": Decimal("0.001"),
    "gas_price_wei": 10 * 10**9,
    "snapshot_every": 5,
}
# Up 20 ticks a step to 600 (+6.2%), then down to 200.
TICKS = [20 * i for i in range(1, 31)] + [600 - 20 * i for i in range(1, 21)]
PATH = [u.get_sqrt_ratio_at_tick(t) for t in TICKS]


def live_config(**overrides: Any) -> live.LadderConfig:
    fields: dict[str, Any] = {
        "fee_tier": 500,
        "tick_buckets": 10,
        "bucket_offset": 10,
        "max_bots": 3,
        "funding_usd": Decimal(1),
        "falling_trigger": Decimal("0.03"),
        "rising_trigger": Decimal("0.05"),
        "derivative_threshold": Decimal("0.001"),
    }
    fields.update(overrides)
    return live.LadderConfig(**fields)


def test_up_then_down_rebalances_once_each_way_where_the_live_droid_would() -> None:
    result = u.lp_backtest(CONFIG, PATH, POOL)
    counts = result["counts"]
    assert (counts["initial_builds"], counts["rebalances_rising"]) == (1, 1)
    assert counts["rebalances_falling"] == 1
    steps = [(r["reason"], r["direction"]) for r in result["rebalances"]]
    assert steps == [("initial", "out"), ("rising", "up"), ("falling", "down")]
    config = live_config()
    for rebalance in result["rebalances"]:
        index = rebalance["index"]
        tick = 0 if index == 0 else TICKS[index - 1]
        direction = live.Direction(rebalance["direction"])
        # The centre is the live droid's centre for that tick and direction.
        assert rebalance["centre"] == live.centre_range(tick, config, direction)
    # The rising trigger fires at the first tick above mid x 1.05 (mid = 1.0 at tick 0), as the
    # live rule says; the falling one at the first tick below the new centre's mid x 0.97.
    rising = result["rebalances"][1]
    fired_at = TICKS[rising["index"] - 1]
    mid = live.tick_price(Decimal(0), 18, 18)
    assert live.fired(config, mid, live.tick_price(fired_at, 18, 18)) is live.Trigger.RISING
    before = TICKS[rising["index"] - 2]
    assert live.fired(config, mid, live.tick_price(before, 18, 18)) is None
    lower, upper = rising["centre"]
    falling = result["rebalances"][2]
    mid_up = live.tick_price(Decimal(lower + upper) / 2, 18, 18)
    fired_down = TICKS[falling["index"] - 1]
    assert live.fired(config, mid_up, live.tick_price(fired_down, 18, 18)) is live.Trigger.FALLING
    previous = TICKS[falling["index"] - 2]
    assert live.fired(config, mid_up, live.tick_price(previous, 18, 18)) is None


def test_the_accounts_add_up() -> None:
    result = u.lp_backtest(CONFIG, PATH, POOL)
    final = result["final"]
    assert final == result["snapshots"][-1]
    assert final["index"] == len(PATH)
    assert [s["index"] for s in result["snapshots"]] == list(range(0, len(PATH) + 1, 5))
    for snap in result["snapshots"]:
        assert snap["impermanent_loss_token1"] == snap["hodl_token1"] - snap["aum_token1"]
        price = snap["sqrt_price_x96"]
        hold = CONFIG["amount0"] * price // 2**96 * price // 2**96 + CONFIG["amount1"]
        assert abs(snap["hodl_token1"] - hold) <= 1
    counts = result["counts"]
    units = 2 * 46_000 + counts["mints"] * 350_000 + counts["closes"] * (160_000 + 110_000 + 60_000)
    assert final["gas_wei"] == result["gas_wei"] == units * CONFIG["gas_price_wei"]
    assert counts["transactions"] == 2 + counts["mints"] + 3 * counts["closes"]
    # The droid earned a share of what the swaps paid, never more.
    assert 0 < result["fees0"] < result["pool_fees0"]
    assert 0 < result["fees1"] < result["pool_fees1"]
    assert result["aum_vs_hodl"] == pytest.approx(final["aum_token1"] / final["hodl_token1"])


def test_usd_figures_are_display_values_of_the_integers() -> None:
    config = {**CONFIG, "token1_usd": Decimal("2.5"), "eth_usd": 3000}
    final = u.lp_backtest(config, PATH, POOL)["final"]
    assert final["aum_usd"] == pytest.approx(final["aum_token1"] * 2.5)
    assert final["gas_usd"] == pytest.approx(final["gas_wei"] / 10**18 * 3000)


def test_ema_trigger_and_breakers() -> None:
    ema = u.lp_backtest({**CONFIG, "trigger_type": "EMA", "ema_length": 6}, PATH, POOL)
    assert ema["rebalances"][0]["index"] == 5  # nothing before six samples
    budget = u.lp_backtest({**CONFIG, "gas_budget_wei": 0}, PATH, POOL)
    assert budget["counts"]["mints"] == 0 and budget["gas_wei"] == 0
    capped = u.lp_backtest({**CONFIG, "max_gas_price_wei": 10**9}, PATH, POOL)
    assert capped["counts"]["transactions"] == 0
    band = {**CONFIG, "max_sqrt_price_x96": u.get_sqrt_ratio_at_tick(300)}
    banded = u.lp_backtest(band, PATH, POOL)
    # Above tick 300 nothing happens, so the rising trigger never acts.
    assert banded["counts"]["rebalances_rising"] == 0
    assert banded["counts"]["blocked_band"] > 0


def test_swaps_as_tuples_and_as_an_int64_buffer_agree() -> None:
    numpy = pytest.importorskip("numpy")
    r = random.Random(5)
    swaps = [
        (r.randint(10**15, 10**18) * r.choice([1, 1, -1]), r.random() < 0.5) for _ in range(3000)
    ]
    config = {**CONFIG, "falling_trigger": "0.01", "rising_trigger": "0.01", "snapshot_every": 100}
    pool = {**POOL, "positions": [(-20_000, 20_000, 10**21)]}
    from_tuples = u.lp_backtest(config, swaps, pool)
    array = numpy.array([(a, int(z)) for a, z in swaps], dtype=numpy.int64)
    assert u.lp_backtest(config, array, pool) == from_tuples
    assert from_tuples["counts"]["swaps"] == 3000
    assert (
        from_tuples["counts"]["rebalances_rising"] + from_tuples["counts"]["rebalances_falling"] > 0
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tick_bucket": 3}, "unknown key 'tick_bucket'"),
        ({"falling_trigger": "0.0000000001"}, "falling_trigger"),
        ({"funding_curve": "CUBIC"}, "funding_curve"),
        ({"trigger_type": "RSI"}, "trigger_type"),
        ({"max_bots": 0}, "max_bots"),
        ({"funding": -1}, "funding"),
    ],
)
def test_bad_config_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(u.UniswapMathError, match=message):
        u.lp_backtest({**CONFIG, **change}, PATH, POOL)


def test_bad_swaps_and_pool_are_refused() -> None:
    with pytest.raises(u.UniswapMathError, match="must not be zero"):
        u.lp_backtest(CONFIG, [(0, True)], POOL)
    with pytest.raises(u.UniswapMathError, match="sqrt_price_x96"):
        u.lp_backtest(CONFIG, PATH, {"fee": 500})
    with pytest.raises(u.UniswapMathError, match="tick range"):
        u.lp_backtest(CONFIG, PATH, {**POOL, "positions": [(10, 5, 1)]})


def test_the_rust_pool_is_the_python_integer_pool() -> None:
    r = random.Random(11)
    positions = [(-600 + 60 * i, 600 + 120 * i, r.randint(10**17, 10**19)) for i in range(8)]
    positions.append((-887_220, 887_220, 10**15))
    state: dict[str, Any] = {
        "sqrt_price_x96": u.get_sqrt_ratio_at_tick(37) + 999,
        "fee": 3000,
        "positions": positions,
    }
    swaps: list[tuple[int, bool]] = []
    for _ in range(400):
        amount = r.randint(1, 10**17) * r.choice([1, -1])
        swaps.append((amount, r.random() < 0.5))
    rust = u.simulate_pool_swaps(state, swaps)
    py = PyPool(state["sqrt_price_x96"], 3000, 60, positions)
    for (amount, zero_for_one), got in zip(swaps, rust, strict=True):
        amounts = py.swap(zero_for_one, amount)
        assert got == (*amounts, py.sqrt_price, py.tick, py.liquidity)


# -- the dev chain ---------------------------------------------------------------------------


@pytest.fixture
def chain(devchain: DevChain) -> Iterator[tuple[Web3, str, dict[str, str]]]:
    """A funded, approved trader; every change is reverted afterwards."""
    w3 = devchain.web3()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    c = devchain.contracts
    trader = devchain.accounts[1]
    try:
        weth = contract_at(w3, "sushi/WETH9Mock", c["weth"])
        w3.eth.wait_for_transaction_receipt(
            weth.functions.deposit().transact({"from": trader, "value": Wei(20_000 * 10**18)})
        )
        for key in ("weth", "usdc"):
            token = contract_at(w3, "ERC20MockDecimals", c[key])
            for spender in (c["swap_router"], c["nonfungible_position_manager"]):
                send(w3, trader, token.functions.approve(spender, 2**256 - 1))
        yield w3, trader, c
    finally:
        w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def send(w3: Web3, sender: str, fn: Any) -> Any:
    receipt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender, "gas": GAS}))
    assert receipt["status"] == 1
    return receipt


def pool_positions(pool: Contract, spacing: int) -> list[tuple[int, int, int]]:
    """The pool's liquidity as positions: one per stretch between initialised ticks, read from
    the tick bitmap, so the simulator has the chain's initialised ticks and net liquidity."""
    ticks: list[int] = []
    for word in range((u.MIN_TICK // spacing) >> 8, ((u.MAX_TICK // spacing) >> 8) + 1):
        bits = pool.functions.tickBitmap(word).call()
        for bit in range(256):
            if bits >> bit & 1:
                ticks.append(((word << 8) + bit) * spacing)
    out = []
    active = 0
    for lower, upper in itertools.pairwise(ticks):
        active += pool.functions.ticks(lower).call()[1]
        if active > 0:
            out.append((lower, upper, active))
    return out


def test_the_pool_simulator_swaps_as_the_chain_does(
    chain: tuple[Web3, str, dict[str, str]], devchain: DevChain
) -> None:
    w3, trader, c = chain
    info = devchain.pools["weth_usdc_3000"]
    pool = contract_at(w3, "uniswap_v3/UniswapV3Pool", info.address)
    npm = contract_at(
        w3, "uniswap_v3/NonfungiblePositionManager", c["nonfungible_position_manager"]
    )
    router = contract_at(w3, "uniswap_v3/SwapRouter", c["swap_router"])
    spacing = info.tick_spacing
    tick = pool.functions.slot0().call()[1]
    balance0 = contract_at(w3, "ERC20MockDecimals", info.token0).functions.balanceOf(trader).call()
    balance1 = contract_at(w3, "ERC20MockDecimals", info.token1).functions.balanceOf(trader).call()
    # Narrow positions on both sides of the price, for the swaps to cross.
    for buckets in (2, 5, 9):
        lower, upper = u.centre_range(tick, spacing, buckets)
        params = (info.token0, info.token1, info.fee, lower, upper, balance0 // 40, balance1 // 40)
        send(w3, trader, npm.functions.mint((*params, 0, 0, trader, DEADLINE)))
    sqrt_price = pool.functions.slot0().call()[0]
    state: dict[str, Any] = {
        "sqrt_price_x96": sqrt_price,
        "fee": info.fee,
        "positions": pool_positions(pool, spacing),
    }
    reserve0 = (
        contract_at(w3, "ERC20MockDecimals", info.token0).functions.balanceOf(info.address).call()
    )
    reserve1 = (
        contract_at(w3, "ERC20MockDecimals", info.token1).functions.balanceOf(info.address).call()
    )
    r = random.Random(3)
    swaps: list[tuple[int, bool]] = []
    chain_results = []
    for i in range(8):
        zero_for_one = i % 2 == 0
        reserve = reserve0 if zero_for_one else reserve1
        amount = int(reserve * r.uniform(0.002, 0.02))
        exact_in = i % 3 != 2
        token_in, token_out = (
            (info.token0, info.token1) if zero_for_one else (info.token1, info.token0)
        )
        if exact_in:
            call = router.functions.exactInputSingle(
                (token_in, token_out, info.fee, trader, DEADLINE, amount, 0, 0)
            )
        else:
            reserve_out = reserve1 if zero_for_one else reserve0
            amount = int(reserve_out * r.uniform(0.001, 0.01))
            call = router.functions.exactOutputSingle(
                (token_in, token_out, info.fee, trader, DEADLINE, amount, 2**255, 0)
            )
        receipt = send(w3, trader, call)
        (event,) = pool.events.Swap().process_receipt(receipt)
        args = event["args"]
        liquidity = pool.functions.liquidity().call()
        chain_results.append(
            (args["amount0"], args["amount1"], args["sqrtPriceX96"], args["tick"], liquidity)
        )
        swaps.append((amount if exact_in else -amount, zero_for_one))
    simulated = u.simulate_pool_swaps(state, swaps)
    assert simulated == chain_results
    # The swaps crossed the positions minted above: the active liquidity changed on the way.
    assert len({row[4] for row in chain_results}) > 1


def test_the_run_releases_the_gil() -> None:
    """Another thread keeps running Python while a backtest runs."""
    r = random.Random(9)
    flat = array("q")
    for _ in range(150_000):
        flat.extend((r.randint(10**15, 10**18), r.randint(0, 1)))
    pool = {**POOL, "positions": [(-20_000, 20_000, 10**21)]}
    span: list[float] = []

    def run() -> None:
        span.append(time.perf_counter())
        u.lp_backtest(CONFIG, flat, pool)
        span.append(time.perf_counter())

    worker = threading.Thread(target=run)
    beats: list[float] = []
    worker.start()
    while worker.is_alive():
        beats.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    start, end = span
    assert end - start > 0.1, "too short a run to tell"
    inside = [t for t in beats if start + 0.03 < t < end - 0.03]
    assert len(inside) > 10
