//! `validate_flow`, `backtest`, `sweep` and `indicator`: thin wrappers over `ordex-flow`. Candle
//! columns are read in place when they expose a C-contiguous buffer (NumPy, `array.array`), and
//! every run happens with the GIL released.

use ordex_flow::account::Trade;
use ordex_flow::backtest::{Candles, RunOptions};
use ordex_flow::compile::Amount;
use ordex_flow::money::format_atoms;
use ordex_flow::sweep::Axis;
use ordex_flow::{compile_json, FlowError, Metrics, Outcome};
use pyo3::buffer::{Element, PyBuffer};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::errors::flow_error;

/// A candle column: the caller's buffer when it has one, else a copy.
enum Column<T: Element> {
    Buffer(PyBuffer<T>),
    Owned(Vec<T>),
}

impl<T: Element + for<'a, 'py> FromPyObject<'a, 'py>> Column<T> {
    fn extract(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(buffer) = PyBuffer::<T>::get(obj) {
            if buffer.dimensions() == 1 && buffer.is_c_contiguous() {
                return Ok(Column::Buffer(buffer));
            }
        }
        obj.extract::<Vec<T>>()
            .map(Column::Owned)
            .map_err(|_| PyValueError::new_err(format!("candle column '{name}' must be a sequence of numbers")))
    }

    fn slice(&self) -> &[T] {
        match self {
            // The buffer stays exported (and its memory alive) while `self` lives.
            Column::Buffer(b) => match b.as_slice_ptr() {
                Some(ptr) => unsafe { &*ptr.as_ptr() },
                None => &[],
            },
            Column::Owned(v) => v,
        }
    }
}

struct Columns {
    timestamp: Column<i64>,
    open: Column<f64>,
    high: Column<f64>,
    low: Column<f64>,
    close: Column<f64>,
    volume: Column<f64>,
}

impl Columns {
    fn extract(candles: &Bound<'_, PyAny>) -> PyResult<Self> {
        let get = |name: &str| {
            candles.get_item(name).map_err(|_| PyValueError::new_err(format!("candles need a '{name}' column")))
        };
        Ok(Columns {
            timestamp: Column::extract("timestamp", &get("timestamp")?)?,
            open: Column::extract("open", &get("open")?)?,
            high: Column::extract("high", &get("high")?)?,
            low: Column::extract("low", &get("low")?)?,
            close: Column::extract("close", &get("close")?)?,
            volume: Column::extract("volume", &get("volume")?)?,
        })
    }

    fn view(&self) -> PyResult<Candles<'_>> {
        let candles = Candles {
            timestamp: self.timestamp.slice(),
            open: self.open.slice(),
            high: self.high.slice(),
            low: self.low.slice(),
            close: self.close.slice(),
            volume: self.volume.slice(),
        };
        candles.check().map_err(|m| PyValueError::new_err(format!("candles: {m}")))?;
        Ok(candles)
    }
}

pub(crate) fn flow_text(flow: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = flow.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    if let Ok(b) = flow.extract::<Vec<u8>>() {
        return String::from_utf8(b).map_err(|_| PyValueError::new_err("the flow is not UTF-8 text"));
    }
    Err(PyValueError::new_err("the flow must be JSON text (str or bytes)"))
}

fn capital(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Amount>> {
    let Some(v) = value else { return Ok(None) };
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Some(Amount::Decimal(s.to_str()?.trim().to_owned())));
    }
    if let Ok(x) = v.extract::<f64>() {
        return Ok(Some(Amount::Number(x)));
    }
    // Decimal and other numeric types: their exact text.
    Ok(Some(Amount::Decimal(v.str()?.to_str()?.to_owned())))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn options(
    initial_capital: Option<&Bound<'_, PyAny>>,
    fee_bps: Option<f64>,
    slippage_bps: Option<f64>,
    price_decimals: u32,
    qty_decimals: u32,
    keep_equity: bool,
) -> PyResult<RunOptions> {
    Ok(RunOptions {
        price_decimals,
        qty_decimals,
        initial_capital: capital(initial_capital)?,
        fee_bps,
        slippage_bps,
        keep_equity,
    })
}

/// Checks a flow; returns what it compiled to (node and edge counts, warm-up, evaluation order).
#[pyfunction]
pub fn validate_flow<'py>(py: Python<'py>, flow: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let text = flow_text(flow)?;
    let plan = py.detach(|| compile_json(&text)).map_err(|e| flow_error(py, e))?;
    let info = PyDict::new(py);
    info.set_item("nodes", plan.nodes.len())?;
    info.set_item("edges", plan.edge_count)?;
    info.set_item("warmup", plan.warmup)?;
    info.set_item("order", plan.nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>())?;
    Ok(info)
}

/// The node type names the evaluator knows.
#[pyfunction]
pub fn node_types() -> Vec<&'static str> {
    ordex_flow::catalog::NODE_TYPES.to_vec()
}

pub(crate) fn metrics_dict<'py>(py: Python<'py>, m: &Metrics) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("pnl", m.quote(m.pnl))?;
    d.set_item("pnlPercent", m.pnl_percent())?;
    d.set_item("winRate", m.win_rate())?;
    d.set_item("maxDrawdown", m.quote(m.max_drawdown))?;
    d.set_item("maxDrawdownPercent", m.max_drawdown_percent)?;
    d.set_item("sharpeRatio", m.sharpe_ratio)?;
    d.set_item("profitFactor", m.profit_factor)?;
    d.set_item("totalTrades", m.total_trades)?;
    d.set_item("winningTrades", m.winning_trades)?;
    d.set_item("losingTrades", m.losing_trades)?;
    d.set_item("fees", m.quote(m.fees))?;
    d.set_item("finalEquity", m.quote(m.final_equity))?;
    d.set_item("initialCapital", m.quote(m.capital))?;
    d.set_item("bars", m.bars)?;
    Ok(d)
}

/// Closed trades in order; amounts as exact decimal strings.
pub(crate) fn trades_list<'py>(py: Python<'py>, trades: &[Trade], pd: u32, qd: u32) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for t in trades {
        let d = PyDict::new(py);
        d.set_item("side", t.side.name())?;
        d.set_item("entryBar", t.entry_bar)?;
        d.set_item("exitBar", t.exit_bar)?;
        d.set_item("entryTime", t.entry_ts)?;
        d.set_item("exitTime", t.exit_ts)?;
        d.set_item("quantity", format_atoms(t.qty, qd))?;
        d.set_item("entryPrice", format_atoms(t.entry_price, pd))?;
        d.set_item("exitPrice", format_atoms(t.exit_price, pd))?;
        d.set_item("pnl", format_atoms(t.pnl, pd))?;
        d.set_item("fees", format_atoms(t.fees, pd))?;
        d.set_item("exitReason", t.reason.name())?;
        list.append(d)?;
    }
    Ok(list)
}

/// The outcome of `backtest`: metrics, trades and equity, converted on access.
#[pyclass(name = "BacktestResult", module = "ordex._engine", frozen)]
pub struct PyBacktestResult {
    outcome: Outcome,
    price_decimals: u32,
    qty_decimals: u32,
}

#[pymethods]
impl PyBacktestResult {
    /// The metrics as JSON numbers (quote amounts as floats; see `amounts` for exact ones).
    #[getter]
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        metrics_dict(py, &self.outcome.metrics)
    }

    /// The quote amounts of the metrics as exact decimal strings.
    #[getter]
    fn amounts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let m = &self.outcome.metrics;
        let d = PyDict::new(py);
        for (name, atoms) in [
            ("initialCapital", m.capital),
            ("finalEquity", m.final_equity),
            ("pnl", m.pnl),
            ("maxDrawdown", m.max_drawdown),
            ("fees", m.fees),
        ] {
            d.set_item(name, format_atoms(atoms, self.price_decimals))?;
        }
        Ok(d)
    }

    /// Closed trades in order; amounts as exact decimal strings.
    #[getter]
    fn trades<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        trades_list(py, &self.outcome.trades, self.price_decimals, self.qty_decimals)
    }

    /// Whether a position was still open after the last bar (it counts in equity, not in trades).
    #[getter]
    fn open_position(&self) -> bool {
        self.outcome.open_position
    }

    /// Equity at every bar's close (empty when the run kept no curve).
    fn equity(&self) -> Vec<f64> {
        self.outcome.equity.clone()
    }

    /// (UTC day start in ms, the day's last equity): the series the Sharpe ratio is computed on.
    fn daily_equity(&self) -> Vec<(i64, f64)> {
        self.outcome.daily.clone()
    }

    fn __repr__(&self) -> String {
        let m = &self.outcome.metrics;
        format!(
            "BacktestResult(bars={}, trades={}, pnl={})",
            m.bars,
            m.total_trades,
            format_atoms(m.pnl, self.price_decimals)
        )
    }
}

/// Compiles the flow and runs it over the candles with the GIL released.
#[pyfunction]
#[pyo3(signature = (flow, candles, *, initial_capital = None, fee_bps = None, slippage_bps = None,
                    price_decimals = 8, qty_decimals = 8, keep_equity = true))]
#[allow(clippy::too_many_arguments)]
pub fn backtest(
    py: Python<'_>,
    flow: &Bound<'_, PyAny>,
    candles: &Bound<'_, PyAny>,
    initial_capital: Option<&Bound<'_, PyAny>>,
    fee_bps: Option<f64>,
    slippage_bps: Option<f64>,
    price_decimals: u32,
    qty_decimals: u32,
    keep_equity: bool,
) -> PyResult<PyBacktestResult> {
    let text = flow_text(flow)?;
    let columns = Columns::extract(candles)?;
    let opts = options(initial_capital, fee_bps, slippage_bps, price_decimals, qty_decimals, keep_equity)?;
    let view = columns.view()?;
    let outcome: Result<Outcome, FlowError> =
        py.detach(|| compile_json(&text).and_then(|plan| ordex_flow::backtest(&plan, &view, &opts)));
    Ok(PyBacktestResult { outcome: outcome.map_err(|e| flow_error(py, e))?, price_decimals, qty_decimals })
}

/// Every combination of the grid (`{"node.param": [values]}`), run in parallel; one row each, in
/// grid order (the last axis varies fastest): `params`, the metrics, and `error` (None, or why
/// that combination is not a valid flow).
#[pyfunction]
#[pyo3(signature = (flow, candles, grid, *, initial_capital = None, fee_bps = None, slippage_bps = None,
                    price_decimals = 8, qty_decimals = 8))]
#[allow(clippy::too_many_arguments)]
pub fn sweep<'py>(
    py: Python<'py>,
    flow: &Bound<'py, PyAny>,
    candles: &Bound<'py, PyAny>,
    grid: Vec<(String, Vec<f64>)>,
    initial_capital: Option<&Bound<'py, PyAny>>,
    fee_bps: Option<f64>,
    slippage_bps: Option<f64>,
    price_decimals: u32,
    qty_decimals: u32,
) -> PyResult<Bound<'py, PyList>> {
    let text = flow_text(flow)?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| flow_error(py, FlowError::document(format!("the flow is not valid JSON: {e}"))))?;
    let mut axes = Vec::with_capacity(grid.len());
    for (key, values) in &grid {
        let Some((node, param)) = key.rsplit_once('.') else {
            return Err(PyValueError::new_err(format!("grid key {key:?} must be 'nodeId.param'")));
        };
        axes.push(Axis { node: node.to_owned(), param: param.to_owned(), values: values.clone() });
    }
    let columns = Columns::extract(candles)?;
    let opts = options(initial_capital, fee_bps, slippage_bps, price_decimals, qty_decimals, false)?;
    let view = columns.view()?;
    let rows = py.detach(|| ordex_flow::sweep::sweep(&doc, &view, &axes, &opts)).map_err(|e| flow_error(py, e))?;
    let out = PyList::empty(py);
    for (values, result) in rows {
        let params = PyDict::new(py);
        for ((key, _), v) in grid.iter().zip(&values) {
            params.set_item(key, v)?;
        }
        let row = match &result {
            Ok(m) => metrics_dict(py, m)?,
            Err(_) => PyDict::new(py),
        };
        row.set_item("params", params)?;
        row.set_item("error", result.as_ref().err().map(|e| e.message.clone()))?;
        out.append(row)?;
    }
    Ok(out)
}

/// One indicator node over the candles (`source` = close): its outputs by port name.
#[pyfunction]
pub fn indicator<'py>(
    py: Python<'py>,
    type_name: &str,
    params: &str,
    candles: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let params: serde_json::Map<String, serde_json::Value> = serde_json::from_str(params)
        .map_err(|e| PyValueError::new_err(format!("params must be a JSON object: {e}")))?;
    let columns = Columns::extract(candles)?;
    let view = columns.view()?;
    let outputs = py.detach(|| ordex_flow::indicator(type_name, &params, &view)).map_err(|e| flow_error(py, e))?;
    let d = PyDict::new(py);
    for (name, values) in outputs {
        d.set_item(name, values)?;
    }
    Ok(d)
}
