"""The incremental risk index with isolated and cross units mixed agrees with a full rescan."""

from __future__ import annotations

import random

import ordex
from ordex.services.risk import RiskIndex, account_of, unit_order
from tests.perps.test_risk_index import BTC, ETH, _config, usdc


def test_isolated_position_keyed_on_its_own_margin() -> None:
    index = RiskIndex({"BTC-PERP": BTC})
    index.set_mark("BTC-PERP", BTC.price_to_ticks("60000"))
    # The account's cross collateral is large; its isolated long has 3,000 of its own.
    assert not index.set_account(7, usdc("100000"), {})
    assert not index.set_isolated(7, "BTC-PERP", 10_000, usdc("60000"), usdc("3000"))
    trigger = ordex.liquidation_price(BTC, 10_000, usdc("60000"), usdc("3000"))
    assert trigger is not None
    assert index.key((7, "BTC-PERP"), "BTC-PERP") == trigger - 1
    assert index.set_mark("BTC-PERP", trigger) == set()
    assert index.set_mark("BTC-PERP", trigger - 1) == {(7, "BTC-PERP")}
    # Its bankruptcy price is that of its margin alone.
    price = index.bankruptcy_price((7, "BTC-PERP"), "BTC-PERP", "0.0005")
    assert price == BTC.price_to_ticks("57028.6")
    # More margin: the trigger moves away.
    assert not index.set_isolated(7, "BTC-PERP", 10_000, usdc("60000"), usdc("4000"))
    assert index.key((7, "BTC-PERP"), "BTC-PERP") < trigger - 1  # type: ignore[operator]
    # Closed: gone from the index.
    assert not index.set_isolated(7, "BTC-PERP", 0, 0, 0)
    assert index.accounts == {}


def test_random_moves_with_isolated_and_cross_units() -> None:
    rng = random.Random(20261207)
    markets = {"BTC-PERP": BTC, "ETH-PERP": ETH, "SOL-PERP": _config("SOL-PERP", "0.01", "0.01")}
    marks = {"BTC-PERP": 600_000, "ETH-PERP": 300_000, "SOL-PERP": 15_000}
    index = RiskIndex(markets)
    for market_id, mark in marks.items():
        index.set_mark(market_id, mark)
    for account_id in range(10, 410):
        cross = {}
        for market_id in rng.sample(sorted(markets), rng.randint(1, 3)):
            config = markets[market_id]
            lots = rng.randint(1, 20_000) * rng.choice((1, -1))
            entry = marks[market_id] + rng.randint(-2_000, 2_000) * marks[market_id] // 100_000
            cost = ordex.notional(config, entry, abs(lots))
            if rng.random() < 0.4:
                margin = ordex.notional(config, marks[market_id], abs(lots)) // rng.randint(5, 40)
                index.set_isolated(account_id, market_id, lots, cost, margin)
            else:
                cross[market_id] = (lots, cost)
        if cross:
            notional = sum(
                ordex.notional(markets[m], marks[m], abs(s)) for m, (s, _) in cross.items()
            )
            index.set_account(account_id, notional // rng.randint(5, 40), cross)
    assert any(isinstance(k, tuple) for k in index.accounts)
    assert any(isinstance(k, int) for k in index.accounts)
    liquidated = isolated_liquidated = 0
    for _ in range(300):
        market_id = rng.choice(sorted(markets))
        mark = max(1, marks[market_id] + rng.randint(-300, 300) * marks[market_id] // 100_000)
        marks[market_id] = mark
        found = index.set_mark(market_id, mark)
        assert found == index.full_scan()
        # A margin or collateral change now and then keys the unit again.
        if rng.random() < 0.3 and index.accounts:
            unit = rng.choice(sorted(index.accounts, key=unit_order))
            account = index.accounts[unit]
            changed = account.collateral * rng.randint(90, 110) // 100
            if isinstance(unit, tuple):
                [(size, cost)] = account.positions.values()
                under = index.set_isolated(*unit, size, cost, changed)
            else:
                under = index.set_account(unit, changed)
            if under:
                found.add(unit)
            assert found == index.full_scan()
        liquidated += len(found)
        for unit in found:
            assert account_of(unit) >= 10
            if isinstance(unit, tuple):
                isolated_liquidated += 1
                index.set_isolated(*unit, 0, 0, 0)
            else:
                positions = dict.fromkeys(index.accounts[unit].positions, (0, 0))
                index.set_account(unit, 0, positions)
        assert index.full_scan() == set()
    assert liquidated > 5 and isolated_liquidated > 0
