//! No look-ahead: what a run does up to bar k depends only on bars 0..=k. For random flows and
//! candles, every bar after a cut k is shuffled, replaced by unrelated prices or dropped, and the
//! runs must agree on every bar up to k: the fills, the orders queued (the signals), cash,
//! position, equity, the trades closed by k, and the entry of a trade still open at k.
//! An order queued at k itself fills at k+1's open, so its price may differ; the signal may not.

mod common;

use common::gen;
use common::*;
use ordex_flow::{indicator, Outcome, RunOptions};
use proptest::prelude::*;
use serde_json::json;

/// xorshift64*: a small deterministic generator for shuffles.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// `series` with the bars after `k` in a random order (timestamps stay in place).
fn shuffled_after(series: &Series, k: usize, seed: u64) -> Series {
    let mut order: Vec<usize> = (k + 1..series.len()).collect();
    let mut state = seed | 1;
    for i in (1..order.len()).rev() {
        let j = (next(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut out = series.clone();
    for (slot, &from) in (k + 1..series.len()).zip(&order) {
        out.open[slot] = series.open[from];
        out.high[slot] = series.high[from];
        out.low[slot] = series.low[from];
        out.close[slot] = series.close[from];
        out.volume[slot] = series.volume[from];
    }
    out
}

/// `series` with the bars after `k` taken from `other` (any other prices, gaps included).
fn replaced_after(series: &Series, k: usize, other: &Series) -> Series {
    let mut out = series.clone();
    for slot in k + 1..series.len() {
        let from = slot % other.len();
        out.open[slot] = other.open[from];
        out.high[slot] = other.high[from];
        out.low[slot] = other.low[from];
        out.close[slot] = other.close[from];
        out.volume[slot] = other.volume[from] + 1.0;
    }
    out
}

fn closed_by(out: &Outcome, k: usize) -> Vec<ordex_flow::account::Trade> {
    out.trades.iter().filter(|t| t.exit_bar <= k).cloned().collect()
}

/// Both runs agree on everything up to bar `k`.
fn same_until(recipe: &Recipe, a: &Series, b: &Series, k: usize) -> Result<(), TestCaseError> {
    let plan = recipe.flow().plan();
    let (ra, oa) = run_steps(&plan, a, &RunOptions::default());
    let (rb, ob) = run_steps(&plan, b, &RunOptions::default());
    for i in 0..=k {
        prop_assert_eq!(&ra[i], &rb[i], "bar {} of a cut at {}", i, k);
    }
    prop_assert_eq!(&oa.equity[..=k], &ob.equity[..=k]);
    prop_assert_eq!(closed_by(&oa, k), closed_by(&ob, k));
    // A trade open across the cut was entered identically (same bar and side; with one entry
    // allowed, the same price and quantity too) whether it closes later or stays open.
    let spanning = |o: &Outcome| o.trades.iter().find(|t| t.entry_bar <= k && t.exit_bar > k).cloned();
    if let (Some(ta), Some(tb)) = (spanning(&oa), spanning(&ob)) {
        prop_assert_eq!((ta.entry_bar, ta.side, ta.entry_ts), (tb.entry_bar, tb.side, tb.entry_ts));
        if recipe.max_entries == 1 {
            prop_assert_eq!((ta.entry_price, ta.qty), (tb.entry_price, tb.qty));
        }
    }
    if ra[k].position.is_some() {
        prop_assert!(spanning(&oa).is_some() || oa.open_position);
        prop_assert!(spanning(&ob).is_some() || ob.open_position);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn shuffling_the_bars_after_k_changes_nothing_up_to_k(
        series in gen::series(30..140),
        recipe in gen::recipe(),
        cut in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let k = cut.index(series.len() - 1);
        same_until(&recipe, &series, &shuffled_after(&series, k, seed), k)?;
    }

    #[test]
    fn new_prices_after_k_change_nothing_up_to_k(
        series in gen::series(30..140),
        other in gen::series(10..60),
        recipe in gen::recipe(),
        cut in any::<prop::sample::Index>(),
    ) {
        let k = cut.index(series.len() - 1);
        same_until(&recipe, &series, &replaced_after(&series, k, &other), k)?;
    }

    #[test]
    fn a_run_over_the_first_k_bars_is_the_start_of_the_full_run(
        series in gen::series(30..140),
        recipe in gen::recipe(),
        cut in any::<prop::sample::Index>(),
    ) {
        let k = cut.index(series.len());
        let plan = recipe.flow().plan();
        let (full, full_out) = run_steps(&plan, &series, &RunOptions::default());
        let (part, part_out) = run_steps(&plan, &series.prefix(k + 1), &RunOptions::default());
        prop_assert_eq!(&full[..=k], &part[..]);
        prop_assert_eq!(&full_out.equity[..=k], &part_out.equity[..]);
        prop_assert_eq!(closed_by(&full_out, k), part_out.trades);
    }

    #[test]
    fn indicator_values_up_to_k_ignore_later_bars(
        series in gen::series(30..120),
        cut in any::<prop::sample::Index>(),
        seed in any::<u64>(),
        period in 2u32..9,
    ) {
        let k = cut.index(series.len() - 1);
        let other = shuffled_after(&series, k, seed);
        let cases = [
            ("indicator.sma", json!({"period": period})),
            ("indicator.ema", json!({"period": period})),
            ("indicator.rsi", json!({"period": period})),
            ("indicator.atr", json!({"period": period})),
            ("indicator.bollinger", json!({"period": period, "stdDev": 1.5})),
            ("indicator.macd", json!({"fast": period, "slow": period + 3, "signal": 3})),
        ];
        for (type_name, params) in cases {
            let params = params.as_object().unwrap().clone();
            let a = indicator(type_name, &params, &series.candles()).unwrap();
            let b = indicator(type_name, &params, &other.candles()).unwrap();
            for ((port, va), (_, vb)) in a.iter().zip(&b) {
                for i in 0..=k {
                    prop_assert!(va[i].to_bits() == vb[i].to_bits(), "{}.{} at {} (cut {})", type_name, port, i, k);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The backtest evaluates nodes over blocks of bars before it settles them: series of several
    /// blocks, cut anywhere or right at a block boundary (1,024 bars in the current code).
    #[test]
    fn block_backtests_do_not_look_ahead(
        series in gen::series(1000..2600),
        recipe in gen::recipe(),
        cut in any::<prop::sample::Index>(),
        near_boundary in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let n = series.len();
        let k = if near_boundary { (1021 + cut.index(5)).min(n - 2) } else { cut.index(n - 1) };
        let plan = recipe.flow().plan();
        let full = run(&plan, &series);
        let shuffled = run(&plan, &shuffled_after(&series, k, seed));
        let prefix = run(&plan, &series.prefix(k + 1));
        prop_assert_eq!(&full.equity[..=k], &shuffled.equity[..=k]);
        prop_assert_eq!(&full.equity[..=k], &prefix.equity[..]);
        prop_assert_eq!(closed_by(&full, k), closed_by(&shuffled, k));
        prop_assert_eq!(closed_by(&full, k), prefix.trades);
    }
}

#[test]
fn a_signal_does_not_see_the_crash_that_follows_it() {
    // The SMA(3) crossover of indicators.rs: the close crosses above the SMA at bar 5 and the buy
    // fills at bar 6's open. With bars 6.. replaced by a crash (open 6, low 5), the buy is still
    // queued at bar 5 and fills at the crash's open 6; the close crosses back below at bar 6
    // (5 < (8 + 12 + 5)/3) and the position is closed at bar 7's open 6.
    let plan = sma_crossover(3).plan();
    let mut bars = vec![
        (10.0, 10.0, 10.0, 10.0),
        (10.0, 10.0, 10.0, 10.0),
        (10.0, 10.0, 10.0, 10.0),
        (10.0, 10.0, 9.0, 9.0),
        (9.0, 9.0, 8.0, 8.0),
        (8.5, 12.0, 8.5, 12.0),
    ];
    let calm = [(12.5, 13.0, 12.0, 13.0), (12.8, 12.8, 11.0, 11.0), (10.5, 10.5, 9.0, 9.0)];
    let crash = [(6.0, 6.0, 5.0, 5.0), (6.0, 6.0, 5.0, 5.5), (5.5, 5.5, 5.0, 5.0)];
    bars.extend(calm);
    let calm_out = run(&plan, &Series::ohlc(&bars));
    bars.truncate(6);
    bars.extend(crash);
    let crash_out = run(&plan, &Series::ohlc(&bars));
    assert_eq!(rows(&calm_out.trades), vec![row(6, "12.5", 8, "10.5", "signal")]);
    assert_eq!(rows(&crash_out.trades), vec![row(6, "6", 7, "6", "signal")]);
    assert_eq!(calm_out.equity[..6], crash_out.equity[..6]);
}
