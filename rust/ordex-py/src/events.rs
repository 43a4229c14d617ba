//! Event objects. `Events` holds a command's events in Rust and builds `Event` objects only when
//! Python looks at them, so a call that nobody inspects costs one allocation.

use ordex_engine::{Event, OrderView, Side};
use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// One engine event. `kind` says which fields apply; the others are `None`.
#[pyclass(name = "Event", module = "ordex._engine", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyEvent {
    pub inner: Event,
}

#[pymethods]
impl PyEvent {
    /// accepted, rejected, triggered, trade, cancelled, expired, amended, book_delta,
    /// liquidation, adl, command_rejected or funding.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    #[getter]
    fn seq(&self) -> u64 {
        self.inner.seq()
    }
    #[getter]
    fn order_id(&self) -> Option<u64> {
        match self.inner {
            Event::Accepted { order_id, .. }
            | Event::Rejected { order_id, .. }
            | Event::Triggered { order_id, .. }
            | Event::Cancelled { order_id, .. }
            | Event::Expired { order_id, .. }
            | Event::Amended { order_id, .. }
            | Event::Liquidation { order_id, .. } => Some(order_id),
            _ => None,
        }
    }
    #[getter]
    fn account(&self) -> Option<u64> {
        match self.inner {
            Event::Accepted { account, .. }
            | Event::Rejected { account, .. }
            | Event::Triggered { account, .. }
            | Event::Cancelled { account, .. }
            | Event::Expired { account, .. }
            | Event::Amended { account, .. }
            | Event::Liquidation { account, .. }
            | Event::Adl { account, .. } => Some(account),
            _ => None,
        }
    }
    /// Order side (accepted, liquidation), taker side (trade), book side (book_delta) or the
    /// deleveraged account's side (adl).
    #[getter]
    fn side(&self) -> Option<&'static str> {
        match self.inner {
            Event::Accepted { side, .. }
            | Event::BookDelta { side, .. }
            | Event::Liquidation { side, .. }
            | Event::Adl { side, .. } => Some(side.as_str()),
            Event::Trade { taker_side, .. } => Some(taker_side.as_str()),
            _ => None,
        }
    }
    #[getter]
    fn order_type(&self) -> Option<&'static str> {
        match self.inner {
            Event::Accepted { order_type, .. } => Some(order_type.as_str()),
            _ => None,
        }
    }
    /// Ticks: limit price (accepted), trade price, new price (amended), level price (book_delta).
    #[getter]
    fn price(&self) -> Option<i64> {
        match self.inner {
            Event::Accepted { price, .. } => price,
            Event::Trade { price, .. }
            | Event::Amended { price, .. }
            | Event::BookDelta { price, .. }
            | Event::Liquidation { price, .. }
            | Event::Adl { price, .. } => Some(price),
            _ => None,
        }
    }
    /// Lots: order quantity (accepted), trade quantity, new open quantity (amended), level total.
    #[getter]
    fn qty(&self) -> Option<i128> {
        match self.inner {
            Event::Accepted { qty, .. }
            | Event::Trade { qty, .. }
            | Event::Amended { qty, .. }
            | Event::Liquidation { qty, .. }
            | Event::Adl { qty, .. } => Some(i128::from(qty)),
            Event::BookDelta { qty, .. } => Some(qty),
            _ => None,
        }
    }
    /// Open lots left when an order was cancelled or expired.
    #[getter]
    fn remaining(&self) -> Option<i64> {
        match self.inner {
            Event::Cancelled { remaining, .. } | Event::Expired { remaining, .. } => Some(remaining),
            _ => None,
        }
    }
    /// Stable reason code (rejected, cancelled, command_rejected).
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        match self.inner {
            Event::Rejected { reason, .. } | Event::CommandRejected { reason, .. } => Some(reason.as_str()),
            Event::Cancelled { reason, .. } => Some(reason.as_str()),
            _ => None,
        }
    }
    #[getter]
    fn trigger_price(&self) -> Option<i64> {
        match self.inner {
            Event::Triggered { trigger_price, .. } => Some(trigger_price),
            _ => None,
        }
    }
    #[getter]
    fn taker_order_id(&self) -> Option<u64> {
        match self.inner {
            Event::Trade { taker_order_id, .. } => Some(taker_order_id),
            _ => None,
        }
    }
    #[getter]
    fn taker_account(&self) -> Option<u64> {
        match self.inner {
            Event::Trade { taker_account, .. } => Some(taker_account),
            _ => None,
        }
    }
    #[getter]
    fn maker_order_id(&self) -> Option<u64> {
        match self.inner {
            Event::Trade { maker_order_id, .. } => Some(maker_order_id),
            _ => None,
        }
    }
    #[getter]
    fn maker_account(&self) -> Option<u64> {
        match self.inner {
            Event::Trade { maker_account, .. } => Some(maker_account),
            _ => None,
        }
    }
    /// Quote atoms.
    #[getter]
    fn taker_fee(&self) -> Option<i128> {
        match self.inner {
            Event::Trade { taker_fee, .. } => Some(taker_fee),
            _ => None,
        }
    }
    /// Quote atoms; negative for a rebate.
    #[getter]
    fn maker_fee(&self) -> Option<i128> {
        match self.inner {
            Event::Trade { maker_fee, .. } => Some(maker_fee),
            _ => None,
        }
    }
    #[getter]
    fn priority_kept(&self) -> Option<bool> {
        match self.inner {
            Event::Amended { priority_kept, .. } => Some(priority_kept),
            _ => None,
        }
    }
    /// Orders left at the level (book_delta).
    #[getter]
    fn orders(&self) -> Option<u32> {
        match self.inner {
            Event::BookDelta { orders, .. } => Some(orders),
            _ => None,
        }
    }

    /// The account on the other side of an auto-deleveraging (adl).
    #[getter]
    fn counterparty(&self) -> Option<u64> {
        match self.inner {
            Event::Adl { counterparty, .. } => Some(counterparty),
            _ => None,
        }
    }
    /// End of the settled funding interval, unix milliseconds (funding).
    #[getter]
    fn interval(&self) -> Option<u64> {
        match self.inner {
            Event::Funding { interval, .. } => Some(interval),
            _ => None,
        }
    }
    /// Funding rate in units of 10^-8 (funding).
    #[getter]
    fn rate(&self) -> Option<i64> {
        match self.inner {
            Event::Funding { rate, .. } => Some(rate.0),
            _ => None,
        }
    }
    /// Mark price in ticks (funding).
    #[getter]
    fn mark(&self) -> Option<i64> {
        match self.inner {
            Event::Funding { mark, .. } => Some(mark),
            _ => None,
        }
    }
    /// `(account, quote atoms)` per open position, negative = the account pays (funding).
    #[getter]
    fn payments(&self) -> Option<Vec<(u64, i128)>> {
        match &self.inner {
            Event::Funding { payments, .. } => Some(payments.clone()),
            _ => None,
        }
    }
    /// Rounding remainder booked to the house, quote atoms (funding).
    #[getter]
    fn house(&self) -> Option<i128> {
        match self.inner {
            Event::Funding { house, .. } => Some(house),
            _ => None,
        }
    }

    /// The fields that apply to this kind, as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("kind", self.kind())?;
        d.set_item("seq", self.seq())?;
        macro_rules! put {
            ($($name:ident),*) => { $( if let Some(v) = self.$name() { d.set_item(stringify!($name), v)?; } )* };
        }
        put!(order_id, account, side, order_type, price, qty, remaining, reason, trigger_price);
        put!(taker_order_id, taker_account, maker_order_id, maker_account, taker_fee, maker_fee);
        put!(priority_kept, orders, counterparty, interval, rate, mark, payments, house);
        if let Event::Accepted { price: None, .. } = self.inner {
            d.set_item("price", py.None())?;
        }
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let d = self.to_dict(py)?;
        let mut parts = Vec::new();
        for (k, v) in d.iter() {
            parts.push(format!("{}={}", k, v.repr()?));
        }
        Ok(format!("Event({})", parts.join(", ")))
    }
}

/// The events of one call, in sequence order. Indexable and iterable.
#[pyclass(name = "Events", module = "ordex._engine", frozen, sequence)]
pub struct PyEvents {
    pub events: Vec<Event>,
}

#[pymethods]
impl PyEvents {
    fn __len__(&self) -> usize {
        self.events.len()
    }

    fn __getitem__(&self, index: isize) -> PyResult<PyEvent> {
        let n = self.events.len() as isize;
        let i = if index < 0 { index + n } else { index };
        if i < 0 || i >= n {
            return Err(PyIndexError::new_err("event index out of range"));
        }
        Ok(PyEvent { inner: self.events[i as usize].clone() })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> EventsIter {
        EventsIter { events: slf.into(), next: 0 }
    }

    /// Only the trades: `(taker_order_id, maker_order_id, price, qty)` tuples.
    fn trades(&self) -> Vec<(u64, u64, i64, i64)> {
        self.events
            .iter()
            .filter_map(|e| match *e {
                Event::Trade { taker_order_id, maker_order_id, price, qty, .. } => {
                    Some((taker_order_id, maker_order_id, price, qty))
                }
                _ => None,
            })
            .collect()
    }

    /// Event kinds in order.
    fn kinds(&self) -> Vec<&'static str> {
        self.events.iter().map(|e| e.kind()).collect()
    }

    fn __repr__(&self) -> String {
        format!("Events({:?})", self.kinds())
    }
}

#[pyclass(module = "ordex._engine")]
pub struct EventsIter {
    events: Py<PyEvents>,
    next: usize,
}

#[pymethods]
impl EventsIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> Option<PyEvent> {
        let events = self.events.bind(py).get();
        let e = events.events.get(self.next).cloned()?;
        self.next += 1;
        Some(PyEvent { inner: e })
    }
}

/// A live order.
#[pyclass(name = "OrderInfo", module = "ordex._engine", frozen, get_all, eq)]
#[derive(Clone, PartialEq)]
pub struct PyOrderInfo {
    pub order_id: u64,
    pub account: u64,
    pub side: &'static str,
    pub order_type: &'static str,
    pub time_in_force: &'static str,
    pub price: Option<i64>,
    pub trigger_price: Option<i64>,
    pub remaining: i64,
    pub filled: i64,
    /// "OPEN" (resting) or "UNTRIGGERED" (conditional, waiting).
    pub status: &'static str,
    pub reduce_only: bool,
    pub post_only: bool,
    pub expire_at: Option<u64>,
    pub client_order_id: Option<String>,
}

impl From<OrderView> for PyOrderInfo {
    fn from(v: OrderView) -> Self {
        PyOrderInfo {
            order_id: v.order_id,
            account: v.account,
            side: v.side.as_str(),
            order_type: v.order_type.as_str(),
            time_in_force: v.time_in_force.as_str(),
            price: v.price,
            trigger_price: v.trigger_price,
            remaining: v.remaining,
            filled: v.filled,
            status: match v.status {
                ordex_engine::OrderStatus::Open => "OPEN",
                ordex_engine::OrderStatus::Untriggered => "UNTRIGGERED",
            },
            reduce_only: v.reduce_only,
            post_only: v.post_only,
            expire_at: v.expire_at,
            client_order_id: v.client_order_id.map(|c| c.as_str().to_owned()),
        }
    }
}

#[pymethods]
impl PyOrderInfo {
    fn __repr__(&self) -> String {
        format!(
            "OrderInfo(order_id={}, account={}, side={:?}, price={}, remaining={}, filled={}, status={:?})",
            self.order_id,
            self.account,
            self.side,
            self.price.map_or("None".to_owned(), |p| p.to_string()),
            self.remaining,
            self.filled,
            self.status
        )
    }
}

pub fn side_of(s: &str) -> PyResult<Side> {
    crate::errors::parse_choice("side", s, Side::parse, Side::ALL, Side::as_str)
}
