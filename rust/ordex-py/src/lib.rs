//! `ordex._engine`: the Python face of `ordex-engine`, `ordex-flow` and `ordex-uniswap`.
//! Wrappers only; all logic is in those crates.

mod commands;
mod config;
mod engine;
mod errors;
mod events;
mod evm;
mod flow;
mod flow_run;
mod margin;
mod uniswap;

use pyo3::prelude::*;

// Batches allocate large event and command buffers; mimalloc reuses freed segments instead of
// returning them to the OS, so the next batch does not pay page faults all over again.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<config::PyMarketConfig>()?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<commands::PyOrder>()?;
    m.add_class::<commands::PyCancel>()?;
    m.add_class::<commands::PyCancelAll>()?;
    m.add_class::<commands::PyAmend>()?;
    m.add_class::<commands::PyAdvanceTime>()?;
    m.add_class::<commands::PySetMarkPrice>()?;
    m.add_class::<events::PyEvent>()?;
    m.add_class::<events::PyEvents>()?;
    m.add_class::<events::PyOrderInfo>()?;
    m.add_function(wrap_pyfunction!(engine::peek_commands, m)?)?;
    m.add_class::<flow::PyBacktestResult>()?;
    m.add_class::<flow_run::PyFlowRun>()?;
    m.add_function(wrap_pyfunction!(flow::validate_flow, m)?)?;
    m.add_function(wrap_pyfunction!(flow::node_types, m)?)?;
    m.add_function(wrap_pyfunction!(flow::backtest, m)?)?;
    m.add_function(wrap_pyfunction!(flow::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(flow::indicator, m)?)?;
    errors::register(m)?;
    margin::register(m)?;
    uniswap::register(m)?;
    evm::register(m)?;
    Ok(())
}
