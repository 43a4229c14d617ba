//! Uniswap v3 pool arithmetic over Python ints: sqrt prices (Q64.96), liquidity, amounts and fee
//! growth counters go in and come out as plain `int`s, exact to the last unit.

use crate::errors::{uniswap_error, UniswapMathError};
use ordex_uniswap::{self as uni, FundingCurve, I256, U256};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyTuple};

#[path = "uniswap_backtest.rs"]
mod backtest;

fn bad(name: &str, range: &str) -> PyErr {
    UniswapMathError::new_err(format!("{name} must be an integer in {range}"))
}

/// A Python int in [0, 2**256), or `UniswapMathError` (`TypeError` for a non-int).
fn u256_arg(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<U256> {
    if let Ok(v) = obj.extract::<u128>() {
        return Ok(U256::from(v));
    }
    let int = obj.cast::<PyInt>()?;
    let raw = int.call_method1("to_bytes", (32, "little")).map_err(|_| bad(name, "[0, 2**256)"))?;
    let bytes: [u8; 32] = raw.cast::<PyBytes>()?.as_bytes().try_into().map_err(|_| bad(name, "[0, 2**256)"))?;
    Ok(U256::from_le_bytes(bytes))
}

/// A Python int in [-2**255, 2**255).
fn i256_arg(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<I256> {
    if let Ok(v) = obj.extract::<i128>() {
        return Ok(I256::from(v));
    }
    let int = obj.cast::<PyInt>()?;
    let kwargs = PyDict::new(obj.py());
    kwargs.set_item("signed", true)?;
    let range = "[-2**255, 2**255)";
    let raw = int.call_method("to_bytes", (32, "little"), Some(&kwargs)).map_err(|_| bad(name, range))?;
    let bytes: [u8; 32] = raw.cast::<PyBytes>()?.as_bytes().try_into().map_err(|_| bad(name, range))?;
    Ok(I256::from_le_bytes(bytes))
}

macro_rules! small_arg {
    ($fn_name:ident, $t:ty, $range:expr) => {
        fn $fn_name(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<$t> {
            match obj.extract::<$t>() {
                Ok(v) => Ok(v),
                Err(_) if obj.is_instance_of::<PyInt>() => Err(bad(name, $range)),
                Err(e) => Err(e.into()),
            }
        }
    };
}

small_arg!(u128_arg, u128, "[0, 2**128)");
small_arg!(i128_arg, i128, "[-2**127, 2**127)");
small_arg!(i32_arg, i32, "[-2**31, 2**31)");
small_arg!(u32_arg, u32, "[0, 2**32)");

fn int_out(py: Python<'_>, x: U256) -> PyResult<Bound<'_, PyAny>> {
    if x <= U256::from(u128::MAX) {
        return Ok(x.as_u128().into_pyobject(py)?.into_any());
    }
    let bytes = PyBytes::new(py, &x.to_le_bytes());
    py.get_type::<PyInt>().call_method1("from_bytes", (bytes, "little"))
}

fn signed_out(py: Python<'_>, x: I256) -> PyResult<Bound<'_, PyAny>> {
    if x >= I256::from(i128::MIN) && x <= I256::from(i128::MAX) {
        return Ok(x.as_i128().into_pyobject(py)?.into_any());
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("signed", true)?;
    let bytes = PyBytes::new(py, &x.to_le_bytes());
    py.get_type::<PyInt>().call_method("from_bytes", (bytes, "little"), Some(&kwargs))
}

fn tuple_out<'py>(py: Python<'py>, items: &[U256]) -> PyResult<Bound<'py, PyTuple>> {
    let objs = items.iter().map(|&x| int_out(py, x)).collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, objs)
}

/// The sqrt price (Q64.96) at `tick`, rounded as the pool rounds it.
#[pyfunction]
fn get_sqrt_ratio_at_tick<'py>(py: Python<'py>, tick: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    int_out(py, uni::get_sqrt_ratio_at_tick(i32_arg("tick", tick)?).map_err(uniswap_error)?)
}

/// The greatest tick whose sqrt price is at most `sqrt_price_x96`.
#[pyfunction]
fn get_tick_at_sqrt_ratio(sqrt_price_x96: &Bound<'_, PyAny>) -> PyResult<i32> {
    uni::get_tick_at_sqrt_ratio(u256_arg("sqrt_price_x96", sqrt_price_x96)?).map_err(uniswap_error)
}

/// `floor(a * b / denominator)` through a 512-bit product.
#[pyfunction]
fn mul_div<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    denominator: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::mul_div(u256_arg("a", a)?, u256_arg("b", b)?, u256_arg("denominator", denominator)?);
    int_out(py, r.map_err(uniswap_error)?)
}

/// `ceil(a * b / denominator)` through a 512-bit product.
#[pyfunction]
fn mul_div_rounding_up<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    denominator: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::mul_div_rounding_up(u256_arg("a", a)?, u256_arg("b", b)?, u256_arg("denominator", denominator)?);
    int_out(py, r.map_err(uniswap_error)?)
}

/// The sqrt price after adding (`add`) or removing `amount` of token0, rounded up.
#[pyfunction]
fn get_next_sqrt_price_from_amount0_rounding_up<'py>(
    py: Python<'py>,
    sqrt_price_x96: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
    amount: &Bound<'py, PyAny>,
    add: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_next_sqrt_price_from_amount0_rounding_up(
        u256_arg("sqrt_price_x96", sqrt_price_x96)?,
        u128_arg("liquidity", liquidity)?,
        u256_arg("amount", amount)?,
        add,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// The sqrt price after adding (`add`) or removing `amount` of token1, rounded down.
#[pyfunction]
fn get_next_sqrt_price_from_amount1_rounding_down<'py>(
    py: Python<'py>,
    sqrt_price_x96: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
    amount: &Bound<'py, PyAny>,
    add: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_next_sqrt_price_from_amount1_rounding_down(
        u256_arg("sqrt_price_x96", sqrt_price_x96)?,
        u128_arg("liquidity", liquidity)?,
        u256_arg("amount", amount)?,
        add,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// The sqrt price after swapping in `amount_in` (token0 when `zero_for_one`, else token1).
#[pyfunction]
fn get_next_sqrt_price_from_input<'py>(
    py: Python<'py>,
    sqrt_price_x96: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
    amount_in: &Bound<'py, PyAny>,
    zero_for_one: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_next_sqrt_price_from_input(
        u256_arg("sqrt_price_x96", sqrt_price_x96)?,
        u128_arg("liquidity", liquidity)?,
        u256_arg("amount_in", amount_in)?,
        zero_for_one,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// The sqrt price after swapping out `amount_out` (token1 when `zero_for_one`, else token0).
#[pyfunction]
fn get_next_sqrt_price_from_output<'py>(
    py: Python<'py>,
    sqrt_price_x96: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
    amount_out: &Bound<'py, PyAny>,
    zero_for_one: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_next_sqrt_price_from_output(
        u256_arg("sqrt_price_x96", sqrt_price_x96)?,
        u128_arg("liquidity", liquidity)?,
        u256_arg("amount_out", amount_out)?,
        zero_for_one,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// Token0 between two sqrt prices for `liquidity`, rounded up or down.
#[pyfunction]
fn get_amount0_delta<'py>(
    py: Python<'py>,
    sqrt_a: &Bound<'py, PyAny>,
    sqrt_b: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
    round_up: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_amount0_delta(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u128_arg("liquidity", liquidity)?,
        round_up,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// Token1 between two sqrt prices for `liquidity`, rounded up or down.
#[pyfunction]
fn get_amount1_delta<'py>(
    py: Python<'py>,
    sqrt_a: &Bound<'py, PyAny>,
    sqrt_b: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
    round_up: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_amount1_delta(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u128_arg("liquidity", liquidity)?,
        round_up,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// Signed token0 for a liquidity change: added liquidity owes (up, positive), removed is paid
/// (down, negative).
#[pyfunction]
fn get_amount0_delta_signed<'py>(
    py: Python<'py>,
    sqrt_a: &Bound<'py, PyAny>,
    sqrt_b: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_amount0_delta_signed(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        i128_arg("liquidity", liquidity)?,
    );
    signed_out(py, r.map_err(uniswap_error)?)
}

/// Signed token1 for a liquidity change, rounded as `get_amount0_delta_signed`.
#[pyfunction]
fn get_amount1_delta_signed<'py>(
    py: Python<'py>,
    sqrt_a: &Bound<'py, PyAny>,
    sqrt_b: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_amount1_delta_signed(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        i128_arg("liquidity", liquidity)?,
    );
    signed_out(py, r.map_err(uniswap_error)?)
}

/// Liquidity that `amount0` of token0 buys over the range `[sqrt_a, sqrt_b]`.
#[pyfunction]
fn get_liquidity_for_amount0(
    sqrt_a: &Bound<'_, PyAny>,
    sqrt_b: &Bound<'_, PyAny>,
    amount0: &Bound<'_, PyAny>,
) -> PyResult<u128> {
    uni::get_liquidity_for_amount0(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u256_arg("amount0", amount0)?,
    )
    .map_err(uniswap_error)
}

/// Liquidity that `amount1` of token1 buys over the range `[sqrt_a, sqrt_b]`.
#[pyfunction]
fn get_liquidity_for_amount1(
    sqrt_a: &Bound<'_, PyAny>,
    sqrt_b: &Bound<'_, PyAny>,
    amount1: &Bound<'_, PyAny>,
) -> PyResult<u128> {
    uni::get_liquidity_for_amount1(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u256_arg("amount1", amount1)?,
    )
    .map_err(uniswap_error)
}

/// The most liquidity both amounts pay for over `[sqrt_a, sqrt_b]` at `sqrt_price_x96`.
#[pyfunction]
fn get_liquidity_for_amounts(
    sqrt_price_x96: &Bound<'_, PyAny>,
    sqrt_a: &Bound<'_, PyAny>,
    sqrt_b: &Bound<'_, PyAny>,
    amount0: &Bound<'_, PyAny>,
    amount1: &Bound<'_, PyAny>,
) -> PyResult<u128> {
    uni::get_liquidity_for_amounts(
        u256_arg("sqrt_price_x96", sqrt_price_x96)?,
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u256_arg("amount0", amount0)?,
        u256_arg("amount1", amount1)?,
    )
    .map_err(uniswap_error)
}

/// Token0 held by `liquidity` over `[sqrt_a, sqrt_b]` with the price at or below the range.
#[pyfunction]
fn get_amount0_for_liquidity<'py>(
    py: Python<'py>,
    sqrt_a: &Bound<'py, PyAny>,
    sqrt_b: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_amount0_for_liquidity(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u128_arg("liquidity", liquidity)?,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// Token1 held by `liquidity` over `[sqrt_a, sqrt_b]` with the price at or above the range.
#[pyfunction]
fn get_amount1_for_liquidity<'py>(
    py: Python<'py>,
    sqrt_a: &Bound<'py, PyAny>,
    sqrt_b: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::get_amount1_for_liquidity(
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u128_arg("liquidity", liquidity)?,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// `(amount0, amount1)` held by `liquidity` over `[sqrt_a, sqrt_b]` at `sqrt_price_x96`.
#[pyfunction]
fn get_amounts_for_liquidity<'py>(
    py: Python<'py>,
    sqrt_price_x96: &Bound<'py, PyAny>,
    sqrt_a: &Bound<'py, PyAny>,
    sqrt_b: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let (a0, a1) = uni::get_amounts_for_liquidity(
        u256_arg("sqrt_price_x96", sqrt_price_x96)?,
        u256_arg("sqrt_a", sqrt_a)?,
        u256_arg("sqrt_b", sqrt_b)?,
        u128_arg("liquidity", liquidity)?,
    )
    .map_err(uniswap_error)?;
    tuple_out(py, &[a0, a1])
}

/// One swap step toward `sqrt_price_target_x96`: `(sqrt_price_next_x96, amount_in, amount_out,
/// fee_amount)`. `amount_remaining` > 0 is exact input (fee included), < 0 exact output.
#[pyfunction]
fn compute_swap_step<'py>(
    py: Python<'py>,
    sqrt_price_current_x96: &Bound<'py, PyAny>,
    sqrt_price_target_x96: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
    amount_remaining: &Bound<'py, PyAny>,
    fee_pips: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    let s = uni::compute_swap_step(
        u256_arg("sqrt_price_current_x96", sqrt_price_current_x96)?,
        u256_arg("sqrt_price_target_x96", sqrt_price_target_x96)?,
        u128_arg("liquidity", liquidity)?,
        i256_arg("amount_remaining", amount_remaining)?,
        u32_arg("fee_pips", fee_pips)?,
    )
    .map_err(uniswap_error)?;
    tuple_out(py, &[s.sqrt_price_next_x96, s.amount_in, s.amount_out, s.fee_amount])
}

/// Fee growth (Q128, one token) inside `[tick_lower, tick_upper)`, wrapping as the pool does.
#[pyfunction]
fn fee_growth_inside<'py>(
    py: Python<'py>,
    tick_lower: &Bound<'py, PyAny>,
    tick_upper: &Bound<'py, PyAny>,
    tick_current: &Bound<'py, PyAny>,
    fee_growth_global_x128: &Bound<'py, PyAny>,
    lower_outside_x128: &Bound<'py, PyAny>,
    upper_outside_x128: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::fee_growth_inside(
        i32_arg("tick_lower", tick_lower)?,
        i32_arg("tick_upper", tick_upper)?,
        i32_arg("tick_current", tick_current)?,
        u256_arg("fee_growth_global_x128", fee_growth_global_x128)?,
        u256_arg("lower_outside_x128", lower_outside_x128)?,
        u256_arg("upper_outside_x128", upper_outside_x128)?,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// Fees owed to `liquidity`: `(inside - inside_last) * liquidity / 2**128`, the difference wrapping.
#[pyfunction]
fn tokens_owed<'py>(
    py: Python<'py>,
    fee_growth_inside_x128: &Bound<'py, PyAny>,
    fee_growth_inside_last_x128: &Bound<'py, PyAny>,
    liquidity: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let r = uni::tokens_owed(
        u256_arg("fee_growth_inside_x128", fee_growth_inside_x128)?,
        u256_arg("fee_growth_inside_last_x128", fee_growth_inside_last_x128)?,
        u128_arg("liquidity", liquidity)?,
    );
    int_out(py, r.map_err(uniswap_error)?)
}

/// Tick spacing of a standard fee tier: 100 → 1, 500 → 10, 3000 → 60, 10000 → 200.
#[pyfunction]
fn tick_spacing_for_fee(fee_pips: &Bound<'_, PyAny>) -> PyResult<i32> {
    uni::tick_spacing_for_fee(u32_arg("fee_pips", fee_pips)?).map_err(uniswap_error)
}

/// The centre range `(lower, upper)`: `tick_buckets` spacings wide, holding `tick_current`.
#[pyfunction]
fn centre_range(
    tick_current: &Bound<'_, PyAny>,
    tick_spacing: &Bound<'_, PyAny>,
    tick_buckets: &Bound<'_, PyAny>,
) -> PyResult<(i32, i32)> {
    uni::centre_range(
        i32_arg("tick_current", tick_current)?,
        i32_arg("tick_spacing", tick_spacing)?,
        u32_arg("tick_buckets", tick_buckets)?,
    )
    .map_err(uniswap_error)
}

/// Rung `index` (1, 2, ...) above or below the centre: `(lower, upper)`.
#[pyfunction]
fn rung_range(
    centre_lower: &Bound<'_, PyAny>,
    centre_upper: &Bound<'_, PyAny>,
    index: &Bound<'_, PyAny>,
    above: bool,
    tick_spacing: &Bound<'_, PyAny>,
    tick_buckets: &Bound<'_, PyAny>,
    bucket_offset: &Bound<'_, PyAny>,
) -> PyResult<(i32, i32)> {
    uni::rung_range(
        i32_arg("centre_lower", centre_lower)?,
        i32_arg("centre_upper", centre_upper)?,
        u32_arg("index", index)?,
        above,
        i32_arg("tick_spacing", tick_spacing)?,
        u32_arg("tick_buckets", tick_buckets)?,
        u32_arg("bucket_offset", bucket_offset)?,
    )
    .map_err(uniswap_error)
}

fn curve_arg(curve: &str) -> PyResult<FundingCurve> {
    FundingCurve::parse(curve).ok_or_else(|| {
        UniswapMathError::new_err(format!("curve must be one of LINEAR, DECAY, GAUSSIAN, not {curve:?}"))
    })
}

/// Integer weights of rungs `0..max_bots` (0 the centre) for a funding curve.
#[pyfunction]
fn funding_weights<'py>(py: Python<'py>, curve: &str, max_bots: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let w = uni::funding_weights(curve_arg(curve)?, u32_arg("max_bots", max_bots)?).map_err(uniswap_error)?;
    PyList::new(py, w.into_iter().map(|x| int_out(py, x)).collect::<PyResult<Vec<_>>>()?)
}

/// `floor(w_i / sum(w) * total)` per rung: never more than `total` in all.
#[pyfunction]
fn funding_amounts<'py>(
    py: Python<'py>,
    curve: &str,
    max_bots: &Bound<'py, PyAny>,
    total: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let a = uni::funding_amounts(curve_arg(curve)?, u32_arg("max_bots", max_bots)?, u256_arg("total", total)?)
        .map_err(uniswap_error)?;
    PyList::new(py, a.into_iter().map(|x| int_out(py, x)).collect::<PyResult<Vec<_>>>()?)
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(get_sqrt_ratio_at_tick, module)?)?;
    module.add_function(wrap_pyfunction!(get_tick_at_sqrt_ratio, module)?)?;
    module.add_function(wrap_pyfunction!(mul_div, module)?)?;
    module.add_function(wrap_pyfunction!(mul_div_rounding_up, module)?)?;
    module.add_function(wrap_pyfunction!(get_next_sqrt_price_from_amount0_rounding_up, module)?)?;
    module.add_function(wrap_pyfunction!(get_next_sqrt_price_from_amount1_rounding_down, module)?)?;
    module.add_function(wrap_pyfunction!(get_next_sqrt_price_from_input, module)?)?;
    module.add_function(wrap_pyfunction!(get_next_sqrt_price_from_output, module)?)?;
    module.add_function(wrap_pyfunction!(get_amount0_delta, module)?)?;
    module.add_function(wrap_pyfunction!(get_amount1_delta, module)?)?;
    module.add_function(wrap_pyfunction!(get_amount0_delta_signed, module)?)?;
    module.add_function(wrap_pyfunction!(get_amount1_delta_signed, module)?)?;
    module.add_function(wrap_pyfunction!(get_liquidity_for_amount0, module)?)?;
    module.add_function(wrap_pyfunction!(get_liquidity_for_amount1, module)?)?;
    module.add_function(wrap_pyfunction!(get_liquidity_for_amounts, module)?)?;
    module.add_function(wrap_pyfunction!(get_amount0_for_liquidity, module)?)?;
    module.add_function(wrap_pyfunction!(get_amount1_for_liquidity, module)?)?;
    module.add_function(wrap_pyfunction!(get_amounts_for_liquidity, module)?)?;
    module.add_function(wrap_pyfunction!(compute_swap_step, module)?)?;
    module.add_function(wrap_pyfunction!(fee_growth_inside, module)?)?;
    module.add_function(wrap_pyfunction!(tokens_owed, module)?)?;
    module.add_function(wrap_pyfunction!(tick_spacing_for_fee, module)?)?;
    module.add_function(wrap_pyfunction!(centre_range, module)?)?;
    module.add_function(wrap_pyfunction!(rung_range, module)?)?;
    module.add_function(wrap_pyfunction!(funding_weights, module)?)?;
    module.add_function(wrap_pyfunction!(funding_amounts, module)?)?;
    module.add_function(wrap_pyfunction!(backtest::lp_backtest, module)?)?;
    module.add_function(wrap_pyfunction!(backtest::simulate_pool_swaps, module)?)?;
    Ok(())
}
