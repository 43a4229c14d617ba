"""Cross margin through the real pipeline: a loss in one market liquidates the account in both.

One account on 4,600 USDC: long 1 BTC at 60,000 and short 10 ETH at 3,000 (20x each), 45 of
taker fees: 4,555 left. Maintenance at the entry marks: 300 + 150 = 450.
- ETH 3,400: equity 4555 - 4000 = 555, maintenance 300 + 170 = 470: nothing happens.
- ETH 3,410: equity 455, maintenance 470.5: under. Both positions are liquidated (the fund
  holds enough: band limits), BTC into a bid at 59,990, ETH into an ask at 3,411:
  4555 - 10 - 29.995 (BTC) - 4110 - 17.055 (ETH) = 387.95 left, less than the liquidation fees
  (299.95 + 170.55): the fund gets all of it, in whichever order the two markets settle.
"""

from __future__ import annotations

from decimal import Decimal

from tests.perps.risk_helpers import (
    FUND,
    ROLES,
    fund_deposit,
    ledger_of,
    place,
    position,
    set_mark,
    total,
    wait_for,
)
from tests.pipeline.conftest import Pipeline

D = Decimal


async def test_loss_in_one_market_liquidates_both(pipeline: Pipeline) -> None:
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        await fund_deposit(pipeline, "100000")
        maker = await pipeline.account({"USDC": "1000000"})
        trader = await pipeline.account({"USDC": "4600"})
        await place(pipeline, maker, "SELL", "60000", "1")
        await place(pipeline, trader, "BUY", "60000", "1")
        await place(pipeline, maker, "BUY", "3000", "10", market_id="ETH-PERP")
        await place(pipeline, trader, "SELL", "3000", "10", market_id="ETH-PERP")

        async def opened() -> bool:
            return await position(pipeline, trader, "ETH-PERP") == -10 and (
                await position(pipeline, trader) == 1
            )

        await wait_for(opened, "both positions")
        assert await total(pipeline, trader) == D("4555")
        await place(pipeline, maker, "BUY", "59990", "1")
        await place(pipeline, maker, "SELL", "3411", "10", market_id="ETH-PERP")
        await set_mark(pipeline, "60000")
        await set_mark(pipeline, "3400", "ETH-PERP")

        async def seen() -> bool:
            return runtime.risk.index.marks.get("ETH-PERP") == 340000

        await wait_for(seen, "the ETH mark")
        await runtime.drain()
        assert await pipeline.pool.fetchval("SELECT count(*) FROM liquidations") == 0
        await set_mark(pipeline, "3410", "ETH-PERP")

        async def liquidated() -> bool:
            done = await pipeline.pool.fetchval(
                "SELECT count(*) FROM liquidations l JOIN orders o ON o.id = l.order_id"
                " WHERE l.account_id = $1 AND o.status = 'FILLED' AND l.seq IS NOT NULL",
                trader,
            )
            return bool(done == 2)

        await wait_for(liquidated, "both liquidations")
        await runtime.drain()
        rows = await pipeline.pool.fetch(
            "SELECT market_id, side, mark_price, limit_price FROM liquidations ORDER BY market_id"
        )
        assert [tuple(r) for r in rows] == [
            ("BTC-PERP", "SELL", D("60000"), D("57000.0")),
            ("ETH-PERP", "BUY", D("3410"), D("3580.50")),
        ]
        assert await position(pipeline, trader) == 0
        assert await position(pipeline, trader, "ETH-PERP") == 0
        assert await total(pipeline, trader) == 0
        assert await ledger_of(pipeline, trader, "LIQUIDATION_FEE") == D("-387.95")
        assert await total(pipeline, FUND) == D("100387.95")
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()
