//! `Engine`: a thin layer over `ordex_engine::Engine`. Three ways in: one call per command, a
//! batch of command objects processed with the GIL released, and the JSON path of the stream
//! workers (decoding and encoding in Rust, GIL released).

use crate::commands::{extract_command, new_order};
use crate::config::PyMarketConfig;
use crate::errors::BindingError;
use crate::events::{side_of, PyEvents, PyOrderInfo};
use ordex_engine::{Command, Engine, Event};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};

type Level = (i64, i128, u32);

#[pyclass(name = "Engine", module = "ordex._engine")]
pub struct PyEngine {
    inner: Engine,
}

impl PyEngine {
    fn run(&mut self, cmd: Command) -> PyEvents {
        let mut events = Vec::with_capacity(4);
        self.inner.process(&cmd, &mut events);
        PyEvents { events }
    }
}

#[pymethods]
impl PyEngine {
    #[new]
    fn new(config: &PyMarketConfig) -> PyResult<Self> {
        Ok(PyEngine { inner: Engine::new(config.inner.clone()).map_err(BindingError::from)? })
    }

    #[getter]
    fn config(&self) -> PyMarketConfig {
        PyMarketConfig { inner: self.inner.config().clone() }
    }

    /// Places one order (prices in ticks, quantities in lots) and returns its events.
    #[pyo3(signature = (
        order_id, account, side, price, qty, *, order_type = "LIMIT", time_in_force = None,
        trigger_price = None, trigger_by = "LAST_PRICE", expire_at = None, post_only = false,
        reduce_only = false, stp = "NONE", client_order_id = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        order_id: u64,
        account: u64,
        side: &str,
        price: Option<i64>,
        qty: i64,
        order_type: &str,
        time_in_force: Option<&str>,
        trigger_price: Option<i64>,
        trigger_by: &str,
        expire_at: Option<u64>,
        post_only: bool,
        reduce_only: bool,
        stp: &str,
        client_order_id: Option<&str>,
    ) -> PyResult<PyEvents> {
        let order = new_order(
            order_id,
            account,
            side,
            price,
            qty,
            order_type,
            time_in_force,
            trigger_price,
            trigger_by,
            expire_at,
            post_only,
            reduce_only,
            stp,
            client_order_id,
        )?;
        Ok(self.run(Command::Place(order)))
    }

    fn cancel(&mut self, order_id: u64, account: u64) -> PyEvents {
        self.run(Command::Cancel { order_id, account })
    }

    fn cancel_all(&mut self, account: u64) -> PyEvents {
        self.run(Command::CancelAll { account })
    }

    #[pyo3(signature = (order_id, account, *, price = None, qty = None))]
    fn amend(&mut self, order_id: u64, account: u64, price: Option<i64>, qty: Option<i64>) -> PyEvents {
        self.run(Command::Amend { order_id, account, price, qty })
    }

    fn advance_time(&mut self, now: u64) -> PyEvents {
        self.run(Command::AdvanceTime { now })
    }

    fn set_mark_price(&mut self, price: i64) -> PyEvents {
        self.run(Command::SetMarkPrice { price })
    }

    /// Liquidates (part of) a position: cancels the account's orders, then an IOC reduce-only
    /// limit order `order_id` at `price` ticks for at most `qty` lots on `side` (SELL closes a long).
    fn liquidate(&mut self, order_id: u64, account: u64, side: &str, qty: i64, price: i64) -> PyResult<PyEvents> {
        let side = side_of(side)?;
        Ok(self.run(Command::Liquidate { order_id, account, side, qty, price }))
    }

    /// Auto-deleveraging: `account` closes up to `qty` lots on `side` against `counterparty`'s
    /// opposite position at `price` ticks, off the book.
    fn deleverage(&mut self, account: u64, counterparty: u64, side: &str, qty: i64, price: i64) -> PyResult<PyEvents> {
        let side = side_of(side)?;
        Ok(self.run(Command::Deleverage { account, counterparty, side, qty, price }))
    }

    /// Settles the funding interval ending at `interval` (unix ms) at `rate` (10^-8 units, signed)
    /// and `mark` ticks; an interval not after the last settled one does nothing.
    fn funding(&mut self, interval: u64, rate: i64, mark: i64) -> PyEvents {
        self.run(Command::Funding { interval, rate: ordex_engine::Rate(rate), mark })
    }

    /// End of the last settled funding interval (unix ms), or None.
    #[getter]
    fn last_funding_interval(&self) -> Option<u64> {
        self.inner.last_funding_interval()
    }

    /// Applies one command object.
    fn submit(&mut self, command: &Bound<'_, PyAny>) -> PyResult<PyEvents> {
        Ok(self.run(extract_command(command)?))
    }

    /// Applies many command objects: extracted first, then matched with the GIL released.
    fn process(&mut self, py: Python<'_>, commands: &Bound<'_, PyAny>) -> PyResult<PyEvents> {
        let mut cmds: Vec<Command> = Vec::with_capacity(commands.len().unwrap_or(0));
        for item in commands.try_iter()? {
            cmds.push(extract_command(&item?)?);
        }
        let engine = &mut self.inner;
        let events = py.detach(move || {
            let mut events: Vec<Event> = Vec::with_capacity(cmds.len() * 2);
            engine.process_batch(&cmds, &mut events);
            events
        });
        Ok(PyEvents { events })
    }

    /// JSON command payloads in, JSON event payloads out (the `engine.commands`/`engine.events`
    /// stream schema). Malformed payloads become `rejected` events; this never raises for them.
    /// The payloads are borrowed, not copied: `PyBackedBytes` keeps each `bytes` object alive
    /// and can cross into the GIL-free section.
    fn process_json<'py>(&mut self, py: Python<'py>, payloads: Vec<PyBackedBytes>) -> PyResult<Bound<'py, PyList>> {
        let engine = &mut self.inner;
        let encoded = py.detach(move || {
            let views: Vec<&[u8]> = payloads.iter().map(|p| &**p).collect();
            engine.process_json(&views)
        });
        PyList::new(py, encoded.iter().map(|b| PyBytes::new(py, b)))
    }

    fn best_bid(&self) -> Option<Level> {
        self.inner.best_bid().map(|l| (l.price, l.qty, l.orders))
    }

    fn best_ask(&self) -> Option<Level> {
        self.inner.best_ask().map(|l| (l.price, l.qty, l.orders))
    }

    /// `(bids, asks)`, each a list of `(price, qty, orders)` best first.
    #[pyo3(signature = (levels = 10))]
    fn depth(&self, levels: usize) -> (Vec<Level>, Vec<Level>) {
        let (b, a) = self.inner.depth(levels);
        let conv = |v: Vec<ordex_engine::LevelView>| v.into_iter().map(|l| (l.price, l.qty, l.orders)).collect();
        (conv(b), conv(a))
    }

    /// Orders at one price level, front of the queue first.
    fn level_orders(&self, side: &str, price: i64) -> PyResult<Vec<PyOrderInfo>> {
        Ok(self.inner.level_orders(side_of(side)?, price).into_iter().map(PyOrderInfo::from).collect())
    }

    /// A live order, or `None` once it is final.
    fn order(&self, order_id: u64) -> Option<PyOrderInfo> {
        self.inner.order(order_id).map(PyOrderInfo::from)
    }

    /// Net position in lots (perpetual markets).
    fn position(&self, account: u64) -> i128 {
        self.inner.position(account)
    }

    #[getter]
    fn resting_orders(&self) -> usize {
        self.inner.resting_orders()
    }
    #[getter]
    fn untriggered_orders(&self) -> usize {
        self.inner.untriggered_orders()
    }
    #[getter]
    fn last_seq(&self) -> u64 {
        self.inner.last_seq()
    }
    #[getter]
    fn last_price(&self) -> Option<i64> {
        self.inner.last_price()
    }
    #[getter]
    fn mark_price(&self) -> Option<i64> {
        self.inner.mark_price()
    }
    #[getter]
    fn now(&self) -> u64 {
        self.inner.now()
    }

    /// The whole state as bytes; `Engine.restore` gives an equal engine back.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.snapshot())
    }

    #[staticmethod]
    fn restore(data: &[u8]) -> PyResult<Self> {
        Ok(PyEngine { inner: Engine::restore(data).map_err(BindingError::from)? })
    }

    /// BLAKE3 of the snapshot, hex: equal for equal states.
    fn state_hash(&self) -> String {
        self.inner.state_hash_hex()
    }

    /// Raises `AssertionError` describing the first broken book invariant, if any.
    fn check_invariants(&self) -> PyResult<()> {
        self.inner.check_invariants().map_err(pyo3::exceptions::PyAssertionError::new_err)
    }

    fn __repr__(&self) -> String {
        format!(
            "Engine(symbol={:?}, resting_orders={}, last_seq={})",
            self.inner.config().symbol,
            self.inner.resting_orders(),
            self.inner.last_seq()
        )
    }
}

/// For each payload of a stream entry, `(cmd_id, None)` for a command (`cmd_id` an int or
/// `None`), or `(None, reason)` for one that must go to the dead letters. With the GIL released.
#[pyfunction]
pub fn peek_commands(py: Python<'_>, payloads: Vec<PyBackedBytes>) -> Vec<(Option<i128>, Option<String>)> {
    py.detach(move || {
        payloads
            .iter()
            .map(|p| match ordex_engine::codec::peek_command(p) {
                Ok(cmd_id) => (cmd_id, None),
                Err(reason) => (None, Some(reason.to_string())),
            })
            .collect()
    })
}
