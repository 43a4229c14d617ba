"""Liquidation through the real pipeline (outbox, matcher, persister, risk worker), worked by hand.

BTC-PERP: maintenance 0.5%, taker fee 0.05%, maker 0.02%, band 5%, liquidation fee 0.5%.
The long buys 1 BTC at 60,000 (20x) on 3,100 USDC and pays 30 of taker fee: 3,070 left. Its
liquidation price is (60000 - 3070) / 0.995 = 57216.08..., 57216.1 on the tick grid.
"""

from __future__ import annotations

from decimal import Decimal

from tests.perps.risk_helpers import (
    FUND,
    ROLES,
    fund_deposit,
    ledger_of,
    open_long,
    place,
    position,
    set_mark,
    total,
    wait_for,
)
from tests.pipeline.conftest import Pipeline

D = Decimal


async def _liquidation(pipeline: Pipeline, account_id: int) -> dict[str, object] | None:
    row = await pipeline.pool.fetchrow(
        "SELECT l.*, o.status AS order_status, o.liquidation AS flagged, o.filled_quantity"
        " FROM liquidations l JOIN orders o ON o.id = l.order_id WHERE l.account_id = $1",
        account_id,
    )
    return None if row is None else dict(row)


async def test_liquidated_at_the_mark_fee_to_the_fund(pipeline: Pipeline) -> None:
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        maker = await pipeline.account({"USDC": "1000000"})
        long = await pipeline.account({"USDC": "3100"})
        bidder = await pipeline.account({"USDC": "10000"})
        await open_long(pipeline, long, maker, "60000", "1")
        assert await total(pipeline, long) == D("3070")
        await place(pipeline, bidder, "BUY", "57250", "1")
        # 57,300: equity 3070 - 2700 = 370 above maintenance 286.5: nothing happens.
        await set_mark(pipeline, "57300")
        await wait_for(lambda: _marked(runtime, 573000), "the worker to read the mark")
        await runtime.drain()
        assert await _liquidation(pipeline, long) is None
        # 57,200: equity 270 below maintenance 286: liquidated. The fund holds nothing, so the
        # limit is the bankruptcy price (60000 - 3070) / 0.9995 = 56958.48, 56958.5, rather than the band's
        # 54,340; the resting bid at 57,250 takes it.
        await set_mark(pipeline, "57200")

        async def closed() -> bool:
            row = await _liquidation(pipeline, long)
            return row is not None and row["order_status"] == "FILLED" and row["seq"] is not None

        await wait_for(closed, "the liquidation to be persisted")
        row = await _liquidation(pipeline, long)
        assert row is not None
        assert row["flagged"] is True
        assert (row["side"], row["quantity"], row["mark_price"]) == ("SELL", D(1), D(57200))
        assert row["limit_price"] == D("56958.5")
        assert row["bankruptcy_price"] == D("56958.5")
        assert await position(pipeline, long) == 0
        assert await position(pipeline, bidder) == 1
        # 3070 - 2750 realized - 28.625 taker fee = 291.375; fee 57250 * 0.005 = 286.25.
        assert await ledger_of(pipeline, long, "LIQUIDATION_FEE") == D("-286.25")
        assert await ledger_of(pipeline, FUND, "LIQUIDATION_FEE") == D("286.25")
        assert await total(pipeline, long) == D("5.125")
        assert await total(pipeline, FUND) == D("286.25")
        await runtime.drain()
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()


async def _marked(runtime: object, ticks: int) -> bool:
    return bool(runtime.risk.index.marks.get("BTC-PERP") == ticks)  # type: ignore[attr-defined]


async def test_bankruptcy_covered_by_the_fund(pipeline: Pipeline) -> None:
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        await fund_deposit(pipeline, "10000")
        maker = await pipeline.account({"USDC": "1000000"})
        long = await pipeline.account({"USDC": "3100"})
        bidder = await pipeline.account({"USDC": "10000"})
        await open_long(pipeline, long, maker, "60000", "1")
        await place(pipeline, bidder, "BUY", "55000", "1")
        # The fund covers the deficit at the band limit (57200 * 0.95 = 54,340): the order goes
        # at the band limit and fills at 55,000, below the bankruptcy price.
        await set_mark(pipeline, "57200")

        async def closed() -> bool:
            row = await _liquidation(pipeline, long)
            return row is not None and row["order_status"] == "FILLED" and row["seq"] is not None

        await wait_for(closed, "the liquidation to be persisted")
        row = await _liquidation(pipeline, long)
        assert row is not None
        assert row["limit_price"] == D("54340.0")
        # 3070 - 5000 realized - 27.5 taker fee = -1957.5: no liquidation fee (nothing left),
        # the fund brings the account back to zero.
        assert await total(pipeline, long) == 0
        assert await ledger_of(pipeline, long, "LIQUIDATION_FEE") == 0
        assert await ledger_of(pipeline, long, "INSURANCE") == D("1957.5")
        assert await ledger_of(pipeline, FUND, "INSURANCE") == D("-1957.5")
        assert await total(pipeline, FUND) == D("8042.5")
        await runtime.drain()
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()


async def test_a_restart_does_not_liquidate_twice(pipeline: Pipeline) -> None:
    """A liquidation in flight (its order not finished) is not sent again by a new worker."""
    from ordex.workers.risk import RiskWorker

    runtime = pipeline.runtime(roles=("outbox", "matcher", "persister"))
    await runtime.start()
    try:
        maker = await pipeline.account({"USDC": "1000000"})
        long = await pipeline.account({"USDC": "3100"})
        await open_long(pipeline, long, maker, "60000", "1")
        await set_mark(pipeline, "57200")
        first = RiskWorker(pipeline.pool, pipeline.redis, pipeline.markets)
        # No matcher applies the command between the two workers' rounds: the order stays PENDING.
        await runtime.stop()
        assert await first.round() == 1
        await first.release()
        second = RiskWorker(pipeline.pool, pipeline.redis, pipeline.markets)
        assert await second.round() == 0
        await second.release()
        count = await pipeline.pool.fetchval(
            "SELECT count(*) FROM liquidations WHERE account_id = $1", long
        )
        assert count == 1
        kinds = await pipeline.pool.fetch(
            "SELECT kind FROM outbox WHERE kind = 'order.liquidation'"
        )
        assert len(kinds) == 1
    finally:
        await runtime.stop()
