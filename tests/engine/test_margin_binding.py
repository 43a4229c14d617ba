"""The hand-worked margin examples of `rust/ordex-engine/tests/margin.rs` through the binding.

BTC-PERP: tick 0.1, lot 0.001, USDC with 6 decimals (100 atoms per tick-lot), IM 5%, MM 0.5%,
max leverage 20, maker 0.02%, taker 0.05%, funding cap 0.375%. Amounts are written as decimal
strings and converted with the market's own exact conversions.
"""

from __future__ import annotations

import pytest

import ordex
from ordex.engine_types import Side

CFG = ordex.MarketConfig(
    "BTC-PERP",
    "PERP",
    "BTC",
    "USDC",
    tick_size="0.1",
    lot_size="0.001",
    initial_margin="0.05",
    maintenance_margin="0.005",
    maker_fee="0.0002",
    taker_fee="0.0005",
    funding_rate_cap="0.00375",
)


def usdc(amount: str) -> int:
    return CFG.quote_to_atoms(amount)


def px(price: str) -> int:
    return CFG.price_to_ticks(price)


def lots(qty: str) -> int:
    """Signed lots: a leading '-' is a short size."""
    if qty.startswith("-"):
        return -CFG.qty_to_lots(qty[1:])
    return 0 if qty == "0" else CFG.qty_to_lots(qty)


def test_config_of_the_examples() -> None:
    assert CFG.atoms_per_tick_lot == 100
    assert (CFG.max_leverage, CFG.funding_interval_hours) == (20, 8)
    assert (CFG.initial_margin, CFG.maintenance_margin) == ("0.05", "0.005")
    assert CFG.format_quote(usdc("-1250.5")) == "-1250.5"
    assert CFG.format_price(px("65000.1")) == "65000.1"
    assert CFG.format_qty(lots("1.25")) == "1.25"


def test_notional_of_the_contract_example() -> None:
    assert ordex.notional(CFG, px("65000"), lots("1.25")) == usdc("81250")


def test_notional_never_wraps_silently() -> None:
    wide = ordex.MarketConfig(
        "W", "PERP", "W", "USD", tick_size="1", lot_size="1", quote_decimals=8
    )
    exact = 10**18 * 10**18 * 10**8
    try:
        value = ordex.notional(wide, 10**18, 10**18)
    except ordex.OrdexError:
        return
    assert value == exact


@pytest.mark.parametrize(
    ("leverage", "want"),
    [
        pytest.param(10, "8125", id="leverage-10"),
        pytest.param(20, "4062.5", id="leverage-20-floor-is-market-rate"),
        pytest.param(1, "81250", id="leverage-1"),
        # 81250 * 0.33333334: 1/3 rounds up to the 1e-8 rate grid.
        pytest.param(3, "27083.333875", id="leverage-3-rate-rounds-up"),
    ],
)
def test_initial_margin_by_leverage(leverage: int, want: str) -> None:
    assert ordex.initial_margin(CFG, lots("1.25"), px("65000"), leverage) == usdc(want)
    # Short positions need the same margin.
    assert ordex.initial_margin(CFG, -lots("1.25"), px("65000"), leverage) == usdc(want)


@pytest.mark.parametrize("leverage", [0, 21])
def test_leverage_outside_the_cap_is_refused(leverage: int) -> None:
    with pytest.raises(ordex.InvalidLeverageError):
        ordex.initial_margin(CFG, 1, 1, leverage)


def test_margin_functions_refuse_spot_markets() -> None:
    spot = ordex.MarketConfig(
        "BTC-USDC", "SPOT", "BTC", "USDC", tick_size="0.01", lot_size="0.0001"
    )
    with pytest.raises(ordex.MarginComputationError) as info:
        ordex.initial_margin(spot, 1, 1, 1)
    assert not isinstance(info.value, ordex.InvalidLeverageError)


def test_maintenance_margin_and_unrealized_pnl() -> None:
    assert ordex.maintenance_margin(CFG, lots("1.25"), px("65000")) == usdc("406.25")
    cost = usdc("81250")
    assert ordex.unrealized_pnl(CFG, lots("1.25"), cost, px("66000")) == usdc("1250")
    assert ordex.unrealized_pnl(CFG, -lots("1.25"), cost, px("66000")) == usdc("-1250")


# (side, price, qty) -> (size, cost, realized pnl, closed lots), each step from the last position.
FILLS: list[tuple[Side, str, str, tuple[str, str, str, str]]] = [
    ("BUY", "60000", "1", ("1", "60000", "0", "0")),
    ("BUY", "62000", "1", ("2", "122000", "0", "0")),
    ("SELL", "63000", "0.5", ("1.5", "91500", "1000", "0.5")),  # closes at avg 61000
    ("SELL", "59000", "2", ("-0.5", "29500", "-3000", "1.5")),  # closes 1.5, opens 0.5 short
    ("BUY", "58000", "0.5", ("0", "0", "500", "0.5")),
]


def test_fills_increase_reduce_close_and_flip() -> None:
    size, cost = 0, 0
    for side, price, qty, (want_size, want_cost, want_pnl, want_closed) in FILLS:
        size, cost, pnl, closed = ordex.apply_fill(CFG, size, cost, side, px(price), lots(qty))
        assert (size, cost, pnl, closed) == (
            lots(want_size),
            usdc(want_cost),
            usdc(want_pnl),
            lots(want_closed),
        ), (side, price, qty)


def test_realized_pnl_is_exact_over_a_position_life() -> None:
    # Three partial closes of an odd cost: the floor of each partial close is recovered by the last.
    size, cost, _, _ = ordex.apply_fill(CFG, 0, 0, "BUY", px("100.1"), 3)
    total = 0
    for _ in range(3):
        size, cost, pnl, _ = ordex.apply_fill(CFG, size, cost, "SELL", px("100.1"), 1)
        total += pnl
    assert (size, cost, total) == (0, 0, 0)


@pytest.mark.parametrize(
    ("size", "mark", "rate", "want"),
    [
        pytest.param("2", "60000", "0.0001", "-12", id="long-pays"),
        pytest.param("-2", "60000", "0.0001", "12", id="short-receives"),
        pytest.param("-2", "60000", "-0.0001", "-12", id="negative-rate-short-pays"),
        pytest.param("2", "60000", "0.01", "-450", id="rate-capped"),
        pytest.param("0", "60000", "0.0001", "0", id="flat"),
    ],
)
def test_funding(size: str, mark: str, rate: str, want: str) -> None:
    assert ordex.funding_payment(CFG, lots(size), px(mark), rate) == usdc(want)


def test_funding_rounds_against_the_account() -> None:
    # 0.001 BTC at 60000.1 = 60.0001 USDC; at 3e-8 that is 1.800003 atoms: the payer pays 2, the
    # receiver gets 1.
    assert ordex.funding_payment(CFG, 1, px("60000.1"), "0.00000003") == -2
    assert ordex.funding_payment(CFG, -1, px("60000.1"), "0.00000003") == 1


@pytest.mark.parametrize(
    ("notional", "rate", "want"),
    [
        pytest.param(33_300, "0.0005", 17, id="charged-16.65-rounds-up"),
        pytest.param(33_300, "-0.0002", -6, id="rebate-6.66-toward-zero"),
        pytest.param(-33_300, "0.0005", 17, id="sign-of-notional-ignored"),
        pytest.param(100_000_000, "0.00000001", 1, id="exact-one-atom"),
        pytest.param(99_999_999, "0.00000001", 1, id="just-under-one-atom"),
        pytest.param(0, "0.00000001", 0, id="zero"),
    ],
)
def test_fee_rounding(notional: int, rate: str, want: int) -> None:
    assert ordex.fee(notional, rate) == want


def test_fee_rate_with_too_many_decimals_is_refused() -> None:
    with pytest.raises(ordex.NotAlignedError):
        ordex.fee(1, "0.000000001")


def test_isolated_liquidation_prices() -> None:
    cost, margin = usdc("60000"), usdc("6000")
    # Long: (60000 - 6000) / (1 - 0.005) = 54271.3567..., rounded up to the tick.
    assert ordex.liquidation_price(CFG, lots("1"), cost, margin) == px("54271.4")
    # Short: (60000 + 6000) / (1 + 0.005) = 65671.641..., rounded down.
    assert ordex.liquidation_price(CFG, -lots("1"), cost, margin) == px("65671.6")
    # A fully backed long cannot be liquidated; neither can no position.
    assert ordex.liquidation_price(CFG, lots("1"), cost, cost) is None
    assert ordex.liquidation_price(CFG, 0, 0, margin) is None


def test_cross_liquidation_uses_free_collateral() -> None:
    direct = ordex.liquidation_price(CFG, lots("1"), usdc("60000"), usdc("5000"))
    cross = ordex.liquidation_price_cross(
        CFG, lots("1"), usdc("60000"), usdc("6000"), usdc("-500"), usdc("500")
    )
    assert direct == cross is not None


def test_worst_case_order_margin() -> None:
    # A reducing sell adds nothing; a buy adds its own IM.
    assert ordex.open_orders_margin(CFG, lots("1"), 0, lots("1"), px("65000"), 10) == 0
    assert ordex.open_orders_margin(CFG, lots("1"), lots("1"), 0, px("65000"), 10) == usdc("6500")
    # Worst case of long 1 with buys 2 and sells 4 is 3 short: IM(3) - IM(1) = 13000.
    assert ordex.open_orders_margin(CFG, lots("1"), lots("2"), lots("4"), px("65000"), 10) == usdc(
        "13000"
    )


def flat_exposure() -> list[ordex.Exposure]:
    return [ordex.Exposure(CFG, 0, 0, px("65000"), leverage=10)]


def test_risk_check_accepts_exactly_what_is_affordable() -> None:
    # 1 BTC at 10x: 6500 margin + 32.5 taker fee.
    required = usdc("6532.5")
    assert ordex.risk_check(usdc("10000"), flat_exposure(), 0, "BUY", lots("1"), px("65000")) == (
        required,
        usdc("10000"),
    )
    with pytest.raises(ordex.InsufficientMarginError) as info:
        ordex.risk_check(usdc("10000"), flat_exposure(), 0, "BUY", lots("2"), px("65000"))
    assert info.value.args[1:] == (usdc("13065"), usdc("10000"))
    # Exactly enough passes; one atom less fails.
    ordex.risk_check(required, flat_exposure(), 0, "BUY", lots("1"), px("65000"))
    with pytest.raises(ordex.InsufficientMarginError) as short:
        ordex.risk_check(required - 1, flat_exposure(), 0, "BUY", lots("1"), px("65000"))
    assert short.value.args[1:] == (required, required - 1)


def test_risk_check_on_a_reducing_order_needs_only_the_fee() -> None:
    long = [ordex.Exposure(CFG, lots("1"), usdc("65000"), px("65000"), leverage=10)]
    required, available = ordex.risk_check(usdc("10000"), long, 0, "SELL", lots("1"), px("65000"))
    assert (required, available) == (usdc("32.5"), usdc("3500"))
    equity, im, mm, free = ordex.account_margin(usdc("10000"), long)
    assert (equity, im, mm, free) == (usdc("10000"), usdc("6500"), usdc("325"), usdc("3500"))


def test_exposure_fields() -> None:
    exposure = ordex.Exposure(CFG, 5, 500, 7, open_buy=1, open_sell=2, leverage=3)
    assert (exposure.size, exposure.cost, exposure.mark) == (5, 500, 7)
    assert (exposure.open_buy, exposure.open_sell, exposure.leverage) == (1, 2, 3)
    assert exposure.config == CFG


def test_spot_holds() -> None:
    spot = ordex.MarketConfig(
        "BTC-USDC", "SPOT", "BTC", "USDC", tick_size="0.01", lot_size="0.0001"
    )
    price, qty = spot.price_to_ticks("65000"), spot.qty_to_lots("0.5")
    # 32500 notional + 16.25 taker fee.
    assert ordex.spot_hold(spot, "BUY", price, qty) == spot.quote_to_atoms("32516.25")
    assert ordex.spot_hold(spot, "SELL", price, qty) == qty
