//! Checks of the streams and of the adapters; `cargo test --release` in this package.

use crate::adapters::matchcore::MatchcoreAdapter;
use crate::adapters::orderbook_rs::OrderbookRsAdapter;
use crate::adapters::ordex::OrdexAdapter;
use crate::adapters::EngineAdapter;
use crate::workload::{self, Op, Side, Workload};
use crate::{compare_trades, recorded_trades};

fn all_engines_agree(w: &Workload) {
    let ordex = recorded_trades(OrdexAdapter::new(true), &w.ops);
    assert!(ordex.len() > 100, "{}: the stream should trade, got {} fills", w.name, ordex.len());
    let matchcore = recorded_trades(MatchcoreAdapter::new(true), &w.ops);
    assert_eq!(compare_trades(&ordex, &matchcore).first_difference, None, "matchcore on {}", w.name);
    let orderbook_rs = recorded_trades(OrderbookRsAdapter::new(true), &w.ops);
    assert_eq!(compare_trades(&ordex, &orderbook_rs).first_difference, None, "orderbook-rs on {}", w.name);
}

#[test]
fn engines_fill_the_harness_mix_alike() {
    all_engines_agree(&workload::harness_mix(60_000, 7));
}

#[test]
fn engines_fill_the_exchange_core_mix_alike() {
    all_engines_agree(&workload::exchange_core_mix(60_000, 7));
}

#[test]
fn streams_are_deterministic() {
    let a = workload::harness_mix(20_000, 3);
    let b = workload::harness_mix(20_000, 3);
    assert_eq!(format!("{:?}", a.ops), format!("{:?}", b.ops));
    let c = workload::harness_mix(20_000, 4);
    assert_ne!(format!("{:?}", a.ops), format!("{:?}", c.ops));
}

#[test]
fn harness_mix_has_the_harness_shape() {
    let w = workload::harness_mix(200_000, 11);
    let gtc = (w.news - w.iocs) as f64;
    let ioc_share = w.iocs as f64 / w.news as f64;
    assert!((0.13..0.17).contains(&ioc_share), "IOC share of new orders {ioc_share}");
    assert!(w.cancels as f64 / gtc > 0.88, "cancelled share of GTC orders {}", w.cancels as f64 / gtc);
    let modified = w.modifies as f64 / w.news as f64;
    assert!((0.17..0.23).contains(&modified), "modified share of orders {modified}");
}

#[test]
fn exchange_core_mix_has_its_published_shares() {
    let w = workload::exchange_core_mix(200_000, 11);
    let pct = |n: usize| 100.0 * n as f64 / w.ops.len() as f64;
    for (what, got, want) in [
        ("GTC", pct(w.news - w.iocs), 9.0),
        ("IOC", pct(w.iocs), 3.0),
        ("cancel", pct(w.cancels), 6.0),
        ("move", pct(w.modifies), 82.0),
    ] {
        assert!((got - want).abs() < 1.0, "{what}: {got:.2}% instead of {want}%");
    }
    assert!((800.0..1_200.0).contains(&w.resting_mean), "resting orders {}", w.resting_mean);
}

#[test]
fn ids_are_message_positions() {
    let w = workload::harness_mix(10_000, 5);
    for (i, op) in w.ops.iter().enumerate() {
        if let Op::New { id, .. } = *op {
            assert_eq!(id, i as u64 + 1);
        }
    }
}

/// The behaviour `ReferenceBook::cap_crossing_qty` keeps out of the streams. Should a matchcore
/// release stop trading past the limit, this fails and the cap can go.
#[test]
fn matchcore_fills_past_the_limit_price() {
    let new = |id, side, price, qty| Op::New { id, account: 1, side, price, qty, ioc: false };
    let ops = [
        new(1, Side::Sell, 100, 10),
        new(2, Side::Sell, 101, 10),
        new(3, Side::Sell, 102, 10),
        new(4, Side::Buy, 100, 25),
    ];
    let ordex = recorded_trades(OrdexAdapter::new(true), &ops);
    assert_eq!(ordex, vec![(4, 1, 100, 10)]);
    let mut matchcore = MatchcoreAdapter::new(true);
    for op in &ops {
        matchcore.apply(op);
    }
    assert_eq!(matchcore.trades(), vec![(4, 1, 100, 10), (4, 2, 101, 10), (4, 3, 102, 5)]);
}

/// A dense random stream without the generators' care: cancels and modifies of orders that may be
/// gone, crossing orders of any size, IOCs that may not cross. orderbook-rs keeps to limit prices,
/// so it must fill exactly like ordex here (matchcore would not, see above).
#[test]
fn ordex_and_orderbook_rs_agree_on_unshaped_streams() {
    use crate::workload::Rng;
    use std::collections::HashMap;
    for seed in 1..12 {
        let mut rng = Rng::new(seed);
        let mut ops = Vec::new();
        // Last price the stream gave each order, and its account.
        let mut known: HashMap<u64, (i64, u64)> = HashMap::new();
        for id in 1..=20_000u64 {
            let roll = rng.below(100);
            let target = 1 + rng.below(id);
            match known.get(&target).copied() {
                Some((_, account)) if (50..75).contains(&roll) => ops.push(Op::Cancel { id: target, account }),
                Some((old, account)) if roll >= 75 => {
                    let new_price = if rng.chance(30) { old } else { 990 + rng.below(21) as i64 };
                    let new_qty = 1 + rng.below(20) as i64;
                    known.insert(target, (new_price, account));
                    let price_changed = new_price != old;
                    ops.push(Op::Modify { id: target, account, new_price, new_qty, price_changed });
                }
                _ => {
                    let (account, side) = (1 + rng.below(5), rng.side());
                    let (price, qty) = (990 + rng.below(21) as i64, 1 + rng.below(20) as i64);
                    known.insert(id, (price, account));
                    ops.push(Op::New { id, account, side, price, qty, ioc: roll < 10 });
                }
            }
        }
        let ordex = recorded_trades(OrdexAdapter::new(true), &ops);
        let orderbook_rs = recorded_trades(OrderbookRsAdapter::new(true), &ops);
        assert!(ordex.len() > 1_000, "seed {seed}: only {} fills", ordex.len());
        let check = compare_trades(&ordex, &orderbook_rs);
        assert_eq!(check.first_difference, None, "seed {seed}");
    }
}
