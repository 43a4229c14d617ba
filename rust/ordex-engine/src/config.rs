//! Market configuration: the integer grid (tick, lot, quote atom) and the rates of one market.

use crate::decimal::{DecimalError, Unit};
use crate::types::{MarketKind, Price, Qty, MAX_LOTS, MAX_TICKS};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Rates (fees, margins, funding, price band) are integers in units of 10^-8.
pub const RATE_DECIMALS: u32 = 8;
pub const RATE_SCALE: i128 = 100_000_000;

/// A rate in units of 10^-8: 0.0005 is `Rate(50_000)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rate(pub i64);

impl Rate {
    pub const ZERO: Rate = Rate(0);
    pub const ONE: Rate = Rate(RATE_SCALE as i64);

    /// Parses `"0.0005"` exactly; more than 8 decimals is `NotAligned`.
    pub fn parse(s: &str) -> Result<Rate, DecimalError> {
        let units = Unit::atom(RATE_DECIMALS).units_of(s)?;
        i64::try_from(units).map(Rate).map_err(|_| DecimalError::Overflow)
    }

    pub fn to_decimal_string(self) -> String {
        Unit::atom(RATE_DECIMALS).format(i128::from(self.0))
    }
}

/// Why a market configuration was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// One market. Build it with [`MarketConfig::builder`] or deserialize it; then [`validate`] it
/// (the engine does so on construction).
///
/// [`validate`]: MarketConfig::validate
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketConfig {
    pub symbol: String,
    pub kind: MarketKind,
    pub base_asset: String,
    pub quote_asset: String,
    pub tick_size: Unit,
    pub lot_size: Unit,
    /// Decimals of the quote asset's smallest amount (USDC: 6). Fees and margins are in these atoms.
    pub quote_decimals: u32,
    /// Smallest order quantity, in lots.
    pub min_qty: Qty,
    /// Market orders never trade further than this fraction from the best opposite price.
    pub price_band: Rate,
    pub maker_fee: Rate,
    pub taker_fee: Rate,
    pub initial_margin: Rate,
    pub maintenance_margin: Rate,
    pub max_leverage: u32,
    pub funding_rate_cap: Rate,
    pub funding_interval_hours: u32,
}

impl MarketConfig {
    /// A spot or perpetual market with sensible defaults, to be refined with the `with_*` setters.
    pub fn builder(symbol: &str, kind: MarketKind, base: &str, quote: &str) -> MarketConfig {
        MarketConfig {
            symbol: symbol.to_owned(),
            kind,
            base_asset: base.to_owned(),
            quote_asset: quote.to_owned(),
            tick_size: Unit::new(1, 2),
            lot_size: Unit::new(1, 4),
            quote_decimals: 6,
            min_qty: 1,
            price_band: Rate(5_000_000),
            maker_fee: Rate(20_000),
            taker_fee: Rate(50_000),
            initial_margin: if kind == MarketKind::Perp { Rate(5_000_000) } else { Rate::ZERO },
            maintenance_margin: if kind == MarketKind::Perp { Rate(500_000) } else { Rate::ZERO },
            max_leverage: if kind == MarketKind::Perp { 20 } else { 1 },
            funding_rate_cap: if kind == MarketKind::Perp { Rate(375_000) } else { Rate::ZERO },
            funding_interval_hours: if kind == MarketKind::Perp { 8 } else { 0 },
        }
    }

    pub fn with_tick_size(mut self, tick: &str) -> Result<Self, ConfigError> {
        self.tick_size = Unit::parse(tick).map_err(|e| ConfigError(format!("tick_size: {e}")))?;
        Ok(self)
    }

    pub fn with_lot_size(mut self, lot: &str) -> Result<Self, ConfigError> {
        self.lot_size = Unit::parse(lot).map_err(|e| ConfigError(format!("lot_size: {e}")))?;
        Ok(self)
    }

    /// Quote atoms in one tick times one lot: `price_ticks * qty_lots * atoms_per_tick_lot` is
    /// the notional in quote atoms. `validate` guarantees it is a whole number.
    pub fn atoms_per_tick_lot(&self) -> i128 {
        let tick_lot = Unit::new(
            self.tick_size.mantissa.saturating_mul(self.lot_size.mantissa),
            self.tick_size.exponent + self.lot_size.exponent,
        );
        tick_lot.ratio_to(&Unit::atom(self.quote_decimals)).unwrap_or(0)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |m: String| Err(ConfigError(m));
        if self.symbol.is_empty() || self.symbol.len() > 64 {
            return fail("symbol must be 1 to 64 characters".into());
        }
        if self.quote_decimals > 18 {
            return fail("quote_decimals must be at most 18".into());
        }
        if self.tick_size.mantissa.checked_mul(self.lot_size.mantissa).is_none() {
            return fail("tick_size * lot_size is too large".into());
        }
        let atoms = self.atoms_per_tick_lot();
        if atoms < 1 {
            return fail(format!(
                "tick_size * lot_size ({} * {}) must be a whole number of quote atoms (10^-{})",
                self.tick_size, self.lot_size, self.quote_decimals
            ));
        }
        if atoms > 100_000_000 {
            return fail("tick_size * lot_size is too coarse for the quote decimals".into());
        }
        if self.min_qty < 1 || self.min_qty > MAX_LOTS {
            return fail("min_qty must be at least one lot".into());
        }
        let unit_rate = |name: &str, r: Rate| -> Result<(), ConfigError> {
            if r.0 < 0 || r.0 > RATE_SCALE as i64 {
                return Err(ConfigError(format!("{name} must be between 0 and 1")));
            }
            Ok(())
        };
        unit_rate("price_band", self.price_band)?;
        unit_rate("taker_fee", self.taker_fee)?;
        if self.maker_fee.0 < -self.taker_fee.0 || self.maker_fee.0 > RATE_SCALE as i64 {
            return fail("maker_fee must be between -taker_fee and 1".into());
        }
        if self.price_band.0 == 0 {
            return fail("price_band must be positive".into());
        }
        if self.kind == MarketKind::Perp {
            unit_rate("initial_margin", self.initial_margin)?;
            unit_rate("maintenance_margin", self.maintenance_margin)?;
            unit_rate("funding_rate_cap", self.funding_rate_cap)?;
            if self.initial_margin.0 == 0 || self.maintenance_margin.0 == 0 {
                return fail("perpetual markets need positive margin rates".into());
            }
            if self.maintenance_margin > self.initial_margin {
                return fail("maintenance_margin must not exceed initial_margin".into());
            }
            if self.max_leverage == 0 {
                return fail("max_leverage must be at least 1".into());
            }
        }
        Ok(())
    }

    /// Price string -> ticks, exactly.
    pub fn price_ticks(&self, s: &str) -> Result<Price, DecimalError> {
        let t = self.tick_size.units_of(s)?;
        if t <= 0 {
            return Err(DecimalError::Negative);
        }
        if t > i128::from(MAX_TICKS) {
            return Err(DecimalError::Overflow);
        }
        Ok(t as Price)
    }

    /// Quantity string -> lots, exactly.
    pub fn qty_lots(&self, s: &str) -> Result<Qty, DecimalError> {
        let l = self.lot_size.units_of(s)?;
        if l <= 0 {
            return Err(DecimalError::Negative);
        }
        if l > i128::from(MAX_LOTS) {
            return Err(DecimalError::Overflow);
        }
        Ok(l as Qty)
    }

    pub fn format_price(&self, ticks: Price) -> String {
        self.tick_size.format(i128::from(ticks))
    }

    pub fn format_qty(&self, lots: Qty) -> String {
        self.lot_size.format(i128::from(lots))
    }

    /// Quote atoms as a decimal string of the quote asset.
    pub fn format_quote(&self, atoms: i128) -> String {
        Unit::atom(self.quote_decimals).format(atoms)
    }

    /// Quote amount string -> quote atoms, exactly (may be negative).
    pub fn quote_atoms(&self, s: &str) -> Result<i128, DecimalError> {
        Unit::atom(self.quote_decimals).units_of(s)
    }
}
