//! Command objects for `Engine.process` (batch) and the shared argument parsing of `Engine.place`.

use crate::errors::parse_choice;
use ordex_engine::*;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Builds a `NewOrder` from Python arguments (prices in ticks, quantities in lots).
#[allow(clippy::too_many_arguments)]
pub fn new_order(
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
) -> PyResult<NewOrder> {
    let side = match side {
        "BUY" => Side::Buy,
        "SELL" => Side::Sell,
        other => parse_choice("side", other, Side::parse, Side::ALL, Side::as_str)?,
    };
    let order_type = match order_type {
        "LIMIT" => OrderType::Limit,
        other => parse_choice("order_type", other, OrderType::parse, OrderType::ALL, OrderType::as_str)?,
    };
    let time_in_force = match time_in_force {
        None if order_type.has_limit_price() => TimeInForce::Gtc,
        None => TimeInForce::Ioc,
        Some(s) => parse_choice("time_in_force", s, TimeInForce::parse, TimeInForce::ALL, TimeInForce::as_str)?,
    };
    let trigger_by = parse_choice("trigger_by", trigger_by, TriggerBy::parse, TriggerBy::ALL, TriggerBy::as_str)?;
    let stp = match stp {
        "NONE" => StpMode::None,
        other => parse_choice("stp", other, StpMode::parse, StpMode::ALL, StpMode::as_str)?,
    };
    let client_order_id = match client_order_id {
        Some(s) => Some(
            ClientOrderId::new(s)
                .ok_or_else(|| PyValueError::new_err("client_order_id must be 1 to 36 printable ASCII characters"))?,
        ),
        None => None,
    };
    Ok(NewOrder {
        order_id,
        account,
        side,
        order_type,
        time_in_force,
        price,
        qty,
        trigger_price,
        trigger_by,
        expire_at,
        post_only,
        reduce_only,
        stp,
        client_order_id,
    })
}

/// A new order for `Engine.process`. Prices in ticks, quantities in lots.
#[pyclass(name = "Order", module = "ordex._engine", frozen)]
pub struct PyOrder {
    pub inner: NewOrder,
}

#[pymethods]
impl PyOrder {
    #[new]
    #[pyo3(signature = (
        order_id, account, side, price, qty, *, order_type = "LIMIT", time_in_force = None,
        trigger_price = None, trigger_by = "LAST_PRICE", expire_at = None, post_only = false,
        reduce_only = false, stp = "NONE", client_order_id = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
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
    ) -> PyResult<Self> {
        let inner = new_order(
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
        Ok(PyOrder { inner })
    }

    #[getter]
    fn order_id(&self) -> u64 {
        self.inner.order_id
    }
    #[getter]
    fn account(&self) -> u64 {
        self.inner.account
    }
    #[getter]
    fn side(&self) -> &'static str {
        self.inner.side.as_str()
    }
    #[getter]
    fn order_type(&self) -> &'static str {
        self.inner.order_type.as_str()
    }
    #[getter]
    fn time_in_force(&self) -> &'static str {
        self.inner.time_in_force.as_str()
    }
    #[getter]
    fn price(&self) -> Option<i64> {
        self.inner.price
    }
    #[getter]
    fn qty(&self) -> i64 {
        self.inner.qty
    }
    #[getter]
    fn trigger_price(&self) -> Option<i64> {
        self.inner.trigger_price
    }

    fn __repr__(&self) -> String {
        let o = &self.inner;
        format!(
            "Order(order_id={}, account={}, side={:?}, price={:?}, qty={}, order_type={:?}, time_in_force={:?})",
            o.order_id,
            o.account,
            o.side.as_str(),
            o.price,
            o.qty,
            o.order_type.as_str(),
            o.time_in_force.as_str()
        )
    }
}

macro_rules! simple_command {
    ($py:ident, $name:literal, $doc:literal, { $($field:ident : $ty:ty),* }, $build:expr) => {
        #[doc = $doc]
        #[pyclass(name = $name, module = "ordex._engine", frozen)]
        pub struct $py { $(#[pyo3(get)] pub $field: $ty),* }

        #[pymethods]
        impl $py {
            #[new]
            fn new($($field: $ty),*) -> Self { $py { $($field),* } }

            fn __repr__(&self) -> String {
                let parts: Vec<String> = vec![$(format!("{}={:?}", stringify!($field), self.$field)),*];
                format!("{}({})", $name, parts.join(", "))
            }
        }

        impl $py {
            pub fn command(&self) -> Command {
                let f: fn(&$py) -> Command = $build;
                f(self)
            }
        }
    };
}

simple_command!(PyCancel, "Cancel", "Cancel one order of an account.", { order_id: u64, account: u64 },
    |c| Command::Cancel { order_id: c.order_id, account: c.account });
simple_command!(PyCancelAll, "CancelAll", "Cancel every live order of an account.", { account: u64 },
    |c| Command::CancelAll { account: c.account });
simple_command!(PyAmend, "Amend", "New price and/or open quantity of a resting order.",
    { order_id: u64, account: u64, price: Option<i64>, qty: Option<i64> },
    |c| Command::Amend { order_id: c.order_id, account: c.account, price: c.price, qty: c.qty });
simple_command!(PyAdvanceTime, "AdvanceTime", "Advance engine time; due GTD orders expire.", { now: u64 },
    |c| Command::AdvanceTime { now: c.now });
simple_command!(PySetMarkPrice, "SetMarkPrice", "Feed a mark price (ticks).", { price: i64 },
    |c| Command::SetMarkPrice { price: c.price });

/// Extracts one command object (any of the classes above).
pub fn extract_command(obj: &Bound<'_, PyAny>) -> PyResult<Command> {
    if let Ok(o) = obj.cast::<PyOrder>() {
        return Ok(Command::Place(o.get().inner));
    }
    if let Ok(c) = obj.cast::<PyCancel>() {
        return Ok(c.get().command());
    }
    if let Ok(c) = obj.cast::<PyAmend>() {
        return Ok(c.get().command());
    }
    if let Ok(c) = obj.cast::<PyCancelAll>() {
        return Ok(c.get().command());
    }
    if let Ok(c) = obj.cast::<PyAdvanceTime>() {
        return Ok(c.get().command());
    }
    if let Ok(c) = obj.cast::<PySetMarkPrice>() {
        return Ok(c.get().command());
    }
    Err(crate::errors::BindingError::Command(format!(
        "expected Order, Cancel, CancelAll, Amend, AdvanceTime or SetMarkPrice, got {}",
        obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
    ))
    .into())
}
