//! ordex matching core.
//!
//! One [`Engine`] per market: a price-time order book over integer ticks and lots, with limit,
//! market and conditional orders, GTC/IOC/FOK/GTD, post-only, reduce-only, self-trade prevention,
//! amend, deterministic snapshots, the perpetual-only liquidation, auto-deleveraging and funding
//! commands, and the margin arithmetic of [`margin`]. The JSON wire format of
//! the engine command and event streams is in [`codec`].
//!
//! ```
//! use ordex_engine::{Engine, MarketConfig, MarketKind, NewOrder, Command, Side, Event};
//! let cfg = MarketConfig::builder("BTC-PERP", MarketKind::Perp, "BTC", "USDC");
//! let mut engine = Engine::new(cfg).unwrap();
//! let mut events = Vec::new();
//! engine.process(&Command::Place(NewOrder::limit(1, 7, Side::Sell, 6_500_000, 10)), &mut events);
//! engine.process(&Command::Place(NewOrder::limit(2, 8, Side::Buy, 6_500_000, 4)), &mut events);
//! assert!(events.iter().any(|e| matches!(e, Event::Trade { qty: 4, .. })));
//! ```

mod book;
pub mod codec;
pub mod config;
pub mod decimal;
mod engine;
mod invariants;
mod lifecycle;
pub mod margin;
mod perp;
mod queries;
mod snapshot;
mod stops;
pub mod types;

pub use config::{ConfigError, MarketConfig, Rate, RATE_SCALE};
pub use engine::Engine;
pub use snapshot::SnapshotError;
pub use types::*;
