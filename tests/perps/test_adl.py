"""Auto-deleveraging when the insurance fund is empty, through the real pipeline, worked by hand.

The long buys 1 BTC at 60,000 (20x) and has 3,070 USDC left. The fund holds nothing, so at the
mark 57,200 its liquidation order is limited to the bankruptcy price 56,958.5 (taker fee
included); the only bid, 55,000, is below it: the IOC is cancelled whole. The remainder is
deleveraged at the fee-less bankruptcy price 60000 - 3070 = 56,930 against the shorts, ranked by
PnL ratio times effective leverage:
- S2, short 0.5 at 58,000 on 2,000 USDC: PnL 400 / 29,000 = 1.38%, leverage 28,600 / 2,394.2
  = 11.9: score 0.165;
- the maker, short 1 at 60,000 on a million: PnL 2,800 / 60,000 = 4.67%, leverage 0.057: 0.0027.
S2's 0.5 goes first, then 0.5 of the maker's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ordex.services.live_messages import UserMessages
from ordex.streams import entry_events, events_stream
from tests.perps.risk_helpers import (
    ROLES,
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


async def test_remainder_deleveraged_in_ranking_order(pipeline: Pipeline) -> None:
    runtime = pipeline.runtime(roles=ROLES)
    await runtime.start()
    try:
        maker = await pipeline.account({"USDC": "1000000"})
        long = await pipeline.account({"USDC": "3100"})
        s2 = await pipeline.account({"USDC": "2000"})
        l2 = await pipeline.account({"USDC": "100000"})
        bidder = await pipeline.account({"USDC": "10000"})
        await open_long(pipeline, l2, s2, "58000", "0.5")
        await open_long(pipeline, long, maker, "60000", "1")
        await place(pipeline, bidder, "BUY", "55000", "1")
        await set_mark(pipeline, "57200")

        async def deleveraged() -> bool:
            count = await pipeline.pool.fetchval("SELECT count(*) FROM adl_events")
            done = await pipeline.pool.fetchval(
                "SELECT count(*) FROM liquidations WHERE status = 'DONE'"
            )
            return bool(count == 2 and done == 1)

        await wait_for(deleveraged, "the deleveraging to be persisted")
        rows = await pipeline.pool.fetch(
            "SELECT account_id, counterparty_id, side, quantity, price, realized_pnl,"
            " counterparty_realized FROM adl_events ORDER BY seq"
        )
        assert [tuple(r) for r in rows] == [
            (long, s2, "SELL", D("0.5"), D("56930"), D("-1535"), D("535")),
            (long, maker, "SELL", D("0.5"), D("56930"), D("-1535"), D("1535")),
        ]
        liquidation = await pipeline.pool.fetchrow(
            "SELECT l.status, l.deleveraged, l.limit_price, o.status AS order_status"
            " FROM liquidations l JOIN orders o ON o.id = l.order_id WHERE l.account_id = $1",
            long,
        )
        assert tuple(liquidation) == ("DONE", D("1"), D("56958.5"), "CANCELLED")
        count = await pipeline.pool.fetchval(
            "SELECT count(*) FROM liquidations WHERE account_id = $1", long
        )
        assert count == 1
        assert await position(pipeline, long) == 0
        assert await position(pipeline, s2) == 0
        assert await position(pipeline, maker) == D("-0.5")
        assert await position(pipeline, bidder) == 0
        # Nobody below zero, no fee on deleveraging, the losses against the house.
        assert await total(pipeline, long) == 0
        assert await ledger_of(pipeline, long, "ADL") == D("-3070")
        assert await ledger_of(pipeline, s2, "ADL") == D("535")
        assert await ledger_of(pipeline, 1, "ADL") == D("1000")
        await runtime.drain()
        await pipeline.ledger_matches_balances()
        # The events reach the owners' live streams.
        messages: list[tuple[object, dict[str, Any]]] = []

        async def sink(user: object, message: dict[str, Any]) -> None:
            messages.append((user, message))

        users = UserMessages(pipeline.pool, pipeline.redis, pipeline.registry, lambda _: True)
        users.add_sink(sink)
        events = [
            e
            for _, fields in await pipeline.redis.xrange(events_stream("BTC-PERP"))
            for e in entry_events(fields)
        ]
        await users.on_engine_events("BTC-PERP", events)
        owner = await pipeline.pool.fetchval(
            "SELECT user_id FROM trading_accounts WHERE id = $1", long
        )
        kinds = [m["type"] for u, m in messages if u == owner]
        assert kinds.count("liquidation") == 1
        assert kinds.count("adl") == 2
        adl = [m["data"] for u, m in messages if m["type"] == "adl" and u != owner]
        assert [(d["side"], d["role"], d["quantity"]) for d in adl] == [
            ("BUY", "counterparty", 0.5),
            ("BUY", "counterparty", 0.5),
        ]
        await users.close()
    finally:
        await runtime.stop()
