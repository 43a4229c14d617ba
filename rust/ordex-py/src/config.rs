//! `MarketConfig`: the integer grid and rates of one market, with exact decimal conversions.

use crate::errors::{parse_choice, BindingError};
use ordex_engine::decimal::{DecimalError, Unit};
use ordex_engine::{MarketConfig, MarketKind, Rate};
use pyo3::prelude::*;

#[pyclass(name = "MarketConfig", module = "ordex._engine", frozen, eq, from_py_object)]
#[derive(Clone, PartialEq)]
pub struct PyMarketConfig {
    pub inner: MarketConfig,
}

fn unit(what: &'static str, s: &str) -> Result<Unit, BindingError> {
    Unit::parse(s).map_err(|error| BindingError::Decimal { what, input: s.to_owned(), error })
}

fn rate(what: &'static str, s: &str) -> Result<Rate, BindingError> {
    Rate::parse(s).map_err(|error| BindingError::Decimal { what, input: s.to_owned(), error })
}

pub fn decimal_err(what: &'static str, input: &str, error: DecimalError) -> BindingError {
    BindingError::Decimal { what, input: input.to_owned(), error }
}

#[pymethods]
impl PyMarketConfig {
    /// All amounts are decimal strings, parsed exactly. `min_qty` is in base units.
    #[new]
    #[pyo3(signature = (
        symbol, kind, base_asset, quote_asset, *, tick_size, lot_size, quote_decimals = 6,
        min_qty = None, price_band = "0.05", maker_fee = "0.0002", taker_fee = "0.0005",
        initial_margin = None, maintenance_margin = None, max_leverage = None,
        funding_rate_cap = None, funding_interval_hours = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        symbol: &str,
        kind: &str,
        base_asset: &str,
        quote_asset: &str,
        tick_size: &str,
        lot_size: &str,
        quote_decimals: u32,
        min_qty: Option<&str>,
        price_band: &str,
        maker_fee: &str,
        taker_fee: &str,
        initial_margin: Option<&str>,
        maintenance_margin: Option<&str>,
        max_leverage: Option<u32>,
        funding_rate_cap: Option<&str>,
        funding_interval_hours: Option<u32>,
    ) -> PyResult<Self> {
        let kind = parse_choice("kind", kind, MarketKind::parse, MarketKind::ALL, MarketKind::as_str)?;
        let mut c = MarketConfig::builder(symbol, kind, base_asset, quote_asset);
        c.tick_size = unit("tick_size", tick_size)?;
        c.lot_size = unit("lot_size", lot_size)?;
        c.quote_decimals = quote_decimals;
        c.price_band = rate("price_band", price_band)?;
        c.maker_fee = rate("maker_fee", maker_fee)?;
        c.taker_fee = rate("taker_fee", taker_fee)?;
        if let Some(s) = initial_margin {
            c.initial_margin = rate("initial_margin", s)?;
        }
        if let Some(s) = maintenance_margin {
            c.maintenance_margin = rate("maintenance_margin", s)?;
        }
        if let Some(l) = max_leverage {
            c.max_leverage = l;
        }
        if let Some(s) = funding_rate_cap {
            c.funding_rate_cap = rate("funding_rate_cap", s)?;
        }
        if let Some(h) = funding_interval_hours {
            c.funding_interval_hours = h;
        }
        c.min_qty = match min_qty {
            Some(s) => c.qty_lots(s).map_err(|e| decimal_err("min_qty", s, e))?,
            None => 1,
        };
        c.validate().map_err(BindingError::from)?;
        Ok(PyMarketConfig { inner: c })
    }

    #[getter]
    fn symbol(&self) -> &str {
        &self.inner.symbol
    }
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }
    #[getter]
    fn base_asset(&self) -> &str {
        &self.inner.base_asset
    }
    #[getter]
    fn quote_asset(&self) -> &str {
        &self.inner.quote_asset
    }
    #[getter]
    fn tick_size(&self) -> String {
        self.inner.tick_size.to_decimal_string()
    }
    #[getter]
    fn lot_size(&self) -> String {
        self.inner.lot_size.to_decimal_string()
    }
    #[getter]
    fn quote_decimals(&self) -> u32 {
        self.inner.quote_decimals
    }
    /// Minimum order quantity in lots.
    #[getter]
    fn min_qty(&self) -> i64 {
        self.inner.min_qty
    }
    #[getter]
    fn price_band(&self) -> String {
        self.inner.price_band.to_decimal_string()
    }
    #[getter]
    fn maker_fee(&self) -> String {
        self.inner.maker_fee.to_decimal_string()
    }
    #[getter]
    fn taker_fee(&self) -> String {
        self.inner.taker_fee.to_decimal_string()
    }
    #[getter]
    fn initial_margin(&self) -> String {
        self.inner.initial_margin.to_decimal_string()
    }
    #[getter]
    fn maintenance_margin(&self) -> String {
        self.inner.maintenance_margin.to_decimal_string()
    }
    #[getter]
    fn max_leverage(&self) -> u32 {
        self.inner.max_leverage
    }
    #[getter]
    fn funding_rate_cap(&self) -> String {
        self.inner.funding_rate_cap.to_decimal_string()
    }
    #[getter]
    fn funding_interval_hours(&self) -> u32 {
        self.inner.funding_interval_hours
    }
    /// Quote atoms in one tick times one lot: `notional = ticks * lots * atoms_per_tick_lot`.
    #[getter]
    fn atoms_per_tick_lot(&self) -> i128 {
        self.inner.atoms_per_tick_lot()
    }

    /// Decimal price string -> ticks; raises `NotAlignedError` off the tick grid.
    fn price_to_ticks(&self, price: &str) -> PyResult<i64> {
        Ok(self.inner.price_ticks(price).map_err(|e| decimal_err("price", price, e))?)
    }
    /// Decimal quantity string -> lots; raises `NotAlignedError` off the lot grid.
    fn qty_to_lots(&self, qty: &str) -> PyResult<i64> {
        Ok(self.inner.qty_lots(qty).map_err(|e| decimal_err("quantity", qty, e))?)
    }
    /// Decimal quote amount -> quote atoms (may be negative).
    fn quote_to_atoms(&self, amount: &str) -> PyResult<i128> {
        Ok(self.inner.quote_atoms(amount).map_err(|e| decimal_err("amount", amount, e))?)
    }
    fn format_price(&self, ticks: i64) -> String {
        self.inner.format_price(ticks)
    }
    fn format_qty(&self, lots: i64) -> String {
        self.inner.format_qty(lots)
    }
    fn format_quote(&self, atoms: i128) -> String {
        self.inner.format_quote(atoms)
    }

    /// The configuration as JSON (the engine's own serde form).
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).unwrap_or_default()
    }

    #[staticmethod]
    fn from_json(data: &str) -> PyResult<Self> {
        let inner: MarketConfig =
            serde_json::from_str(data).map_err(|e| BindingError::Config(ordex_engine::ConfigError(e.to_string())))?;
        inner.validate().map_err(BindingError::from)?;
        Ok(PyMarketConfig { inner })
    }

    fn __repr__(&self) -> String {
        format!(
            "MarketConfig(symbol={:?}, kind={:?}, tick_size={:?}, lot_size={:?})",
            self.inner.symbol,
            self.inner.kind.as_str(),
            self.tick_size(),
            self.lot_size()
        )
    }
}
