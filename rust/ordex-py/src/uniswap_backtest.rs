//! `lp_backtest`: the droid's ladder replayed over swaps or a price path, in Rust with the GIL
//! released. Inputs are read into Rust first; the replay runs detached; the result is built after.

use super::{i32_arg, int_out, u128_arg, u256_arg, u32_arg};
use crate::errors::{uniswap_error, UniswapMathError};
use ordex_uniswap::lp_backtest::{Direction, PPB};
use ordex_uniswap::{
    run_backtest, tick_spacing_for_fee, BacktestConfig, Event, FundingCurve, GasUnits, Pool, Snapshot, TriggerType,
    I256, U256,
};
use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyTuple};

fn refuse(msg: String) -> PyErr {
    UniswapMathError::new_err(msg)
}

/// A ratio (Decimal, str, int or float) in parts per billion, exactly from its decimal text.
fn ratio_ppb(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    let text = obj.str()?.to_string();
    parse_ppb(&text)
        .ok_or_else(|| refuse(format!("{name} must be a non-negative decimal with at most 9 places, not {text:?}")))
}

fn parse_ppb(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (mantissa, exp) = match t.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa.as_str(), ""));
    if int.starts_with('-') || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let int = int.trim_start_matches('+');
    let digits = format!("{int}{frac}");
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // value = digits x 10^(exp - frac.len()); in ppb: x 10^9.
    let shift = exp - frac.len() as i32 + 9;
    let mut value: u128 = digits.parse().ok()?;
    if shift >= 0 {
        value = value.checked_mul(10u128.checked_pow(shift as u32)?)?;
    } else {
        let div = 10u128.checked_pow((-shift) as u32)?;
        if value % div != 0 {
            return None;
        }
        value /= div;
    }
    u64::try_from(value).ok()
}

struct Reader<'a, 'py> {
    dict: &'a Bound<'py, PyDict>,
    what: &'static str,
    seen: Vec<&'static str>,
}

impl<'py> Reader<'_, 'py> {
    fn get(&mut self, key: &'static str) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.seen.push(key);
        Ok(self.dict.get_item(key)?.filter(|v| !v.is_none()))
    }

    fn need(&mut self, key: &'static str) -> PyResult<Bound<'py, PyAny>> {
        self.get(key)?.ok_or_else(|| refuse(format!("{} needs '{key}'", self.what)))
    }

    fn finish(self) -> PyResult<()> {
        for key in self.dict.keys() {
            let k: String = key.extract()?;
            if !self.seen.contains(&k.as_str()) {
                return Err(refuse(format!("{} has an unknown key '{k}'", self.what)));
            }
        }
        Ok(())
    }
}

struct Reporting {
    token1_usd: Option<f64>,
    eth_usd: Option<f64>,
}

fn read_config(config: &Bound<'_, PyDict>, events: usize) -> PyResult<(BacktestConfig, Reporting)> {
    let mut r = Reader { dict: config, what: "config", seen: Vec::new() };
    let u32_or = |r: &mut Reader, key: &'static str, default: u32| -> PyResult<u32> {
        r.get(key)?.map_or(Ok(default), |v| u32_arg(key, &v))
    };
    let ppb_or = |r: &mut Reader, key: &'static str, default: u64| -> PyResult<u64> {
        r.get(key)?.map_or(Ok(default), |v| ratio_ppb(key, &v))
    };
    let opt_u256 = |r: &mut Reader, key: &'static str| -> PyResult<Option<U256>> {
        r.get(key)?.map(|v| u256_arg(key, &v)).transpose()
    };
    let opt_u128 = |r: &mut Reader, key: &'static str| -> PyResult<Option<u128>> {
        r.get(key)?.map(|v| u128_arg(key, &v)).transpose()
    };
    let tick_buckets = u32_arg("tick_buckets", &r.need("tick_buckets")?)?;
    let bucket_offset = u32_arg("bucket_offset", &r.need("bucket_offset")?)?;
    let max_bots = u32_arg("max_bots", &r.need("max_bots")?)?;
    let funding = u256_arg("funding", &r.need("funding")?)?;
    let curve: String = r.get("funding_curve")?.map_or(Ok("LINEAR".to_string()), |v| v.extract())?;
    let funding_curve = FundingCurve::parse(&curve)
        .ok_or_else(|| refuse(format!("funding_curve must be one of LINEAR, DECAY, GAUSSIAN, not {curve:?}")))?;
    let trigger: String = r.get("trigger_type")?.map_or(Ok("PRICE".to_string()), |v| v.extract())?;
    let trigger_type = match trigger.as_str() {
        "PRICE" => TriggerType::Price,
        "EMA" => TriggerType::Ema,
        other => return Err(refuse(format!("trigger_type must be PRICE or EMA, not {other:?}"))),
    };
    let ema_length = u32_or(&mut r, "ema_length", 10)?;
    let falling_ppb = ppb_or(&mut r, "falling_trigger", 30_000_000)?;
    let rising_ppb = ppb_or(&mut r, "rising_trigger", 50_000_000)?;
    let derivative_ppb = ppb_or(&mut r, "derivative_threshold", 10_000_000)?;
    let margin_ppb = ppb_or(&mut r, "ladder_margin", 0)?;
    if falling_ppb > PPB {
        return Err(refuse("falling_trigger must be at most 1".into()));
    }
    let min_sqrt_price_x96 = opt_u256(&mut r, "min_sqrt_price_x96")?;
    let max_sqrt_price_x96 = opt_u256(&mut r, "max_sqrt_price_x96")?;
    let mut gas = GasUnits::default();
    if let Some(units) = r.get("gas_units")? {
        let units = units.cast::<PyDict>().map_err(|_| refuse("gas_units must be a dict".into()))?;
        let mut g = Reader { dict: units, what: "gas_units", seen: Vec::new() };
        for (key, slot) in [
            ("mint", &mut gas.mint),
            ("decrease", &mut gas.decrease),
            ("collect", &mut gas.collect),
            ("burn", &mut gas.burn),
            ("approve", &mut gas.approve),
        ] {
            if let Some(v) = g.get(key)? {
                *slot = v
                    .extract::<u64>()
                    .map_err(|_| refuse(format!("gas_units.{key} must be an integer in [0, 2**64)")))?;
            }
        }
        g.finish()?;
    }
    let gas_price_wei = opt_u128(&mut r, "gas_price_wei")?.unwrap_or(20_000_000_000);
    let max_gas_price_wei = opt_u128(&mut r, "max_gas_price_wei")?;
    let gas_budget_wei = opt_u128(&mut r, "gas_budget_wei")?;
    let start_amount0 = opt_u256(&mut r, "amount0")?.unwrap_or(U256::ZERO);
    let start_amount1 = opt_u256(&mut r, "amount1")?.unwrap_or(U256::ZERO);
    let cycle_every = u32_or(&mut r, "cycle_every", 1)?;
    let default_snapshots = u32::try_from(events.div_ceil(1000).max(1)).unwrap_or(u32::MAX);
    let snapshot_every = u32_or(&mut r, "snapshot_every", default_snapshots)?;
    let float_or_none = |r: &mut Reader, key: &'static str| -> PyResult<Option<f64>> {
        r.get(key)?.map(|v| v.call_method0("__float__")?.extract::<f64>()).transpose()
    };
    let reporting =
        Reporting { token1_usd: float_or_none(&mut r, "token1_usd")?, eth_usd: float_or_none(&mut r, "eth_usd")? };
    r.finish()?;
    Ok((
        BacktestConfig {
            tick_buckets,
            bucket_offset,
            max_bots,
            funding,
            funding_curve,
            trigger_type,
            ema_length,
            falling_ppb,
            rising_ppb,
            derivative_ppb,
            margin_ppb,
            min_sqrt_price_x96,
            max_sqrt_price_x96,
            gas,
            gas_price_wei,
            max_gas_price_wei,
            gas_budget_wei,
            start_amount0,
            start_amount1,
            cycle_every,
            snapshot_every,
        },
        reporting,
    ))
}

fn read_pool(state: &Bound<'_, PyDict>) -> PyResult<Pool> {
    let mut r = Reader { dict: state, what: "pool_state", seen: Vec::new() };
    let sqrt_price = u256_arg("sqrt_price_x96", &r.need("sqrt_price_x96")?)?;
    let fee = u32_arg("fee", &r.need("fee")?)?;
    let spacing = match r.get("tick_spacing")? {
        Some(v) => i32_arg("tick_spacing", &v)?,
        None => tick_spacing_for_fee(fee).map_err(uniswap_error)?,
    };
    let mut pool = Pool::new(fee, spacing, sqrt_price).map_err(uniswap_error)?;
    if let Some(positions) = r.get("positions")? {
        for item in positions.try_iter()? {
            let item = item?;
            let t = item
                .cast::<PyTuple>()
                .map_err(|_| refuse("positions are (tick_lower, tick_upper, liquidity) tuples".into()))?;
            if t.len() != 3 {
                return Err(refuse("positions are (tick_lower, tick_upper, liquidity) tuples".into()));
            }
            let lower = i32_arg("tick_lower", &t.get_item(0)?)?;
            let upper = i32_arg("tick_upper", &t.get_item(1)?)?;
            let liquidity = u128_arg("liquidity", &t.get_item(2)?)?;
            pool.mint((0, lower, upper), liquidity).map_err(uniswap_error)?;
        }
    }
    r.finish()?;
    Ok(pool)
}

/// Swaps from a buffer of int64 pairs, a sequence of `(amount_specified, zero_for_one)`, or a
/// sequence of sqrtPriceX96 targets (a price path).
fn read_events(py: Python<'_>, swaps: &Bound<'_, PyAny>) -> PyResult<Vec<Event>> {
    if let Ok(buffer) = PyBuffer::<i64>::get(swaps) {
        let flat = buffer.to_vec(py)?;
        if flat.len() % 2 != 0 {
            return Err(refuse("a swaps buffer holds (amount_specified, zero_for_one) int64 pairs".into()));
        }
        return flat
            .chunks_exact(2)
            .map(|pair| match pair[1] {
                0 | 1 if pair[0] != 0 => Ok(Event::Swap { amount: I256::from(pair[0]), zero_for_one: pair[1] == 1 }),
                _ => Err(refuse("each swap needs a non-zero amount and zero_for_one 0 or 1".into())),
            })
            .collect();
    }
    let mut events = Vec::new();
    for item in swaps.try_iter()? {
        let item = item?;
        if item.is_instance_of::<PyInt>() {
            events.push(Event::PriceTo(u256_arg("sqrt_price_x96", &item)?));
            continue;
        }
        let pair = item
            .cast::<PyTuple>()
            .map_err(|_| refuse("swaps are (amount_specified, zero_for_one) tuples or sqrtPriceX96 ints".into()))?;
        if pair.len() != 2 {
            return Err(refuse("swaps are (amount_specified, zero_for_one) tuples".into()));
        }
        let amount = super::i256_arg("amount_specified", &pair.get_item(0)?)?;
        if amount == I256::ZERO {
            return Err(refuse("amount_specified must not be zero".into()));
        }
        events.push(Event::Swap { amount, zero_for_one: pair.get_item(1)?.is_truthy()? });
    }
    Ok(events)
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Up => "up",
        Direction::Down => "down",
        Direction::Out => "out",
    }
}

fn ratio(a: U256, b: U256) -> f64 {
    a.as_f64() / b.as_f64()
}

fn snapshot_out<'py>(py: Python<'py>, s: &Snapshot, rep: &Reporting) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("index", s.index)?;
    d.set_item("sqrt_price_x96", int_out(py, s.sqrt_price_x96)?)?;
    d.set_item("tick", s.tick)?;
    d.set_item("aum_token1", int_out(py, s.aum_token1)?)?;
    d.set_item("hodl_token1", int_out(py, s.hodl_token1)?)?;
    d.set_item("impermanent_loss_token1", super::signed_out(py, s.impermanent_loss_token1())?)?;
    d.set_item("positions0", int_out(py, s.positions0)?)?;
    d.set_item("positions1", int_out(py, s.positions1)?)?;
    d.set_item("wallet0", int_out(py, s.wallet0)?)?;
    d.set_item("wallet1", int_out(py, s.wallet1)?)?;
    d.set_item("fees0", int_out(py, s.fees0)?)?;
    d.set_item("fees1", int_out(py, s.fees1)?)?;
    d.set_item("gas_wei", s.gas_wei)?;
    // Display values (floats) from the exact integers above.
    d.set_item("aum_usd", rep.token1_usd.map(|f| s.aum_token1.as_f64() * f))?;
    d.set_item("gas_usd", rep.eth_usd.map(|f| s.gas_wei as f64 / 1e18 * f))?;
    Ok(d)
}

/// Replays swaps (or a price path) through a Uniswap v3 pool with a droid's ladder acting on it.
#[pyfunction]
pub fn lp_backtest<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyDict>,
    swaps: &Bound<'py, PyAny>,
    pool_state: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let events = read_events(py, swaps)?;
    let (cfg, rep) = read_config(config, events.len())?;
    let mut pool = read_pool(pool_state)?;
    let result = py.detach(|| run_backtest(&cfg, &mut pool, &events)).map_err(uniswap_error)?;

    let out = PyDict::new(py);
    let snaps = result.snapshots.iter().map(|s| snapshot_out(py, s, &rep)).collect::<PyResult<Vec<_>>>()?;
    out.set_item("snapshots", PyList::new(py, snaps)?)?;
    let f = &result.final_snapshot;
    out.set_item("final", snapshot_out(py, f, &rep)?)?;
    let rebalances = PyList::empty(py);
    for rb in &result.rebalances {
        let d = PyDict::new(py);
        d.set_item("index", rb.index)?;
        d.set_item("reason", ["initial", "falling", "rising"][usize::from(rb.reason.min(2))])?;
        d.set_item("direction", direction_name(rb.direction))?;
        d.set_item("centre", (rb.centre.0, rb.centre.1))?;
        d.set_item("closed", rb.closed)?;
        d.set_item("minted", rb.minted)?;
        rebalances.append(d)?;
    }
    out.set_item("rebalances", rebalances)?;
    let c = &result.counts;
    let counts = PyDict::new(py);
    for (k, v) in [
        ("swaps", c.swaps),
        ("swaps_refused", c.swaps_refused),
        ("ticks_crossed", c.ticks_crossed),
        ("cycles", c.cycles),
        ("rebalances_falling", u64::from(c.rebalances_falling)),
        ("rebalances_rising", u64::from(c.rebalances_rising)),
        ("initial_builds", u64::from(c.initial_builds)),
        ("mints", u64::from(c.mints)),
        ("closes", u64::from(c.closes)),
        ("transactions", u64::from(c.transactions)),
        ("blocked_band", c.blocked_band),
        ("blocked_gas", c.blocked_gas),
    ] {
        counts.set_item(k, v)?;
    }
    out.set_item("counts", counts)?;
    out.set_item("fees0", int_out(py, f.fees0)?)?;
    out.set_item("fees1", int_out(py, f.fees1)?)?;
    out.set_item("gas_wei", f.gas_wei)?;
    out.set_item("impermanent_loss_token1", super::signed_out(py, f.impermanent_loss_token1())?)?;
    out.set_item("pool_fees0", int_out(py, result.pool_fees0)?)?;
    out.set_item("pool_fees1", int_out(py, result.pool_fees1)?)?;
    let pool_out = PyDict::new(py);
    pool_out.set_item("sqrt_price_x96", int_out(py, pool.sqrt_price_x96)?)?;
    pool_out.set_item("tick", pool.tick)?;
    pool_out.set_item("liquidity", pool.liquidity)?;
    pool_out.set_item("fee_growth_global0_x128", int_out(py, pool.fee_growth_global0_x128)?)?;
    pool_out.set_item("fee_growth_global1_x128", int_out(py, pool.fee_growth_global1_x128)?)?;
    out.set_item("pool", pool_out)?;
    // Display ratios (floats): AUM against holding, from the exact integers.
    out.set_item(
        "aum_vs_hodl",
        if f.hodl_token1 > U256::ZERO { Some(ratio(f.aum_token1, f.hodl_token1)) } else { None },
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_ppb;

    #[test]
    fn ratios_parse_exactly() {
        assert_eq!(parse_ppb("0.03"), Some(30_000_000));
        assert_eq!(parse_ppb("1"), Some(1_000_000_000));
        assert_eq!(parse_ppb("1E-3"), Some(1_000_000));
        assert_eq!(parse_ppb("0.0000000001"), None);
        assert_eq!(parse_ppb("-0.1"), None);
        assert_eq!(parse_ppb("abc"), None);
    }
}

/// Swaps through a pool built from `pool_state` (as `lp_backtest` takes it), without a droid:
/// per swap `(amount0, amount1, sqrt_price_x96, tick, liquidity)` after it, signed as the pool
/// returns them (positive paid in). Each swap is `(amount_specified, zero_for_one)` or
/// `(amount_specified, zero_for_one, sqrt_price_limit_x96)`.
#[pyfunction]
pub fn simulate_pool_swaps<'py>(
    py: Python<'py>,
    pool_state: &Bound<'py, PyDict>,
    swaps: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let mut pool = read_pool(pool_state)?;
    let mut input = Vec::new();
    for item in swaps.try_iter()? {
        let item = item?;
        let t = item
            .cast::<PyTuple>()
            .map_err(|_| refuse("swaps are (amount_specified, zero_for_one[, limit]) tuples".into()))?;
        if !(2..=3).contains(&t.len()) {
            return Err(refuse("swaps are (amount_specified, zero_for_one[, limit]) tuples".into()));
        }
        let amount = super::i256_arg("amount_specified", &t.get_item(0)?)?;
        let zero_for_one = t.get_item(1)?.is_truthy()?;
        let limit = if t.len() == 3 {
            u256_arg("sqrt_price_limit_x96", &t.get_item(2)?)?
        } else {
            Pool::no_limit(zero_for_one)
        };
        input.push((amount, zero_for_one, limit));
    }
    let results = py
        .detach(|| {
            input
                .iter()
                .map(|&(amount, zero_for_one, limit)| {
                    pool.swap(zero_for_one, amount, limit).map(|r| (r, pool.sqrt_price_x96, pool.tick, pool.liquidity))
                })
                .collect::<ordex_uniswap::Result<Vec<_>>>()
        })
        .map_err(uniswap_error)?;
    let rows = results
        .iter()
        .map(|(r, sp, tick, liquidity)| {
            PyTuple::new(
                py,
                [
                    super::signed_out(py, r.amount0)?,
                    super::signed_out(py, r.amount1)?,
                    int_out(py, *sp)?,
                    tick.into_pyobject(py)?.into_any(),
                    liquidity.into_pyobject(py)?.into_any(),
                ],
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, rows)
}
