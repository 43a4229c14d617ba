"""The droid controller against the dev chain over JSON-RPC: the ladder it mints, the triggers,
the breakers and close-all."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import asyncpg
import pytest

from ordex.db.pool import create_pool
from ordex.devchain import DevChain
from ordex.services import droid_math
from tests.droids.controller_support import (
    controller,
    eth_price,
    fund_wallet,
    owned_positions,
    pool_tick,
    seed_droid,
    swap_to_price,
)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def chain() -> Iterator[DevChain]:
    """One chain for this module's tests (each test signs from wallets of its own; the price
    moves from test to test, so each works from the price it finds)."""
    from ordex.devchain import start_devchain

    chain = start_devchain()
    yield chain
    chain.stop()


def _weights(curve: str, n: int) -> list[float]:
    if curve == "LINEAR":
        return [float(n - i) for i in range(n)]
    if curve == "DECAY":
        return [0.4**i for i in range(n)]
    return [math.exp(-((i / 1.5) ** 2) / 2) for i in range(n)]


def _usd_per_liquidity(sqrt_p: int, lower: int, upper: int, eth_usd: float) -> float:
    """USD value of one unit of liquidity of [lower, upper] at sqrt_p (token0 USDC, token1 WETH)."""
    sa, sb = 1.0001 ** (lower / 2), 1.0001 ** (upper / 2)
    sp = min(max(sqrt_p / 2**96, sa), sb)
    usdc_raw = (sb - sp) / (sp * sb)
    weth_raw = sp - sa
    return usdc_raw / 1e6 + weth_raw / 1e18 * eth_usd


async def test_first_ladder_ticks_and_funding_per_curve(
    pool: asyncpg.Pool, chain: DevChain
) -> None:
    """Centre around the price, rung 1 above it and rung 2 below it (built out), each funded
    w_i / sum(w) x fundingUSD: the ticks and liquidity are worked out here independently."""
    for wallet, curve, offset in ((2, "LINEAR", 10), (3, "DECAY", 0), (4, "GAUSSIAN", 4)):
        fund_wallet(chain, wallet)
        async with pool.acquire() as conn:
            droid_id = await seed_droid(
                conn, chain, wallet, funding_curve_type=curve, bucket_offset=offset, max_bots=3
            )
        sqrt_p, tick = pool_tick(chain)
        eth_usd = float(eth_price(chain))
        ctl = controller(pool, chain, droid_id)
        assert (await ctl.step()).startswith("rebalanced initial")
        await ctl.close()

        # token0 is USDC: the price in USD per ETH rises as the tick falls.
        base = (tick // 60) * 60
        centre = (base - 5 * 60, base - 5 * 60 + 600)
        step = offset * 60
        # Built out: rung 1 one step above the centre in ticks (below in price), rung 2 one below.
        expected_ranges = [
            centre,
            (centre[0] + step, centre[1] + step),
            (centre[0] - step, centre[1] - step),
        ]
        weights = _weights(curve, 3)
        funding = [w / sum(weights) * 20_000 for w in weights]
        positions = owned_positions(chain, wallet)
        assert sorted((lo, up) for _, lo, up, _ in positions) == sorted(expected_ranges)
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT token_id, tick_lower, tick_upper, liquidity, rung_index, status "
                "FROM droid_bots WHERE droid_id = $1 ORDER BY token_id",
                droid_id,
            )
        assert [
            (int(r["token_id"]), r["tick_lower"], r["tick_upper"], int(r["liquidity"]))
            for r in rows
        ] == positions
        # Minted in rung order: centre, rung 1, rung 2.
        for (_, lower, upper, liquidity), (want_lo, want_up), usd in zip(
            positions, expected_ranges, funding, strict=True
        ):
            assert (lower, upper) == (want_lo, want_up)
            want = usd / _usd_per_liquidity(sqrt_p, lower, upper, eth_usd)
            assert liquidity == pytest.approx(want, rel=1e-6)
            amounts = droid_math.amounts_for_liquidity(
                sqrt_p,
                droid_math.sqrt_price_at_tick(lower),
                droid_math.sqrt_price_at_tick(upper),
                liquidity,
            )
            value = amounts[0] / 1e6 + amounts[1] / 1e18 * eth_usd
            assert value <= usd * (1 + 1e-9)
        # rung_index is signed in price terms: +1 above the centre's price.
        assert [r["rung_index"] for r in rows] == ([0, -1, 1] if offset else [0, 0, 0])
        async with pool.acquire() as conn:
            kinds = await conn.fetch(
                "SELECT kind, status FROM droid_transactions WHERE droid_id = $1 ORDER BY id",
                droid_id,
            )
        assert [(r["kind"], r["status"]) for r in kinds] == [("approve", "mined")] * 2 + [
            ("mint", "mined")
        ] * 3


async def _rebalances(pool: asyncpg.Pool, droid_id: int) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT intent_id, min(id) AS first FROM droid_transactions "
            "WHERE droid_id = $1 AND kind = 'mint' GROUP BY intent_id ORDER BY first",
            droid_id,
        )
    return [str(r["intent_id"]) for r in rows]


async def _centre_price(pool: asyncpg.Pool, droid_id: int) -> float:
    async with pool.acquire() as conn:
        state = await conn.fetchval(
            "SELECT state->'centre' FROM droid_sessions WHERE droid_id = $1 AND stopped_at IS NULL",
            droid_id,
        )
    lower, upper = (int(x) for x in state.strip("[]").split(","))
    # token0 USDC, token1 WETH: USD per ETH = 1 / (1.0001^tick x 10^(6-18)).
    return float(1 / (1.0001 ** ((lower + upper) / 2) * 1e-12))


async def test_rising_then_falling_trigger_rebalance_once_each(
    pool: asyncpg.Pool, chain: DevChain
) -> None:
    fund_wallet(chain, 6)
    swap_to_price(chain, Decimal(3000))
    async with pool.acquire() as conn:
        droid_id = await seed_droid(conn, chain, 6)
    ctl = controller(pool, chain, droid_id)
    assert (await ctl.step()).startswith("rebalanced initial")
    assert await ctl.step() == "holding"
    first_centre = await _centre_price(pool, droid_id)

    swap_to_price(chain, Decimal(3060))  # +2%: inside the 3% trigger
    assert await ctl.step() == "holding"
    swap_to_price(chain, Decimal(3200))  # +6.7%: through the rising trigger
    # The EMA (length 3) rose 2.8% in the cycle: above derivativeThreshold, built up.
    assert await ctl.step() == "rebalanced rising up"
    assert await ctl.step() == "holding"
    assert await ctl.step() == "holding"
    risen_centre = await _centre_price(pool, droid_id)
    assert risen_centre > first_centre * 1.03
    assert abs(risen_centre - 3200) / 3200 < 0.05

    swap_to_price(chain, Decimal(2900))
    assert await ctl.step() == "rebalanced falling down"
    assert await ctl.step() == "holding"
    fallen_centre = await _centre_price(pool, droid_id)
    assert fallen_centre < risen_centre * 0.97
    assert abs(fallen_centre - 2900) / 2900 < 0.05
    await ctl.close()

    assert len(await _rebalances(pool, droid_id)) == 3  # the first ladder and one per trigger
    positions = owned_positions(chain, 6)
    assert 1 <= len(positions) <= 3 and all(p[3] > 0 for p in positions)
    async with pool.acquire() as conn:
        bots = await conn.fetch(
            "SELECT token_id, liquidity FROM droid_bots WHERE droid_id = $1 AND status = 'ACTIVE' "
            "ORDER BY token_id",
            droid_id,
        )
        failed = await conn.fetchval(
            "SELECT count(*) FROM droid_transactions WHERE droid_id = $1 AND status <> 'mined'",
            droid_id,
        )
    assert [(int(b["token_id"]), int(b["liquidity"])) for b in bots] == [
        (p[0], p[3]) for p in positions
    ]
    assert failed == 0

    # History: AUM = positions + fees + wallet tokens + wallet ETH, and impermanent loss against
    # holding what the session started with, at the snapshot's price.
    async with pool.acquire() as conn:
        last = await conn.fetchrow(
            "SELECT * FROM droid_history WHERE droid_id = $1 ORDER BY id DESC LIMIT 1", droid_id
        )
        start = await conn.fetchrow(
            "SELECT start_amount0, start_amount1 FROM droid_sessions WHERE droid_id = $1",
            droid_id,
        )
    price = last["price"]
    assert float(price) == pytest.approx(2900, rel=1e-3)
    tokens = (
        last["token0_positions"] + last["token0_fees"] + last["token0_wallet"]
        + (last["token1_positions"] + last["token1_fees"] + last["token1_wallet"]) * price
    )  # fmt: skip
    assert float(last["aum_usd"]) == pytest.approx(float(tokens + last["eth_wallet"] * price))
    hodl = (
        start["start_amount0"] / Decimal(10**6) + start["start_amount1"] / Decimal(10**18) * price
    )
    assert float(last["hodl_value_usd"]) == pytest.approx(float(hodl))
    assert float(last["impermanent_loss_usd"]) == pytest.approx(float(hodl - tokens), abs=1e-6)
    assert last["token0_positions"] > 0 and last["token1_positions"] >= 0


async def test_price_band_gas_cap_and_budget_block_transactions(
    pool: asyncpg.Pool, chain: DevChain
) -> None:
    price = eth_price(chain)
    held_before = owned_positions(chain, 9)
    async with pool.acquire() as conn:
        outside = await seed_droid(conn, chain, 9, min_price=price * 2, max_price=price * 3)
        pricey = await seed_droid(conn, chain, 9, max_gas_price=Decimal("0.5"))  # tips: 1 gwei
    for droid_id, breaker, result in (
        (outside, "PRICE_BAND", "blocked: price outside the band"),
        (pricey, "GAS_PRICE", "blocked: gas price above maxGasPrice"),
    ):
        ctl = controller(pool, chain, droid_id)
        assert await ctl.step() == result
        assert await ctl.step() == result
        await ctl.close()
        async with pool.acquire() as conn:
            sent = await conn.fetchval(
                "SELECT count(*) FROM droid_transactions WHERE droid_id = $1", droid_id
            )
            tripped = await conn.fetchval(
                "SELECT breaker_tripped FROM droid_sessions WHERE droid_id = $1", droid_id
            )
            history = await conn.fetchval(
                "SELECT count(*) FROM droid_history WHERE droid_id = $1", droid_id
            )
        assert (sent, tripped) == (0, breaker)
        assert history == 2  # snapshots go on while blocked
    assert owned_positions(chain, 9) == held_before

    # A budget smaller than one approval: the first transaction spends it, nothing follows.
    fund_wallet(chain, 7)
    async with pool.acquire() as conn:
        budgeted = await seed_droid(conn, chain, 7, gas_budget_limit=Decimal("0.000001"))
    ctl = controller(pool, chain, budgeted)
    assert await ctl.step() == "blocked: gas budget spent"
    assert await ctl.step() == "blocked: gas budget spent"
    await ctl.close()
    async with pool.acquire() as conn:
        kinds = await conn.fetch(
            "SELECT kind FROM droid_transactions WHERE droid_id = $1", budgeted
        )
        session = await conn.fetchrow(
            "SELECT breaker_tripped, gas_spent_wei FROM droid_sessions WHERE droid_id = $1",
            budgeted,
        )
    assert [r["kind"] for r in kinds] == ["approve"]
    assert session["breaker_tripped"] == "GAS_BUDGET"
    assert int(session["gas_spent_wei"]) > 10**12


async def test_pause_reset_and_close_all(pool: asyncpg.Pool, chain: DevChain) -> None:
    fund_wallet(chain, 8)
    swap_to_price(chain, Decimal(3000))
    async with pool.acquire() as conn:
        droid_id = await seed_droid(conn, chain, 8)
    ctl = controller(pool, chain, droid_id)
    assert (await ctl.step()).startswith("rebalanced initial")
    assert len(owned_positions(chain, 8)) == 3

    async with pool.acquire() as conn:
        await conn.execute("UPDATE droids SET active = 0 WHERE id = $1", droid_id)
        before = await conn.fetchval("SELECT count(*) FROM droid_transactions")
    swap_to_price(chain, Decimal(3300))  # would fire the rising trigger
    assert await ctl.step() == "paused"
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM droid_transactions") == before
        assert await conn.fetchval("SELECT status FROM droid_sessions") == "PAUSED"
        assert await conn.fetchval("SELECT count(*) FROM droid_history") == 2

        await conn.execute("UPDATE droids SET active = 2 WHERE id = $1", droid_id)
    await ctl.step()
    async with pool.acquire() as conn:
        sessions = await conn.fetch("SELECT status, stopped_at FROM droid_sessions ORDER BY id")
        assert [s["status"] for s in sessions] == ["STOPPED", "RUNNING"]
        assert await conn.fetchval("SELECT active FROM droids WHERE id = $1", droid_id) == 1

        await conn.execute("UPDATE droids SET active = 3 WHERE id = $1", droid_id)
    assert await ctl.step() == "closed all"
    await ctl.close()
    assert owned_positions(chain, 8) == []
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT active FROM droids WHERE id = $1", droid_id) == 0
        statuses = await conn.fetch(
            "SELECT DISTINCT status FROM droid_bots WHERE droid_id = $1", droid_id
        )
        assert [s["status"] for s in statuses] == ["CLOSED"]
        assert (
            await conn.fetchval("SELECT count(*) FROM droid_sessions WHERE stopped_at IS NULL") == 0
        )
        last = await conn.fetchrow("SELECT * FROM droid_history ORDER BY id DESC LIMIT 1")
    assert last["token0_positions"] == 0 and last["token1_positions"] == 0
    assert last["token0_fees"] == 0 and last["token1_fees"] == 0
    # The wallet holds all the tokens again (fees earned from the swaps included).
    assert last["token0_wallet"] > 0 and last["token1_wallet"] > 0
    assert await controller(pool, chain, droid_id).step() == "idle"


async def test_failed_transaction_is_retried_with_backoff_and_reported(
    pool: asyncpg.Pool, chain: DevChain
) -> None:
    """A burn of an NFT the wallet does not own reverts in its dry run, every attempt."""
    fund_wallet(chain, 9)
    import time
    import uuid

    from ordex.db import droid_runs
    from ordex.services.droid_chain import TxFailed

    async with pool.acquire() as conn:
        droid_id = await seed_droid(conn, chain, 9, trigger_type="EMA", ema_length=3)
    ctl = controller(pool, chain, droid_id, retries=3, backoff_seconds=0.1)
    assert await ctl.step() == "warming up"  # EMA: no action before `ema_length` prices
    assert await ctl.step() == "warming up"
    async with pool.acquire() as conn:
        droid = await droid_runs.get_droid(conn, droid_id)
        session = await droid_runs.open_session(conn, droid_id)
    assert droid is not None and session is not None
    chain_client = ctl._chain_for(droid)
    started = time.monotonic()
    with pytest.raises(TxFailed, match="burn failed after 3 attempts"):
        await ctl._txs.send(
            droid,
            session,
            chain_client,
            uuid.uuid4(),
            "burn",
            chain_client.npm.address,
            chain_client.burn_data(1),  # token 1 belongs to the pool seeder
            {"token_id": 1},
            {"first": False},
        )
    assert time.monotonic() - started >= 0.1 + 0.2 + 0.4  # doubling back-off after each try
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind, status, attempts, error FROM droid_transactions WHERE droid_id = $1 "
            "ORDER BY id",
            droid_id,
        )
    assert [(r["kind"], r["status"], r["attempts"]) for r in rows] == [
        ("burn", "failed", 1),
        ("burn", "failed", 2),
        ("burn", "failed", 3),
    ]
    assert all("reverted" in r["error"] for r in rows)
    assert (await ctl.step()).startswith("rebalanced initial")  # warmed up after 3 prices
    await ctl.close()


async def test_a_wallet_holding_only_eth_funds_its_ladder(
    pool: asyncpg.Pool, chain: DevChain
) -> None:
    """The dev chain's shared account holds ETH only: the droid wraps ETH and swaps WETH for the
    USDC its first ladder needs, then mints it."""
    async with pool.acquire() as conn:
        droid_id = await seed_droid(conn, chain, 5, funding_usd=Decimal(9000))
    ctl = controller(pool, chain, droid_id)
    assert (await ctl.step()).startswith("rebalanced initial")
    await ctl.close()
    async with pool.acquire() as conn:
        kinds = await conn.fetch(
            "SELECT kind FROM droid_transactions WHERE droid_id = $1 AND status = 'mined' "
            "ORDER BY id",
            droid_id,
        )
    assert [r["kind"] for r in kinds] == [
        "approve",
        "approve",
        "wrap",
        "approve",
        "swap",
        "mint",
        "mint",
        "mint",
    ]
    positions = owned_positions(chain, 5)
    assert len(positions) == 3
    sqrt_p, _ = pool_tick(chain)
    eth_usd = float(eth_price(chain))
    value = 0.0
    for _, lower, upper, liquidity in positions:
        amount0, amount1 = droid_math.amounts_for_liquidity(
            sqrt_p,
            droid_math.sqrt_price_at_tick(lower),
            droid_math.sqrt_price_at_tick(upper),
            liquidity,
        )
        value += amount0 / 1e6 + amount1 / 1e18 * eth_usd
    assert 8900 < value <= 9000  # the whole funding, never more


async def test_a_failed_cycle_is_reported_to_the_owner(
    pool: asyncpg.Pool, chain: DevChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retries exhausted: the session's breaker trips and the owner gets an `engine_error`."""
    from ordex.services.droid_chain import TxFailed

    fund_wallet(chain, 9)
    async with pool.acquire() as conn:
        droid_id = await seed_droid(conn, chain, 9)
    ctl = controller(pool, chain, droid_id)

    async def failing(*_args: object) -> str:
        raise TxFailed("mint failed after 3 attempts: reverted")

    monkeypatch.setattr(ctl, "_act", failing)
    assert await ctl.step() == "failed: mint failed after 3 attempts: reverted"
    async with pool.acquire() as conn:
        breaker = await conn.fetchval(
            "SELECT breaker_tripped FROM droid_sessions WHERE droid_id = $1", droid_id
        )
        owner = await conn.fetchval("SELECT user_id FROM droids WHERE id = $1", droid_id)
        notes = await conn.fetch(
            "SELECT event, title, message FROM notifications WHERE user_id = $1", owner
        )
    assert breaker == "TX_FAILURES"
    assert [tuple(n) for n in notes] == [
        ("engine_error", "Droid transaction failed",
         f"Droid {droid_id}: mint failed after 3 attempts: reverted"),
    ]  # fmt: skip
