//! Margin functions: prices in ticks, sizes in lots (signed), money in quote atoms, rates as
//! decimal strings. Documented conventions live in `ordex_engine::margin`.

use crate::config::PyMarketConfig;
use crate::errors::BindingError;
use crate::events::side_of;
use ordex_engine::margin::{self as m, Exposure, OrderIntent, Position};
use ordex_engine::{Rate, MAX_LOTS, MAX_TICKS};
use pyo3::prelude::*;

fn parse_rate(s: &str) -> Result<Rate, BindingError> {
    Rate::parse(s).map_err(|error| BindingError::Decimal { what: "rate", input: s.to_owned(), error })
}

/// One market's exposure of an account, for `account_margin` and `risk_check`.
#[pyclass(name = "Exposure", module = "ordex._engine", frozen, get_all, from_py_object)]
#[derive(Clone)]
pub struct PyExposure {
    pub config: PyMarketConfig,
    pub size: i64,
    pub cost: i128,
    pub mark: i64,
    pub open_buy: i64,
    pub open_sell: i64,
    pub leverage: u32,
}

#[pymethods]
impl PyExposure {
    #[new]
    #[pyo3(signature = (config, size, cost, mark, *, open_buy = 0, open_sell = 0, leverage = 1))]
    fn new(
        config: PyMarketConfig,
        size: i64,
        cost: i128,
        mark: i64,
        open_buy: i64,
        open_sell: i64,
        leverage: u32,
    ) -> Self {
        PyExposure { config, size, cost, mark, open_buy, open_sell, leverage }
    }
}

/// Prices and sizes past the engine's limits would overflow the 128-bit products.
fn bounded(price: i64, qty: i64) -> Result<(), BindingError> {
    if price.unsigned_abs() > MAX_TICKS as u64 || qty.unsigned_abs() > MAX_LOTS as u64 {
        return Err(BindingError::Margin(m::MarginError::Overflow));
    }
    Ok(())
}

fn to_exposures(items: &[PyExposure]) -> Vec<Exposure<'_>> {
    items
        .iter()
        .map(|e| Exposure {
            market: &e.config.inner,
            position: Position { size: e.size, cost: e.cost },
            mark: e.mark,
            open_buy: e.open_buy,
            open_sell: e.open_sell,
            leverage: e.leverage,
        })
        .collect()
}

#[pyfunction]
fn notional(config: &PyMarketConfig, price: i64, qty: i64) -> PyResult<i128> {
    bounded(price, qty)?;
    Ok(m::notional(&config.inner, price, qty))
}

/// Fee on a notional: charged fees round up, rebates (negative rates) toward zero.
#[pyfunction]
fn fee(notional: i128, rate: &str) -> PyResult<i128> {
    Ok(m::fee(notional, parse_rate(rate)?))
}

#[pyfunction]
fn initial_margin(config: &PyMarketConfig, size: i64, mark: i64, leverage: u32) -> PyResult<i128> {
    bounded(mark, size)?;
    Ok(m::initial_margin(&config.inner, size, mark, leverage).map_err(BindingError::from)?)
}

#[pyfunction]
fn maintenance_margin(config: &PyMarketConfig, size: i64, mark: i64) -> PyResult<i128> {
    bounded(mark, size)?;
    Ok(m::maintenance_margin(&config.inner, size, mark))
}

#[pyfunction]
fn open_orders_margin(
    config: &PyMarketConfig,
    size: i64,
    open_buy: i64,
    open_sell: i64,
    mark: i64,
    leverage: u32,
) -> PyResult<i128> {
    bounded(mark, size)?;
    bounded(mark, open_buy)?;
    bounded(mark, open_sell)?;
    Ok(m::open_orders_margin(&config.inner, size, open_buy, open_sell, mark, leverage).map_err(BindingError::from)?)
}

#[pyfunction]
fn unrealized_pnl(config: &PyMarketConfig, size: i64, cost: i128, mark: i64) -> PyResult<i128> {
    bounded(mark, size)?;
    Ok(m::unrealized_pnl(&config.inner, size, cost, mark))
}

/// Applies a fill to a position `(size, cost)`: returns `(size, cost, realized_pnl, closed_lots)`.
#[pyfunction]
fn apply_fill(
    config: &PyMarketConfig,
    size: i64,
    cost: i128,
    side: &str,
    price: i64,
    qty: i64,
) -> PyResult<(i64, i128, i128, i64)> {
    bounded(price, size)?;
    bounded(price, qty)?;
    let out = m::apply_fill(&config.inner, Position { size, cost }, side_of(side)?, price, qty);
    Ok((out.position.size, out.position.cost, out.realized_pnl, out.closed))
}

/// Funding for one interval from the account's view (negative: the account pays).
#[pyfunction]
fn funding_payment(config: &PyMarketConfig, size: i64, mark: i64, rate: &str) -> PyResult<i128> {
    bounded(mark, size)?;
    Ok(m::funding_payment(&config.inner, size, mark, parse_rate(rate)?))
}

#[pyfunction]
fn liquidation_price(config: &PyMarketConfig, size: i64, cost: i128, margin: i128) -> Option<i64> {
    m::liquidation_price(&config.inner, size, cost, margin)
}

#[pyfunction]
fn liquidation_price_cross(
    config: &PyMarketConfig,
    size: i64,
    cost: i128,
    collateral: i128,
    others_unrealized_pnl: i128,
    others_maintenance: i128,
) -> Option<i64> {
    m::liquidation_price_cross(&config.inner, size, cost, collateral, others_unrealized_pnl, others_maintenance)
}

/// `(equity, initial_margin, maintenance_margin, available)` in quote atoms.
#[pyfunction]
fn account_margin(collateral: i128, exposures: Vec<PyExposure>) -> PyResult<(i128, i128, i128, i128)> {
    let am = m::account_margin(collateral, &to_exposures(&exposures)).map_err(BindingError::from)?;
    Ok((am.equity, am.initial_margin, am.maintenance_margin, am.available))
}

/// Pre-trade check of a perpetual order on `exposures[market_index]`. Returns
/// `(required, available)`; raises `InsufficientMarginError` when the account cannot afford it.
#[pyfunction]
fn risk_check(
    collateral: i128,
    exposures: Vec<PyExposure>,
    market_index: usize,
    side: &str,
    qty: i64,
    price: i64,
) -> PyResult<(i128, i128)> {
    if market_index >= exposures.len() {
        return Err(pyo3::exceptions::PyIndexError::new_err("market_index is not an index of exposures"));
    }
    bounded(price, qty)?;
    let intent = OrderIntent { market_index, side: side_of(side)?, qty, price };
    let out = m::risk_check(collateral, &to_exposures(&exposures), intent).map_err(BindingError::from)?;
    Ok((out.required, out.available))
}

/// Spot hold: quote atoms for a buy (notional + taker fee), lots for a sell.
#[pyfunction]
fn spot_hold(config: &PyMarketConfig, side: &str, price: i64, qty: i64) -> PyResult<i128> {
    bounded(price, qty)?;
    Ok(m::spot_hold(&config.inner, side_of(side)?, price, qty))
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<PyExposure>()?;
    module.add_function(wrap_pyfunction!(notional, module)?)?;
    module.add_function(wrap_pyfunction!(fee, module)?)?;
    module.add_function(wrap_pyfunction!(initial_margin, module)?)?;
    module.add_function(wrap_pyfunction!(maintenance_margin, module)?)?;
    module.add_function(wrap_pyfunction!(open_orders_margin, module)?)?;
    module.add_function(wrap_pyfunction!(unrealized_pnl, module)?)?;
    module.add_function(wrap_pyfunction!(apply_fill, module)?)?;
    module.add_function(wrap_pyfunction!(funding_payment, module)?)?;
    module.add_function(wrap_pyfunction!(liquidation_price, module)?)?;
    module.add_function(wrap_pyfunction!(liquidation_price_cross, module)?)?;
    module.add_function(wrap_pyfunction!(account_margin, module)?)?;
    module.add_function(wrap_pyfunction!(risk_check, module)?)?;
    module.add_function(wrap_pyfunction!(spot_hold, module)?)?;
    Ok(())
}
