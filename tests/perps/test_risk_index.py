"""The incremental risk index (services/risk.py): hand-worked cross-margin cases, and random mark
moves over many accounts where it must find exactly what a full rescan finds."""

from __future__ import annotations

import random

import ordex
from ordex.services.risk import RiskIndex, band_limit


def _config(symbol: str, tick: str = "0.1", lot: str = "0.0001") -> ordex.MarketConfig:
    return ordex.MarketConfig(
        symbol, "PERP", symbol.split("-")[0], "USDC", tick_size=tick, lot_size=lot,
        quote_decimals=6, maintenance_margin="0.005", initial_margin="0.05", max_leverage=20,
        price_band="0.05", taker_fee="0.0005", maker_fee="0.0002",
    )  # fmt: skip


BTC = _config("BTC-PERP")
ETH = _config("ETH-PERP", "0.01", "0.001")


def usdc(amount: str) -> int:
    return BTC.quote_to_atoms(amount)


def test_long_is_liquidated_exactly_below_its_liquidation_price() -> None:
    # 1 BTC long at 60,000 on 3,000 USDC: (60000 - 3000) / (1 - 0.005) = 57286.43..., rounded
    # toward the mark to 57286.5. At 57286.4 equity is 286.4 and maintenance 286.432: under.
    index = RiskIndex({"BTC-PERP": BTC})
    index.set_mark("BTC-PERP", BTC.price_to_ticks("60000"))
    assert not index.set_account(7, usdc("3000"), {"BTC-PERP": (10_000, usdc("60000"))})
    # The trigger: the first mark at which it may be under, a tick below the engine's price.
    assert index.key(7, "BTC-PERP") == BTC.price_to_ticks("57286.4")
    assert ordex.liquidation_price(BTC, 10_000, usdc("60000"), usdc("3000")) == 572865
    assert index.set_mark("BTC-PERP", BTC.price_to_ticks("57286.5")) == set()
    assert index.set_mark("BTC-PERP", BTC.price_to_ticks("57286.4")) == {7}
    margin = index.margin(7)
    assert margin is not None
    assert (margin.equity, margin.maintenance) == (usdc("286.4"), usdc("286.432"))
    # Closing it at the bankruptcy price leaves nothing, and no less, after the taker fee.
    price = index.bankruptcy_price(7, "BTC-PERP", "0.0005")
    assert index.closing_outcome(7, "BTC-PERP", price, "0.0005") >= 0
    assert index.closing_outcome(7, "BTC-PERP", price - 1, "0.0005") < 0
    assert band_limit(BTC, "SELL", BTC.price_to_ticks("57286.4")) == BTC.price_to_ticks("54422.1")


def test_short_and_a_move_the_other_way_checks_nothing() -> None:
    index = RiskIndex({"BTC-PERP": BTC})
    index.set_mark("BTC-PERP", BTC.price_to_ticks("60000"))
    index.set_account(8, usdc("3000"), {"BTC-PERP": (-10_000, usdc("60000"))})
    # (60000 + 3000) / 1.005 = 62686.56...: not under at 62686.5, under at 62686.6.
    assert index.key(8, "BTC-PERP") == BTC.price_to_ticks("62686.6")
    before = index.checked
    assert index.set_mark("BTC-PERP", BTC.price_to_ticks("50000")) == set()
    assert index.checked == before  # a fall never hurts a short
    assert index.set_mark("BTC-PERP", BTC.price_to_ticks("62686.5")) == set()
    assert index.set_mark("BTC-PERP", BTC.price_to_ticks("62686.6")) == {8}


def test_cross_margin_other_market_moves_the_liquidation_price() -> None:
    # Long 1 BTC at 60,000 and short 10 ETH at 3,000 on 3,000 USDC. ETH rising by 150 costs
    # 1,500 of equity: the BTC liquidation price rises with it, and a BTC move that was harmless
    # before now liquidates.
    index = RiskIndex({"BTC-PERP": BTC, "ETH-PERP": ETH})
    index.set_mark("BTC-PERP", BTC.price_to_ticks("60000"))
    index.set_mark("ETH-PERP", ETH.price_to_ticks("3000"))
    index.set_account(
        9,
        usdc("3000"),
        {"BTC-PERP": (10_000, usdc("60000")), "ETH-PERP": (-10_000, usdc("30000"))},
    )
    first = index.key(9, "BTC-PERP")
    assert first is not None
    assert index.set_mark("ETH-PERP", ETH.price_to_ticks("3150")) == set()
    # BTC to 59,000: equity 3000 - 1000 - 1500 = 500 < maintenance 295 + 157.5? No: 452.5 < 500.
    assert index.set_mark("BTC-PERP", BTC.price_to_ticks("59000")) == set()
    assert index.key(9, "BTC-PERP") is not None
    assert index.key(9, "BTC-PERP") > first  # type: ignore[operator]
    # 58,940: equity 440 < maintenance 294.7 + 157.5 = 452.2: under.
    assert index.set_mark("BTC-PERP", BTC.price_to_ticks("58940")) == {9}
    assert index.full_scan() == {9}


def test_random_moves_find_what_a_full_rescan_finds() -> None:
    rng = random.Random(20261206)
    markets = {"BTC-PERP": BTC, "ETH-PERP": ETH, "SOL-PERP": _config("SOL-PERP", "0.01", "0.01")}
    marks = {"BTC-PERP": 600_000, "ETH-PERP": 300_000, "SOL-PERP": 15_000}
    index = RiskIndex(markets)
    for market_id, mark in marks.items():
        index.set_mark(market_id, mark)
    for account_id in range(10, 410):
        positions = {}
        for market_id in rng.sample(sorted(markets), rng.randint(1, 3)):
            config = markets[market_id]
            lots = rng.randint(1, 20_000) * rng.choice((1, -1))
            entry = marks[market_id] + rng.randint(-2_000, 2_000) * marks[market_id] // 100_000
            positions[market_id] = (lots, ordex.notional(config, entry, abs(lots)))
        notional = sum(
            ordex.notional(markets[m], marks[m], abs(s)) for m, (s, _) in positions.items()
        )
        collateral = notional // rng.randint(5, 40)
        index.set_account(account_id, collateral, positions)
    moves = 0
    incremental_checks = 0
    liquidated = 0
    for _ in range(300):
        market_id = rng.choice(sorted(markets))
        mark = max(1, marks[market_id] + rng.randint(-300, 300) * marks[market_id] // 100_000)
        marks[market_id] = mark
        before = index.checked
        found = index.set_mark(market_id, mark)
        incremental_checks += index.checked - before
        moves += 1
        # Exactly the accounts a rescan finds under maintenance margin: none missed.
        assert found == index.full_scan()
        # A collateral change now and then (funding, a fee, a deposit) keys the account again.
        if rng.random() < 0.2 and index.accounts:
            account_id = rng.choice(sorted(index.accounts))
            collateral = index.accounts[account_id].collateral
            changed = collateral * rng.randint(90, 110) // 100
            if account_id not in found and index.set_account(account_id, changed):
                found.add(account_id)
            assert found == index.full_scan()
        # Liquidated (closed) at once, as the worker does: nothing stays under.
        liquidated += len(found)
        for account_id in found:
            positions = dict.fromkeys(index.accounts[account_id].positions, (0, 0))
            index.set_account(account_id, 0, positions)
        assert index.full_scan() == set()
    assert liquidated > 5
    # Far fewer evaluations than a rescan per move would make.
    assert incremental_checks < moves * 400 // 4
