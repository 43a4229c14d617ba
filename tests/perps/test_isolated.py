"""Isolated margin through the real pipeline (outbox, matcher, persister, risk worker), by hand.

BTC-PERP: initial margin 5% (20x), maintenance 0.5%, taker fee 0.05%, band 5%, liquidation fee
0.5%. The account holds 10,000 USDC and trades BTC-PERP ISOLATED: it buys 1 BTC at 60,000 at
20x as taker. The fill earmarks its initial margin 60000 * 5% = 3,000 as the position's isolated
margin and pays 30 of taker fee: total 9,970, cross collateral 6,970. The position's liquidation
price is `ordex.liquidation_price` with 3,000: (60000 - 3000) / 0.995 = 57286.43, 57286.5 on the
tick grid (the last mark at which it is not under). The same long on cross margin would not be
liquidated before (60000 - 9970) / 0.995 = 50281.4: the account's other funds are not at stake.
"""

from __future__ import annotations

from decimal import Decimal

import ordex
from ordex.services import funding
from ordex.services.isolated_margin import set_margin_mode
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


async def _isolated_long(pipeline: Pipeline) -> int:
    """A 10,000 USDC account with an isolated 20x long of 1 BTC at 60,000 (maker: a new account)."""
    maker = await pipeline.account({"USDC": "1000000"})
    long = await pipeline.account({"USDC": "10000"})
    async with pipeline.pool.acquire() as conn:
        await set_margin_mode(conn, pipeline.registry, long, "BTC-PERP", "ISOLATED")
    await place(pipeline, maker, "SELL", "60000", "1")
    await place(pipeline, long, "BUY", "60000", "1")

    async def opened() -> bool:
        return await position(pipeline, long) == 1

    await wait_for(opened, "the isolated long to open")
    return long


async def _margin(pipeline: Pipeline, account_id: int) -> tuple[str, Decimal]:
    row = await pipeline.pool.fetchrow(
        "SELECT margin_mode, isolated_margin FROM positions"
        " WHERE account_id = $1 AND market_id = 'BTC-PERP'",
        account_id,
    )
    assert row is not None
    return row["margin_mode"], row["isolated_margin"]


async def _liquidation(pipeline: Pipeline, account_id: int) -> dict[str, object] | None:
    row = await pipeline.pool.fetchrow(
        "SELECT l.*, o.status AS order_status FROM liquidations l"
        " JOIN orders o ON o.id = l.order_id WHERE l.account_id = $1",
        account_id,
    )
    return None if row is None else dict(row)


async def _closed(pipeline: Pipeline, account_id: int) -> bool:
    row = await _liquidation(pipeline, account_id)
    return row is not None and row["order_status"] == "FILLED" and row["seq"] is not None


async def _no_balance_below_zero(pipeline: Pipeline) -> None:
    # The house (account 1) is the counterparty of every realized PnL: it may be below zero.
    below = await pipeline.pool.fetchval(
        "SELECT count(*) FROM balances WHERE total < 0 AND account_id <> 1"
    )
    assert below == 0
    # Every account's isolated margins are within its total.
    over = await pipeline.pool.fetchval(
        "SELECT count(*) FROM balances b WHERE b.total < (SELECT coalesce(sum(isolated_margin), 0)"
        " FROM positions p WHERE p.account_id = b.account_id)"
        " AND b.asset = 'USDC' AND b.account_id <> 1"
    )
    assert over == 0


async def test_isolated_long_liquidated_at_its_own_price(pipeline: Pipeline) -> None:
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        long = await _isolated_long(pipeline)
        bidder = await pipeline.account({"USDC": "10000"})
        assert await _margin(pipeline, long) == ("ISOLATED", D(3000))
        assert await total(pipeline, long) == D("9970")
        market = pipeline.markets["BTC-PERP"]
        config = market.config
        trigger = ordex.liquidation_price(
            config, 10_000, market.quote_to_atoms(D(60000)), market.quote_to_atoms(D(3000))
        )
        assert trigger is not None and market.ticks_to_price(trigger) == D("57286.5")
        await place(pipeline, bidder, "BUY", "57250", "1")
        # At the liquidation price itself: not under.
        await set_mark(pipeline, "57286.5")
        await wait_for(lambda: _marked(runtime, trigger), "the worker to read the mark")
        await runtime.drain()
        assert await _liquidation(pipeline, long) is None
        # One tick past it: the position alone is liquidated. The fund is empty: the limit is
        # the isolated bankruptcy price, 3000 + (P - 60000) - 0.0005 P = 0: 57028.51, 57028.6.
        await set_mark(pipeline, "57286.4")
        await wait_for(lambda: _closed(pipeline, long), "the isolated liquidation")
        await runtime.drain()
        row = await _liquidation(pipeline, long)
        assert row is not None
        assert (row["side"], row["quantity"], row["mark_price"]) == ("SELL", D(1), D("57286.4"))
        assert row["bankruptcy_price"] == D("57028.6")
        assert row["limit_price"] == D("57028.6")
        assert row["equity"] == D("286.4")  # 3000 - 2713.6
        assert await position(pipeline, long) == 0
        assert await _margin(pipeline, long) == ("ISOLATED", D(0))
        # Filled at 57,250: 3000 - 2750 realized - 28.625 taker fee = 221.375 left of the margin,
        # all of it to the fund (the fee 57250 * 0.5% = 286.25 is capped there). The cross
        # collateral is what it was: 6,970.
        assert await ledger_of(pipeline, long, "LIQUIDATION_FEE") == D("-221.375")
        assert await total(pipeline, FUND) == D("221.375")
        assert await total(pipeline, long) == D("6970")
        assert await ledger_of(pipeline, long, "INSURANCE") == 0
        await _no_balance_below_zero(pipeline)
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()


async def _marked(runtime: object, ticks: int) -> bool:
    return bool(runtime.risk.index.marks.get("BTC-PERP") == ticks)  # type: ignore[attr-defined]


async def test_bankruptcy_beyond_the_isolated_margin_covered_by_the_fund(
    pipeline: Pipeline,
) -> None:
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        await fund_deposit(pipeline, "10000")
        long = await _isolated_long(pipeline)
        bidder = await pipeline.account({"USDC": "10000"})
        await place(pipeline, bidder, "BUY", "55000", "1")
        # The fund covers the deficit at the band limit (57200 * 0.95 = 54,340): the order goes
        # at the band limit and fills at 55,000, below the bankruptcy price.
        await set_mark(pipeline, "57200")
        await wait_for(lambda: _closed(pipeline, long), "the isolated liquidation")
        await runtime.drain()
        row = await _liquidation(pipeline, long)
        assert row is not None and row["limit_price"] == D("54340.0")
        # 3000 - 5000 realized - 27.5 taker fee = -2027.5: the margin is gone, no liquidation
        # fee, and the fund pays the 2,027.5 beyond it, not the account's cross collateral.
        assert await ledger_of(pipeline, long, "LIQUIDATION_FEE") == 0
        assert await ledger_of(pipeline, long, "INSURANCE") == D("2027.5")
        assert await ledger_of(pipeline, FUND, "INSURANCE") == D("-2027.5")
        assert await total(pipeline, FUND) == D("7972.5")
        assert await total(pipeline, long) == D("6970")
        assert await _margin(pipeline, long) == ("ISOLATED", D(0))
        await _no_balance_below_zero(pipeline)
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()


async def test_cross_and_isolated_of_one_account(pipeline: Pipeline) -> None:
    """The account's cross ETH short is valued against its cross collateral only: the isolated
    BTC long's liquidation leaves it open and its collateral as it was."""
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        long = await _isolated_long(pipeline)
        maker = await pipeline.account({"USDC": "1000000"})
        bidder = await pipeline.account({"USDC": "10000"})
        await place(pipeline, maker, "BUY", "3000", "1", market_id="ETH-PERP")
        await place(pipeline, long, "SELL", "3000", "1", market_id="ETH-PERP")

        async def shorted() -> bool:
            return await position(pipeline, long, "ETH-PERP") == -1

        await wait_for(shorted, "the cross short")
        # 9970 - 1.5 taker fee; cross collateral 6968.5.
        assert await total(pipeline, long) == D("9968.5")
        await place(pipeline, bidder, "BUY", "57250", "1")
        await set_mark(pipeline, "3000", "ETH-PERP")
        await set_mark(pipeline, "57286.4")
        await wait_for(lambda: _closed(pipeline, long), "the isolated liquidation")
        await runtime.drain()
        assert await position(pipeline, long) == 0
        assert await position(pipeline, long, "ETH-PERP") == -1
        assert await total(pipeline, long) == D("6968.5")
        count = await pipeline.pool.fetchval(
            "SELECT count(*) FROM liquidations WHERE account_id = $1", long
        )
        assert count == 1
        await _no_balance_below_zero(pipeline)
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()


async def test_closing_releases_the_margin_in_proportion(pipeline: Pipeline) -> None:
    runtime = pipeline.runtime(roles=("outbox", "matcher", "persister"))
    await runtime.start()
    try:
        long = await _isolated_long(pipeline)
        bidder = await pipeline.account({"USDC": "100000"})
        await place(pipeline, bidder, "BUY", "61000", "2")
        # Half closed at 61,000: half the margin (1,500) goes back with the 500 of profit less
        # the fee 15.25; the other half stays.
        await place(pipeline, long, "SELL", "61000", "0.5")

        async def halved() -> bool:
            return await position(pipeline, long) == D("0.5")

        await wait_for(halved, "the half close")
        assert await _margin(pipeline, long) == ("ISOLATED", D(1500))
        assert await total(pipeline, long) == D("10454.75")
        # Flipped: the rest closes (its 1,500 back, 500 of profit, the fill's fee 45.75) and the
        # new short of 1 at 61,000 earmarks 61000 * 5% = 3,050.
        await place(pipeline, long, "SELL", "61000", "1.5")

        async def flipped() -> bool:
            return await position(pipeline, long) == -1

        await wait_for(flipped, "the flip")
        assert await _margin(pipeline, long) == ("ISOLATED", D(3050))
        assert await total(pipeline, long) == D("10909")
        await runtime.drain()
        await _no_balance_below_zero(pipeline)
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()


async def test_isolated_remainder_deleveraged_against_an_isolated_short(
    pipeline: Pipeline,
) -> None:
    """The fund is empty: the isolated long's liquidation order goes at its bankruptcy price,
    57,028.6, above the only bid (55,000), and is cancelled whole. The position is deleveraged at
    its fee-less bankruptcy price, 60000 - 3000 = 57,000, against the maker's short of 1 at
    60,000, itself ISOLATED (3,000 of margin, 12 of maker fee): each position closes with its
    share of the margin, the long's 3,000 spent exactly, the short's 3,000 back with its 3,000 of
    profit. Neither account's cross collateral pays for the other's position."""
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        maker = await pipeline.account({"USDC": "10000"})
        long = await pipeline.account({"USDC": "10000"})
        bidder = await pipeline.account({"USDC": "10000"})
        async with pipeline.pool.acquire() as conn:
            for account_id in (maker, long):
                await set_margin_mode(conn, pipeline.registry, account_id, "BTC-PERP", "ISOLATED")
        await place(pipeline, maker, "SELL", "60000", "1")
        await place(pipeline, long, "BUY", "60000", "1")

        async def opened() -> bool:
            return await position(pipeline, long) == 1

        await wait_for(opened, "the isolated long")
        assert await _margin(pipeline, maker) == ("ISOLATED", D(3000))
        await place(pipeline, bidder, "BUY", "55000", "1")
        await set_mark(pipeline, "57200")

        async def deleveraged() -> bool:
            count = await pipeline.pool.fetchval("SELECT count(*) FROM adl_events")
            done = await pipeline.pool.fetchval(
                "SELECT count(*) FROM liquidations WHERE status = 'DONE'"
            )
            return bool(count == 1 and done == 1)

        await wait_for(deleveraged, "the deleveraging to be persisted")
        await runtime.drain()
        rows = await pipeline.pool.fetch(
            "SELECT account_id, counterparty_id, side, quantity, price, realized_pnl,"
            " counterparty_realized FROM adl_events ORDER BY seq"
        )
        assert [tuple(r) for r in rows] == [
            (long, maker, "SELL", D(1), D(57000), D(-3000), D(3000)),
        ]
        limit = await pipeline.pool.fetchval(
            "SELECT limit_price FROM liquidations WHERE account_id = $1", long
        )
        assert limit == D("57028.6")
        assert await position(pipeline, long) == 0
        assert await position(pipeline, maker) == 0
        assert await _margin(pipeline, long) == ("ISOLATED", D(0))
        assert await _margin(pipeline, maker) == ("ISOLATED", D(0))
        assert await total(pipeline, long) == D("6970")  # 10000 - 30 - 3000
        assert await total(pipeline, maker) == D("12988")  # 10000 - 12 + 3000
        assert await ledger_of(pipeline, long, "INSURANCE") == 0
        await _no_balance_below_zero(pipeline)
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()


async def test_funding_of_an_isolated_position_moves_its_margin(pipeline: Pipeline) -> None:
    """Rate 0.001 at the mark 60,000: the isolated long pays 60 out of its own margin (3,000 ->
    2,940), the cross short receives 60; the long's cross collateral stays 6,970."""
    runtime = pipeline.runtime(roles=("outbox", "matcher", "persister"))
    await runtime.start()
    try:
        long = await _isolated_long(pipeline)
        maker = await pipeline.pool.fetchval(
            "SELECT account_id FROM positions WHERE market_id = 'BTC-PERP' AND size < 0"
        )
        market = pipeline.markets["BTC-PERP"]
        async with pipeline.pool.acquire() as conn:
            sent = await funding.send_settlement(
                conn, market, 1_800_000_000_000, [D("0.001")], D(60000)
            )
        assert sent.outbox_id is not None and sent.rate == D("0.001")

        async def settled() -> bool:
            status = await pipeline.pool.fetchval("SELECT status FROM funding_settlements")
            return bool(status == "SETTLED")

        await wait_for(settled, "the funding settlement")
        assert await _margin(pipeline, long) == ("ISOLATED", D(2940))
        assert await total(pipeline, long) == D(9910)
        assert await ledger_of(pipeline, long, "FUNDING") == D(-60)
        assert await ledger_of(pipeline, maker, "FUNDING") == D(60)
        await _no_balance_below_zero(pipeline)
        await pipeline.ledger_matches_balances()
    finally:
        await runtime.stop()
