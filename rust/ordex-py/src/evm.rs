//! The EVM indexer's decode (`ordex-evm`): a JSON-RPC batch answer in, the ingest's rows out as
//! COPY payloads; the work runs with the GIL released.

use num_bigint::BigUint;
use ordex_evm::prices::{PoolInfo, PoolState, PriceWalk, PricingConfig};
use ordex_evm::{self as evm, DecodedRange, EncodeError};
use pyo3::exceptions::{PyArithmeticError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};
use std::collections::HashMap;

type BlockRow<'py> = (u64, Bound<'py, PyBytes>, Bound<'py, PyBytes>, u64, usize, bool, Vec<Bound<'py, PyBytes>>);
/// (pool, sqrtPriceX96, liquidity, tick): a pool's state.
type StateWords = (Vec<u8>, Vec<u8>, Vec<u8>, i32);
/// (pool, token0, token1, decimals0, decimals1).
type PoolRow = (Vec<u8>, Vec<u8>, Vec<u8>, u32, u32);
type EncodedRows<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyList>,
    Bound<'py, PyList>,
);

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

    /// Prices the range from the pools' `states` at the block before it (pool, sqrtPriceX96 and
    /// liquidity as 32-byte big-endian words, tick), walking its Swaps, Initializes, Mints and
    /// Burns, then encodes every row of it as binary COPY payloads; the GIL is released
    /// meanwhile. Returns (blocks, token prices, transactions, token transfers, address
    /// transactions, rows per address, the pools' states at the end of the range).
    fn encode<'py>(
        &self,
        py: Python<'py>,
        pricing: &PyEvmPricing,
        states: Vec<StateWords>,
    ) -> PyResult<EncodedRows<'py>> {
        let states = states
            .into_iter()
            .map(|(pool, sqrt, liquidity, tick)| {
                let state = PoolState {
                    sqrt_price_x96: BigUint::from_bytes_be(&sqrt),
                    liquidity: BigUint::from_bytes_be(&liquidity),
                    tick,
                };
                Ok((address(&pool)?, state))
            })
            .collect::<PyResult<HashMap<_, _>>>()?;
        let inner = &self.inner;
        let config = &pricing.config;
        let decimals = &pricing.decimals;
        let (encoded, states) = py
            .detach(|| {
                let mut walk = PriceWalk::new(config, states);
                let encoded = evm::price_and_encode(inner, &mut walk, decimals)?;
                Ok::<_, EncodeError>((encoded, walk.states))
            })
            .map_err(|e| match e {
                EncodeError::UsdOverflow => PyArithmeticError::new_err("a USD amount overflows 80 digits"),
                EncodeError::BadPrices(why) | EncodeError::OutOfRange(why) => PyValueError::new_err(why),
            })?;
        let counts = PyList::new(py, encoded.address_counts.iter().map(|(a, n)| (PyBytes::new(py, a), *n)))?;
        let mut states: Vec<_> = states.into_iter().collect();
        states.sort_unstable_by_key(|s| s.0);
        let states = PyList::new(
            py,
            states.iter().map(|(pool, s)| {
                (
                    PyBytes::new(py, pool),
                    PyBytes::new(py, &s.sqrt_price_x96.to_bytes_be()),
                    PyBytes::new(py, &s.liquidity.to_bytes_be()),
                    s.tick,
                )
            }),
        )?;
        Ok((
            PyBytes::new(py, &encoded.blocks),
            PyBytes::new(py, &encoded.token_prices),
            PyBytes::new(py, &encoded.transactions),
            PyBytes::new(py, &encoded.transfers),
            PyBytes::new(py, &encoded.address_transactions),
            counts,
            states,
        ))
    }
}

/// What prices a range's tokens (services.indexer_prices.PriceTracker after `prepare`): WETH,
/// the ETH/USD pool, the stablecoins, the whitelisted pools, the tracked pools as (address,
/// token0, token1, decimals0, decimals1) in order, the liquidity floor in USD as a ratio of two
/// decimal integers, and the decimals of every token that is priced.
#[pyclass(name = "EvmPricing", module = "ordex._engine", frozen)]
pub struct PyEvmPricing {
    config: PricingConfig,
    decimals: HashMap<evm::Address, u32>,
}

#[pymethods]
impl PyEvmPricing {
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (weth, eth_usd_pool, stablecoins, price_pools, pools, floor, decimals))]
    fn new(
        weth: Option<Vec<u8>>,
        eth_usd_pool: Option<Vec<u8>>,
        stablecoins: Vec<Vec<u8>>,
        price_pools: Vec<Vec<u8>>,
        pools: Vec<PoolRow>,
        floor: (String, String),
        decimals: HashMap<Vec<u8>, u32>,
    ) -> PyResult<Self> {
        let ratio = |text: &str| {
            BigUint::parse_bytes(text.as_bytes(), 10)
                .ok_or_else(|| PyValueError::new_err("the floor is a ratio of integers"))
        };
        let floor = (ratio(&floor.0)?, ratio(&floor.1)?);
        if floor.1 == BigUint::ZERO {
            return Err(PyValueError::new_err("the floor's denominator is positive"));
        }
        let config = PricingConfig {
            weth: weth.as_deref().map(address).transpose()?,
            eth_usd_pool: eth_usd_pool.as_deref().map(address).transpose()?,
            stablecoins: stablecoins.iter().map(|a| address(a)).collect::<PyResult<_>>()?,
            price_pools: price_pools.iter().map(|a| address(a)).collect::<PyResult<_>>()?,
            pools: pools
                .iter()
                .map(|(pool, t0, t1, d0, d1)| {
                    Ok(PoolInfo {
                        address: address(pool)?,
                        token0: address(t0)?,
                        token1: address(t1)?,
                        decimals0: *d0,
                        decimals1: *d1,
                    })
                })
                .collect::<PyResult<_>>()?,
            floor,
        };
        let decimals = decimals.into_iter().map(|(a, d)| Ok((address(&a)?, d))).collect::<PyResult<_>>()?;
        Ok(Self { config, decimals })
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
    module.add_class::<PyEvmPricing>()?;
    module.add_function(wrap_pyfunction!(decode_evm_range, module)?)?;
    Ok(())
}
