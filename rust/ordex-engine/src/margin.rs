//! Margin arithmetic: pure functions over integers.
//!
//! Units: prices in ticks, sizes in lots (signed: long > 0, short < 0), money in quote atoms
//! (10^-quote_decimals), rates in 10^-8. `notional = price_ticks * lots * atoms_per_tick_lot`.
//!
//! A position is `(size, cost)`: `cost` is the entry notional still open, in quote atoms. The
//! average entry price is `cost / (|size| * atoms_per_tick_lot)` ticks. Keeping the cost instead
//! of a rounded entry price makes realized PnL exact over a position's life: when every account
//! is flat again, the realized PnL of all accounts sums to exactly zero.
//!
//! Conventions follow Binance USD-M futures and dYdX v4:
//! - maintenance margin `MM = |notional(mark)| * mmr` (Binance "maintenance margin", dYdX "MMF");
//! - initial margin rate `max(imr, 1/leverage)` (Binance leverage brackets, dYdX IMF floor);
//! - open orders margin on the worst-case position `max(|size + buys|, |size - sells|)` valued at
//!   the mark price (dYdX v4 "worst-case" order margin);
//! - funding `payment = size * mark * rate`, longs pay a positive rate (Binance, dYdX);
//! - isolated liquidation price solves `margin + upnl(P) = MM(P)` (Binance isolated formula with
//!   one position and no brackets); cross uses the account's free collateral as the margin.
//!
//! Rounding, always in the exchange's favour: fees and margin requirements round up, rebates and
//! funding received round toward zero, funding paid rounds away from zero. Liquidation prices
//! round toward the mark (long: up to the next tick; short: down).

use crate::config::{MarketConfig, Rate, RATE_SCALE};
use crate::types::{MarketKind, Price, Qty, Side};
use serde::{Deserialize, Serialize};

/// Why a margin computation refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarginError {
    /// The account cannot afford the order: `required` exceeds `available` (both quote atoms).
    InsufficientMargin { required: i128, available: i128 },
    /// Leverage outside `1..=max_leverage`.
    InvalidLeverage,
    /// Numbers too large to compute exactly.
    Overflow,
    /// A margin function was asked about a spot market (or the reverse).
    WrongMarketKind,
}

impl std::fmt::Display for MarginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MarginError::InsufficientMargin { required, available } => {
                write!(f, "insufficient margin: requires {required}, available {available}")
            }
            MarginError::InvalidLeverage => f.write_str("leverage outside 1..=max_leverage"),
            MarginError::Overflow => f.write_str("amount too large"),
            MarginError::WrongMarketKind => f.write_str("wrong market kind for this computation"),
        }
    }
}

impl std::error::Error for MarginError {}

const RATE_SCALE_U64: u64 = RATE_SCALE as u64;

/// `ceil(a / b)` for b > 0.
fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a.div_euclid(b);
    if a.rem_euclid(b) == 0 {
        q
    } else {
        q + 1
    }
}

/// `floor(a / b)` for b > 0.
fn div_floor(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

/// `amount * rate / 10^8` without overflowing for any in-range amount, rounded up.
pub fn mul_rate_ceil(amount: i128, rate: Rate) -> i128 {
    if let (Ok(a), Ok(r)) = (u64::try_from(amount), u64::try_from(rate.0)) {
        // Common case (every trade fee): 64-bit division is far cheaper than 128-bit.
        let (q, rem) = (a / RATE_SCALE_U64, a % RATE_SCALE_U64);
        return i128::from(q) * i128::from(r) + i128::from((rem * r).div_ceil(RATE_SCALE_U64));
    }
    let r = i128::from(rate.0);
    let q = amount.div_euclid(RATE_SCALE);
    let rem = amount.rem_euclid(RATE_SCALE);
    q * r + div_ceil(rem * r, RATE_SCALE)
}

/// Same as [`mul_rate_ceil`], rounded down.
pub fn mul_rate_floor(amount: i128, rate: Rate) -> i128 {
    if let (Ok(a), Ok(r)) = (u64::try_from(amount), u64::try_from(rate.0)) {
        let (q, rem) = (a / RATE_SCALE_U64, a % RATE_SCALE_U64);
        return i128::from(q) * i128::from(r) + i128::from(rem * r / RATE_SCALE_U64);
    }
    let r = i128::from(rate.0);
    let q = amount.div_euclid(RATE_SCALE);
    let rem = amount.rem_euclid(RATE_SCALE);
    q * r + div_floor(rem * r, RATE_SCALE)
}

/// Notional of `lots` at `price` ticks, in quote atoms (sign of `lots`).
pub fn notional(cfg: &MarketConfig, price: Price, lots: Qty) -> i128 {
    i128::from(price) * i128::from(lots) * cfg.atoms_per_tick_lot()
}

/// Fee in quote atoms for a trade of `notional` atoms at `rate`. A positive fee (charged) rounds
/// up; a negative one (rebate paid out) rounds toward zero.
pub fn fee(notional: i128, rate: Rate) -> i128 {
    let n = notional.abs();
    if rate.0 >= 0 {
        mul_rate_ceil(n, rate)
    } else {
        -mul_rate_floor(n, Rate(-rate.0))
    }
}

/// Initial margin rate for a chosen leverage: `max(market imr, 1 / leverage)`, rounded up.
pub fn initial_margin_rate(cfg: &MarketConfig, leverage: u32) -> Result<Rate, MarginError> {
    if cfg.kind != MarketKind::Perp {
        return Err(MarginError::WrongMarketKind);
    }
    if leverage == 0 || leverage > cfg.max_leverage {
        return Err(MarginError::InvalidLeverage);
    }
    let by_leverage = div_ceil(RATE_SCALE, i128::from(leverage)) as i64;
    Ok(Rate(cfg.initial_margin.0.max(by_leverage)))
}

/// Initial margin of a position (or worst-case exposure) of `size` lots at `mark`.
pub fn initial_margin(cfg: &MarketConfig, size: Qty, mark: Price, leverage: u32) -> Result<i128, MarginError> {
    let rate = initial_margin_rate(cfg, leverage)?;
    Ok(mul_rate_ceil(notional(cfg, mark, size).abs(), rate))
}

/// Maintenance margin of a position of `size` lots at `mark`.
pub fn maintenance_margin(cfg: &MarketConfig, size: Qty, mark: Price) -> i128 {
    mul_rate_ceil(notional(cfg, mark, size).abs(), cfg.maintenance_margin)
}

/// Worst-case position if every open order on one side filled: `max(|size+buys|, |size-sells|)`.
pub fn worst_case_size(size: Qty, open_buy: Qty, open_sell: Qty) -> Qty {
    (size + open_buy).abs().max((size - open_sell).abs())
}

/// Initial margin the open orders add on top of the position's own:
/// `IM(worst case) - IM(position)`, never negative (orders that only reduce cost nothing).
pub fn open_orders_margin(
    cfg: &MarketConfig,
    size: Qty,
    open_buy: Qty,
    open_sell: Qty,
    mark: Price,
    leverage: u32,
) -> Result<i128, MarginError> {
    let worst = initial_margin(cfg, worst_case_size(size, open_buy, open_sell), mark, leverage)?;
    let own = initial_margin(cfg, size, mark, leverage)?;
    Ok((worst - own).max(0))
}

/// Unrealized PnL at `mark` of a position `(size, cost)`.
pub fn unrealized_pnl(cfg: &MarketConfig, size: Qty, cost: i128, mark: Price) -> i128 {
    let value = notional(cfg, mark, size.abs());
    if size >= 0 {
        value - cost
    } else {
        cost - value
    }
}

/// A perpetual position: signed size in lots and open entry cost in quote atoms (always >= 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub size: Qty,
    pub cost: i128,
}

/// The result of applying one fill to a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillOutcome {
    pub position: Position,
    /// PnL realized by the part of the fill that closed exposure (quote atoms).
    pub realized_pnl: i128,
    /// Lots of the fill that closed exposure (the rest opened or extended).
    pub closed: Qty,
}

/// Applies a fill of `qty` lots at `price` on `side` to `pos`.
///
/// Increasing: `cost += notional`. Reducing by `c` lots out of `|size|`: the closed part carries
/// `cost * c / |size|` (floor) of the cost, realized PnL is the exit notional minus that (long) or
/// that minus the exit notional (short). Flipping closes the old position and opens the rest at
/// the fill price.
pub fn apply_fill(cfg: &MarketConfig, pos: Position, side: Side, price: Price, qty: Qty) -> FillOutcome {
    let signed = side.sign() * qty;
    if pos.size == 0 || pos.size.signum() == signed.signum() {
        return FillOutcome {
            position: Position { size: pos.size + signed, cost: pos.cost + notional(cfg, price, qty) },
            realized_pnl: 0,
            closed: 0,
        };
    }
    let open = pos.size.abs();
    let closed = qty.min(open);
    let cost_closed = pos.cost * i128::from(closed) / i128::from(open);
    let exit = notional(cfg, price, closed);
    let realized = if pos.size > 0 { exit - cost_closed } else { cost_closed - exit };
    let remaining = open - closed;
    let position = if remaining > 0 {
        Position { size: pos.size.signum() * remaining, cost: pos.cost - cost_closed }
    } else if qty > closed {
        let opened = qty - closed;
        Position { size: side.sign() * opened, cost: notional(cfg, price, opened) }
    } else {
        Position::default()
    };
    FillOutcome { position, realized_pnl: realized, closed }
}

/// Funding for one interval, from the account's point of view (negative = the account pays).
/// The rate is capped to `±funding_rate_cap`; a positive rate makes longs pay shorts.
pub fn funding_payment(cfg: &MarketConfig, size: Qty, mark: Price, rate: Rate) -> i128 {
    let cap = cfg.funding_rate_cap.0;
    let capped = Rate(rate.0.clamp(-cap, cap));
    let value = notional(cfg, mark, size.abs());
    let pays = (size > 0 && capped.0 > 0) || (size < 0 && capped.0 < 0);
    let magnitude = Rate(capped.0.abs());
    if pays {
        -mul_rate_ceil(value, magnitude)
    } else {
        mul_rate_floor(value, magnitude)
    }
}

/// Liquidation price in ticks of a position backed by `margin` quote atoms (isolated margin, or
/// for cross the account's collateral less what other positions need). `None` when the position
/// cannot be liquidated by price (a long fully backed, or no position).
///
/// Long: `margin + P*s*k - cost = P*s*k*mmr`  =>  `P = (cost - margin) / (s*k*(1 - mmr))`.
/// Short: `margin + cost - P*s*k = P*s*k*mmr`  =>  `P = (cost + margin) / (s*k*(1 + mmr))`.
pub fn liquidation_price(cfg: &MarketConfig, size: Qty, cost: i128, margin: i128) -> Option<Price> {
    if size == 0 {
        return None;
    }
    let s = i128::from(size.abs());
    let k = cfg.atoms_per_tick_lot();
    let mmr = i128::from(cfg.maintenance_margin.0);
    if size > 0 {
        let numerator = (cost - margin) * RATE_SCALE;
        if numerator <= 0 {
            return None;
        }
        let denominator = s * k * (RATE_SCALE - mmr);
        i64::try_from(div_ceil(numerator, denominator)).ok()
    } else {
        let numerator = (cost + margin) * RATE_SCALE;
        if numerator <= 0 {
            return Some(0);
        }
        let denominator = s * k * (RATE_SCALE + mmr);
        i64::try_from(div_floor(numerator, denominator)).ok()
    }
}

/// Cross-margin liquidation price: the margin backing this position is the account collateral
/// plus the other positions' unrealized PnL minus their maintenance margin.
pub fn liquidation_price_cross(
    cfg: &MarketConfig,
    size: Qty,
    cost: i128,
    collateral: i128,
    others_unrealized_pnl: i128,
    others_maintenance: i128,
) -> Option<Price> {
    liquidation_price(cfg, size, cost, collateral + others_unrealized_pnl - others_maintenance)
}

/// One market's exposure of an account, input to [`account_margin`] and [`risk_check`].
#[derive(Clone, Debug)]
pub struct Exposure<'a> {
    pub market: &'a MarketConfig,
    pub position: Position,
    pub mark: Price,
    /// Open (resting or untriggered) buy and sell quantity, lots.
    pub open_buy: Qty,
    pub open_sell: Qty,
    pub leverage: u32,
}

/// An account's margin state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountMargin {
    /// Collateral plus unrealized PnL.
    pub equity: i128,
    /// Initial margin of positions and open orders.
    pub initial_margin: i128,
    pub maintenance_margin: i128,
    /// `equity - initial_margin` (may be negative).
    pub available: i128,
}

/// Equity, margins and available margin of an account.
pub fn account_margin(collateral: i128, exposures: &[Exposure<'_>]) -> Result<AccountMargin, MarginError> {
    let mut equity = collateral;
    let mut im = 0i128;
    let mut mm = 0i128;
    for e in exposures {
        let (size, cost) = (e.position.size, e.position.cost);
        equity += unrealized_pnl(e.market, size, cost, e.mark);
        im += initial_margin(e.market, size, e.mark, e.leverage)?;
        im += open_orders_margin(e.market, size, e.open_buy, e.open_sell, e.mark, e.leverage)?;
        mm += maintenance_margin(e.market, size, e.mark);
    }
    Ok(AccountMargin { equity, initial_margin: im, maintenance_margin: mm, available: equity - im })
}

/// A new perpetual order for [`risk_check`].
#[derive(Clone, Copy, Debug)]
pub struct OrderIntent {
    /// Index into the exposures slice of the market the order is for.
    pub market_index: usize,
    pub side: Side,
    pub qty: Qty,
    /// Limit price, or for market orders the protection price: the taker fee is reserved at it.
    pub price: Price,
}

/// The answer of a passing [`risk_check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskOutcome {
    /// Extra initial margin the order needs plus its worst-case taker fee (quote atoms): the hold.
    pub required: i128,
    /// Available margin before the order.
    pub available: i128,
}

/// Pre-trade risk check for a perpetual order. The order needs the initial margin it adds to the
/// account's worst case plus the taker fee on its notional; it passes when that is at most the
/// available margin. A reduce-only order adds no exposure and needs only its fee.
pub fn risk_check(
    collateral: i128,
    exposures: &[Exposure<'_>],
    order: OrderIntent,
) -> Result<RiskOutcome, MarginError> {
    let target = exposures.get(order.market_index).ok_or(MarginError::Overflow)?;
    if target.market.kind != MarketKind::Perp {
        return Err(MarginError::WrongMarketKind);
    }
    let before = account_margin(collateral, exposures)?;
    let (buy, sell) = match order.side {
        Side::Buy => (target.open_buy + order.qty, target.open_sell),
        Side::Sell => (target.open_buy, target.open_sell + order.qty),
    };
    let size = target.position.size;
    let m = target.market;
    let old = open_orders_margin(m, size, target.open_buy, target.open_sell, target.mark, target.leverage)?;
    let new = open_orders_margin(m, size, buy, sell, target.mark, target.leverage)?;
    let taker_fee = fee(notional(m, order.price, order.qty), m.taker_fee);
    let required = (new - old) + taker_fee.max(0);
    if required > before.available {
        return Err(MarginError::InsufficientMargin { required, available: before.available });
    }
    Ok(RiskOutcome { required, available: before.available })
}

/// Spot hold for an order: a buy holds quote atoms `notional + taker fee` (at the limit or
/// protection price); a sell holds its base quantity, returned in lots.
pub fn spot_hold(cfg: &MarketConfig, side: Side, price: Price, qty: Qty) -> i128 {
    match side {
        Side::Buy => {
            let n = notional(cfg, price, qty);
            n + fee(n, cfg.taker_fee).max(0)
        }
        Side::Sell => i128::from(qty),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slow_ceil(a: i128, r: i64) -> i128 {
        let p = a * i128::from(r);
        p.div_euclid(RATE_SCALE) + i128::from(p.rem_euclid(RATE_SCALE) != 0)
    }

    proptest! {
        #[test]
        fn rate_products_agree_with_exact_arithmetic(a in 0i128..(1i128 << 80), r in 0i64..=100_000_000) {
            prop_assert_eq!(mul_rate_ceil(a, Rate(r)), slow_ceil(a, r));
            prop_assert_eq!(mul_rate_floor(a, Rate(r)), (a * i128::from(r)).div_euclid(RATE_SCALE));
        }
    }
}
