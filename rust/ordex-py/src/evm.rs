//! The EVM indexer's decode (`ordex-evm`): a JSON-RPC batch answer in, the ingest's rows out as
//! COPY payloads; the work runs with the GIL released.

use ordex_evm::{self as evm, BlockPrices, DecodedRange, EncodeError, PoolEventKind};
use pyo3::exceptions::{PyArithmeticError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};
use std::collections::HashMap;

type BlockRow<'py> = (u64, Bound<'py, PyBytes>, Bound<'py, PyBytes>, u64, usize, bool, Vec<Bound<'py, PyBytes>>);
type EncodedRows<'py> = (Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyList>);

/// A range of blocks decoded from one JSON-RPC batch answer.
#[pyclass(name = "EvmRange", module = "ordex._engine", frozen)]
pub struct PyEvmRange {
    inner: DecodedRange,
}

fn address(value: &[u8]) -> PyResult<[u8; 20]> {
    value.try_into().map_err(|_| PyValueError::new_err("an address is 20 bytes"))
}

#[pymethods]
impl PyEvmRange {
    #[getter]
    fn block_count(&self) -> usize {
        self.inner.blocks.len()
    }

    #[getter]
    fn tx_count(&self) -> usize {
        self.inner.txs.len()
    }

    #[getter]
    fn transfer_count(&self) -> usize {
        self.inner.transfers.len()
    }

    /// (number, hash, parent hash, timestamp, tx count, active, token contracts) of each block;
    /// active: it has transactions or logs.
    fn blocks<'py>(&self, py: Python<'py>) -> Vec<BlockRow<'py>> {
        self.inner
            .blocks
            .iter()
            .map(|b| {
                (
                    b.number,
                    PyBytes::new(py, &b.hash),
                    PyBytes::new(py, &b.parent_hash),
                    b.timestamp,
                    b.tx_count,
                    b.active,
                    b.tokens.iter().map(|t| PyBytes::new(py, t)).collect(),
                )
            })
            .collect()
    }

    /// (contract, token standard, first block) of each token contract, in the order first seen.
    fn seen_tokens<'py>(&self, py: Python<'py>) -> Vec<(Bound<'py, PyBytes>, &'static str, u64)> {
        self.inner
            .seen_tokens
            .iter()
            .map(|(a, s, n)| {
                let standard = match *s {
                    0 => "ERC-20",
                    1 => "ERC-721",
                    _ => "ERC-1155",
                };
                (PyBytes::new(py, a), standard, *n)
            })
            .collect()
    }

    /// (block position, kind, pool, word a, word b): kind 0 a Swap (a = sqrtPriceX96, b = in-range
    /// liquidity), 1 an Initialize (a = sqrtPriceX96), 2 a Mint or Burn.
    #[allow(clippy::type_complexity)]
    fn pool_events<'py>(
        &self,
        py: Python<'py>,
    ) -> Vec<(usize, u8, Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        self.inner
            .pool_events
            .iter()
            .map(|e| {
                let kind = match e.kind {
                    PoolEventKind::Swap => 0,
                    PoolEventKind::Initialize => 1,
                    PoolEventKind::Touched => 2,
                };
                (e.block, kind, PyBytes::new(py, &e.pool), PyBytes::new(py, &e.a), PyBytes::new(py, &e.b))
            })
            .collect()
    }

    /// Binary COPY payloads (transactions, token transfers, address transactions) and the rows
    /// per address, priced with `eth_usd` and `token_usd` (one entry per block, plain decimal text)
    /// and the token `decimals`.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        eth_usd: Vec<Option<String>>,
        token_usd: Vec<Vec<(Vec<u8>, String)>>,
        decimals: HashMap<Vec<u8>, u32>,
    ) -> PyResult<EncodedRows<'py>> {
        let mut prices = Vec::with_capacity(eth_usd.len());
        for (eth, tokens) in eth_usd.into_iter().zip(token_usd) {
            let tokens = tokens.into_iter().map(|(a, t)| Ok((address(&a)?, t))).collect::<PyResult<_>>()?;
            prices.push(BlockPrices { eth_usd: eth, tokens });
        }
        let decimals = decimals.into_iter().map(|(a, d)| Ok((address(&a)?, d))).collect::<PyResult<HashMap<_, _>>>()?;
        let inner = &self.inner;
        let encoded = py.detach(|| evm::encode_rows(inner, &prices, &decimals)).map_err(|e| match e {
            EncodeError::UsdOverflow => PyArithmeticError::new_err("a USD amount overflows 80 digits"),
            EncodeError::BadPrices(why) | EncodeError::OutOfRange(why) => PyValueError::new_err(why),
        })?;
        let counts = PyList::new(py, encoded.address_counts.iter().map(|(a, n)| (PyBytes::new(py, a), *n)))?;
        Ok((
            PyBytes::new(py, &encoded.transactions),
            PyBytes::new(py, &encoded.transfers),
            PyBytes::new(py, &encoded.address_transactions),
            counts,
        ))
    }
}

/// Decodes the answer to `count` `eth_getBlockByNumber(n, true)` calls with ids from
/// `first_id`, followed by `count` `eth_getBlockReceipts(n)` calls; `weth` is the contract whose
/// deposits and withdrawals are mints and burns. Anything but a canonical answer gives the
/// reason as a `str` instead: the Python decode is the reference for those.
#[pyfunction]
#[pyo3(signature = (body, first_id, count, weth=None))]
pub fn decode_evm_range(
    py: Python<'_>,
    body: PyBackedBytes,
    first_id: u64,
    count: usize,
    weth: Option<Vec<u8>>,
) -> PyResult<Py<PyAny>> {
    let weth = weth.as_deref().map(address).transpose()?;
    let decoded = py.detach(|| evm::decode_range(&body, first_id, count, weth));
    Ok(match decoded {
        Ok(inner) => Py::new(py, PyEvmRange { inner })?.into_any(),
        Err(reason) => reason.0.into_pyobject(py)?.into_any().unbind(),
    })
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<PyEvmRange>()?;
    module.add_function(wrap_pyfunction!(decode_evm_range, module)?)?;
    Ok(())
}
