//! Property tests on random command streams: the book is never crossed and its structure holds
//! (FIFO at every level), quantity is conserved, positions sum to zero (whatever mix of orders,
//! liquidations and deleveraging), funding sums to zero, and snapshot + replay equals replay from
//! scratch.

mod common;

use common::perp;
use ordex_engine::*;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Debug)]
enum Op {
    Place { account: u64, side: bool, kind: u8, tif: u8, price: i64, qty: i64, flags: u8, stp: u8, trigger: i64 },
    Cancel { pick: usize },
    Amend { pick: usize, price: Option<i64>, qty: Option<i64> },
    Time { dt: u64 },
    Mark { price: i64 },
    CancelAll { account: u64 },
    Liquidate { account: u64, side: bool, qty: i64, price: i64 },
    Deleverage { account: u64, counterparty: u64, side: bool, qty: i64, price: i64 },
    Funding { dt: u64, rate: i64, mark: i64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0u64..4, any::<bool>(), 0u8..10, 0u8..8, 90i64..111, 1i64..12, any::<u8>(), 0u8..8, 85i64..116)
            .prop_map(|(account, side, kind, tif, price, qty, flags, stp, trigger)| Op::Place {
                account, side, kind, tif, price, qty, flags, stp, trigger
            }),
        3 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        3 => (any::<usize>(), proptest::option::of(90i64..111), proptest::option::of(1i64..12))
            .prop_map(|(pick, price, qty)| Op::Amend { pick, price, qty }),
        1 => (1u64..20).prop_map(|dt| Op::Time { dt }),
        1 => (88i64..113).prop_map(|price| Op::Mark { price }),
        1 => (0u64..4).prop_map(|account| Op::CancelAll { account }),
        2 => (0u64..4, any::<bool>(), 1i64..12, 85i64..116)
            .prop_map(|(account, side, qty, price)| Op::Liquidate { account, side, qty, price }),
        2 => (0u64..4, 0u64..4, any::<bool>(), 1i64..12, 85i64..116)
            .prop_map(|(account, counterparty, side, qty, price)| Op::Deleverage { account, counterparty, side, qty, price }),
        1 => (0u64..3, -500_000i64..500_000, 88i64..113).prop_map(|(dt, rate, mark)| Op::Funding { dt, rate, mark }),
    ]
}

/// Turns ops into commands with unique order ids; cancels and amends pick among earlier ids.
fn commands(ops: &[Op]) -> Vec<Command> {
    let mut placed: Vec<(u64, u64)> = Vec::new();
    let mut now = 0;
    let mut interval = 0;
    let side_of = |buy: bool| if buy { Side::Buy } else { Side::Sell };
    ops.iter()
        .map(|op| match *op {
            Op::Place { account, side, kind, tif, price, qty, flags, stp, trigger } => {
                let id = placed.len() as u64 + 1;
                placed.push((id, account));
                let side = if side { Side::Buy } else { Side::Sell };
                let order_type = match kind {
                    0..=5 => OrderType::Limit,
                    6 => OrderType::Market,
                    7 => OrderType::StopLoss,
                    8 => OrderType::StopLossLimit,
                    _ => OrderType::TakeProfitLimit,
                };
                let market_like = !order_type.has_limit_price();
                let time_in_force = match (market_like, tif) {
                    (true, t) if t % 2 == 0 => TimeInForce::Ioc,
                    (true, _) => TimeInForce::Fok,
                    (false, 0..=3) => TimeInForce::Gtc,
                    (false, 4) => TimeInForce::Ioc,
                    (false, 5) => TimeInForce::Fok,
                    (false, _) => TimeInForce::Gtd,
                };
                Command::Place(NewOrder {
                    order_id: id,
                    account,
                    side,
                    order_type,
                    time_in_force,
                    price: if market_like && flags & 8 == 0 { None } else { Some(price) },
                    qty,
                    trigger_price: order_type.is_conditional().then_some(trigger),
                    trigger_by: if flags & 16 != 0 { TriggerBy::MarkPrice } else { TriggerBy::LastPrice },
                    expire_at: (time_in_force == TimeInForce::Gtd).then_some(now + 1 + u64::from(flags % 30)),
                    post_only: flags & 1 != 0 && !market_like && flags & 4 == 0,
                    reduce_only: flags & 2 != 0 && flags & 32 != 0,
                    stp: StpMode::ALL[usize::from(stp) % 4],
                    client_order_id: (flags & 64 != 0).then(|| ClientOrderId::new(&format!("c{}", flags % 5)).unwrap()),
                })
            }
            Op::Cancel { pick } if !placed.is_empty() => {
                let (order_id, account) = placed[pick % placed.len()];
                Command::Cancel { order_id, account }
            }
            Op::Amend { pick, price, qty } if !placed.is_empty() => {
                let (order_id, account) = placed[pick % placed.len()];
                Command::Amend { order_id, account, price, qty }
            }
            Op::Time { dt } => {
                now += dt;
                Command::AdvanceTime { now }
            }
            Op::Mark { price } => Command::SetMarkPrice { price },
            Op::CancelAll { account } => Command::CancelAll { account },
            Op::Liquidate { account, side, qty, price } => {
                let order_id = placed.len() as u64 + 1;
                placed.push((order_id, account));
                Command::Liquidate { order_id, account, side: side_of(side), qty, price }
            }
            Op::Deleverage { account, counterparty, side, qty, price } => {
                Command::Deleverage { account, counterparty, side: side_of(side), qty, price }
            }
            Op::Funding { dt, rate, mark } => {
                // dt 0 repeats the last interval: it must pay nothing.
                interval += dt;
                Command::Funding { interval, rate: Rate(rate), mark }
            }
            _ => Command::AdvanceTime { now },
        })
        .collect()
}

/// Follows every order's open quantity through the events and checks each step adds up.
fn check_conservation(e: &Engine, events: &[Event]) -> Result<(), TestCaseError> {
    let mut open: HashMap<u64, i64> = HashMap::new();
    let take = |id: u64, qty: i64, open: &mut HashMap<u64, i64>| -> Result<(), TestCaseError> {
        let left = open.get_mut(&id).ok_or_else(|| TestCaseError::fail(format!("trade on unknown {id}")))?;
        prop_assert!(*left >= qty, "order {} filled beyond its quantity", id);
        *left -= qty;
        if *left == 0 {
            open.remove(&id);
        }
        Ok(())
    };
    for ev in events {
        match *ev {
            Event::Accepted { order_id, qty, .. } | Event::Liquidation { order_id, qty, .. } => {
                open.insert(order_id, qty);
            }
            Event::Trade { taker_order_id, maker_order_id, qty, .. } => {
                prop_assert!(qty > 0);
                take(taker_order_id, qty, &mut open)?;
                take(maker_order_id, qty, &mut open)?;
            }
            Event::Amended { order_id, qty, .. } => {
                prop_assert!(open.contains_key(&order_id));
                open.insert(order_id, qty);
            }
            Event::Cancelled { order_id, remaining, .. } | Event::Expired { order_id, remaining, .. } => {
                prop_assert_eq!(open.remove(&order_id), Some(remaining), "order {}", order_id);
            }
            _ => {}
        }
    }
    prop_assert_eq!(open.len(), e.resting_orders() + e.untriggered_orders());
    for (id, qty) in open {
        prop_assert_eq!(e.order(id).map(|o| o.remaining), Some(qty), "order {}", id);
    }
    Ok(())
}

/// What a liquidation, a deleveraging or a funding command may do to the positions.
fn check_perp_command(
    e: &Engine,
    cmd: &Command,
    before: &[i128],
    events: &[Event],
    settled: &mut Option<u64>,
) -> Result<(), TestCaseError> {
    let after: Vec<i128> = (0..4).map(|a| e.position(a)).collect();
    match *cmd {
        Command::Liquidate { account, .. } => {
            let (b, a) = (before[account as usize], after[account as usize]);
            // Only ever closes: never grows, never flips.
            prop_assert!(a.abs() <= b.abs() && a * b >= 0, "liquidation moved {} to {}", b, a);
            if events.iter().any(|ev| matches!(ev, Event::Liquidation { .. })) {
                prop_assert!(e.orders_of(account).is_empty(), "orders left after liquidating {}", account);
            }
        }
        Command::Deleverage { account, counterparty, .. } => {
            for x in [account, counterparty] {
                let (b, a) = (before[x as usize], after[x as usize]);
                prop_assert!(a.abs() <= b.abs() && a * b >= 0, "deleveraging moved {} to {}", b, a);
            }
            let done = events.iter().any(|ev| matches!(ev, Event::Adl { .. }));
            prop_assert_eq!(done, after != before);
        }
        Command::Funding { interval, rate, mark } => {
            prop_assert_eq!(&after, &before);
            let fundings: Vec<&Event> = events.iter().filter(|ev| matches!(ev, Event::Funding { .. })).collect();
            if settled.is_some_and(|s| interval <= s) {
                prop_assert!(events.is_empty(), "interval {} settled twice", interval);
            } else {
                prop_assert_eq!(fundings.len(), 1);
                *settled = Some(interval);
            }
            for ev in fundings {
                let Event::Funding { payments, house, .. } = ev else { unreachable!() };
                prop_assert_eq!(payments.iter().map(|p| p.1).sum::<i128>() + house, 0);
                prop_assert!(*house >= 0);
                let open: Vec<u64> = (0..4u64).filter(|&a| after[a as usize] != 0).collect();
                prop_assert_eq!(payments.iter().map(|p| p.0).collect::<Vec<_>>(), open);
                for &(account, paid) in payments {
                    let size = after[account as usize] as i64;
                    prop_assert_eq!(paid, margin::funding_payment(e.config(), size, mark, rate));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn run_all(e: &mut Engine, cmds: &[Command]) -> Vec<Event> {
    let mut out = Vec::new();
    for c in cmds {
        e.process(c, &mut out);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn book_invariants_hold_after_every_command(ops in proptest::collection::vec(op(), 1..200)) {
        let mut e = perp();
        let mut out = Vec::new();
        let mut last_seq = 0;
        let mut settled: Option<u64> = None;
        for c in commands(&ops) {
            let before: Vec<i128> = (0..4).map(|a| e.position(a)).collect();
            e.process(&c, &mut out);
            e.check_invariants().map_err(TestCaseError::fail)?;
            for ev in &out[..] {
                prop_assert_eq!(ev.seq(), last_seq + 1);
                last_seq = ev.seq();
            }
            check_perp_command(&e, &c, &before, &out, &mut settled)?;
            out.clear();
            let net: i128 = (0..4).map(|a| e.position(a)).sum();
            prop_assert_eq!(net, 0);
        }
    }

    #[test]
    fn quantity_is_conserved(ops in proptest::collection::vec(op(), 1..200)) {
        let mut e = perp();
        let events = run_all(&mut e, &commands(&ops));
        check_conservation(&e, &events)?;
    }

    #[test]
    fn snapshot_then_replay_equals_replay(ops in proptest::collection::vec(op(), 2..150), cut in any::<prop::sample::Index>()) {
        let cmds = commands(&ops);
        let k = cut.index(cmds.len());
        let mut whole = perp();
        let all = run_all(&mut whole, &cmds);
        let mut head = perp();
        let head_events = run_all(&mut head, &cmds[..k]);
        let mut resumed = Engine::restore(&head.snapshot()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(resumed.state_hash(), head.state_hash());
        let tail = run_all(&mut resumed, &cmds[k..]);
        prop_assert_eq!(&all[head_events.len()..], &tail[..]);
        prop_assert_eq!(resumed.state_hash(), whole.state_hash());
        prop_assert_eq!(resumed.snapshot(), whole.snapshot());
    }

    #[test]
    fn replay_is_deterministic(ops in proptest::collection::vec(op(), 1..150)) {
        let cmds = commands(&ops);
        let (mut a, mut b) = (perp(), perp());
        prop_assert_eq!(run_all(&mut a, &cmds), run_all(&mut b, &cmds));
        prop_assert_eq!(a.state_hash(), b.state_hash());
    }
}
