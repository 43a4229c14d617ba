//! `FlowRun`: a live run of a flow, stepped one closed candle at a time through the same code as
//! a backtest (`ordex_flow::Run`), owning its compiled plan. A thin wrapper: the fills of each bar
//! and the orders queued at its close are converted, nothing is decided here.

use std::sync::Arc;

use ordex_flow::account::Side;
use ordex_flow::money::format_atoms;
use ordex_flow::{compile_json, Bar, Candles, Run, StepReport};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::errors::flow_error;
use crate::flow::{flow_text, metrics_dict, options, trades_list};

fn side_name(buying: bool) -> &'static str {
    if buying {
        "buy"
    } else {
        "sell"
    }
}

#[pyclass(name = "FlowRun", module = "ordex._engine")]
pub struct PyFlowRun {
    run: Run<'static>,
    report: StepReport,
    price_decimals: u32,
    qty_decimals: u32,
    last_ts: Option<i64>,
    last_close: f64,
}

#[pymethods]
impl PyFlowRun {
    #[new]
    #[pyo3(signature = (flow, *, initial_capital = None, fee_bps = None, slippage_bps = None,
                        price_decimals = 8, qty_decimals = 8))]
    fn new(
        py: Python<'_>,
        flow: &Bound<'_, PyAny>,
        initial_capital: Option<&Bound<'_, PyAny>>,
        fee_bps: Option<f64>,
        slippage_bps: Option<f64>,
        price_decimals: u32,
        qty_decimals: u32,
    ) -> PyResult<Self> {
        let text = flow_text(flow)?;
        let opts = options(initial_capital, fee_bps, slippage_bps, price_decimals, qty_decimals, false)?;
        let plan = compile_json(&text).map_err(|e| flow_error(py, e))?;
        let run = Run::shared(Arc::new(plan), &opts).map_err(|e| flow_error(py, e))?;
        Ok(PyFlowRun {
            run,
            report: StepReport::default(),
            price_decimals,
            qty_decimals,
            last_ts: None,
            last_close: 0.0,
        })
    }

    /// One closed candle: the fills at its open and within it, and the orders queued at its close
    /// for the next open.
    #[allow(clippy::too_many_arguments)]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        ts: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let one = Candles {
            timestamp: std::slice::from_ref(&ts),
            open: std::slice::from_ref(&open),
            high: std::slice::from_ref(&high),
            low: std::slice::from_ref(&low),
            close: std::slice::from_ref(&close),
            volume: std::slice::from_ref(&volume),
        };
        one.check().map_err(|m| PyValueError::new_err(format!("candle: {m}")))?;
        if self.last_ts.is_some_and(|last| ts <= last) {
            return Err(PyValueError::new_err("candle: timestamps must increase"));
        }
        let bar_index = self.run.bars();
        self.report.fills.clear();
        self.report.queued.clear();
        self.run.step(&Bar { ts, open, high, low, close, volume }, Some(&mut self.report));
        self.last_ts = Some(ts);
        self.last_close = close;
        let (pd, qd) = (self.price_decimals, self.qty_decimals);
        let fills = PyList::empty(py);
        for f in &self.report.fills {
            let d = PyDict::new(py);
            d.set_item("side", side_name(f.side == Side::Long))?;
            d.set_item("opening", f.opening)?;
            d.set_item("quantity", format_atoms(f.qty, qd))?;
            d.set_item("price", format_atoms(f.price, pd))?;
            d.set_item("fee", format_atoms(f.fee, pd))?;
            d.set_item("exitReason", f.exit.map(|r| r.name()))?;
            fills.append(d)?;
        }
        let plan = self.run.plan();
        let orders = PyList::empty(py);
        for o in self.run.pending_orders(close) {
            let d = PyDict::new(py);
            d.set_item("node", o.node.map(|n| plan.nodes[n].id.as_str()))?;
            d.set_item("side", side_name(o.buying))?;
            d.set_item("kind", if o.entry { "entry" } else { "exit" })?;
            d.set_item("quantity", format_atoms(o.qty, qd))?;
            d.set_item("limitPrice", o.limit.map(|p| format_atoms(p, pd)))?;
            d.set_item("reason", o.reason.map_or("signal", |r| r.name()))?;
            orders.append(d)?;
        }
        let out = PyDict::new(py);
        out.set_item("bar", bar_index)?;
        out.set_item("timestamp", ts)?;
        out.set_item("fills", fills)?;
        out.set_item("orders", orders)?;
        Ok(out)
    }

    /// Bars stepped so far.
    #[getter]
    fn bars(&self) -> usize {
        self.run.bars()
    }

    /// Cash held, an exact decimal string.
    #[getter]
    fn cash(&self) -> String {
        format_atoms(self.run.account.cash, self.price_decimals)
    }

    /// Equity marked at the last close, an exact decimal string.
    #[getter]
    fn equity(&self) -> String {
        let mark = self.run.price_atoms(self.last_close);
        let equity = if self.last_ts.is_some() { self.run.account.equity(mark) } else { self.run.capital() };
        format_atoms(equity, self.price_decimals)
    }

    /// The open position (side, quantity, entryPrice, entries, entryTime, stopLoss, takeProfit) or None.
    #[getter]
    fn position<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(p) = &self.run.account.position else { return Ok(None) };
        let (pd, qd) = (self.price_decimals, self.qty_decimals);
        let d = PyDict::new(py);
        d.set_item("side", p.side.name())?;
        d.set_item("quantity", format_atoms(p.qty, qd))?;
        let avg = if p.qty > 0 { ordex_flow::money::div_round(p.cost, p.qty) } else { 0 };
        d.set_item("entryPrice", format_atoms(avg, pd))?;
        d.set_item("entries", p.entries)?;
        d.set_item("entryTime", p.entry_ts)?;
        d.set_item("stopLoss", p.stop.map(|x| format_atoms(x, pd)))?;
        d.set_item("takeProfit", p.target.map(|x| format_atoms(x, pd)))?;
        Ok(Some(d))
    }

    /// Closed trades so far, as `BacktestResult.trades`.
    #[getter]
    fn trades<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        trades_list(py, self.run.trades(), self.price_decimals, self.qty_decimals)
    }

    /// The metrics so far, as `BacktestResult.metrics`.
    #[getter]
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        metrics_dict(py, &self.run.metrics())
    }

    fn __repr__(&self) -> String {
        format!("FlowRun(bars={}, trades={})", self.run.bars(), self.run.trades().len())
    }
}
